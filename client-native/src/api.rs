//! Typed REST calls (SPEC.md section 3) that the engine does not make itself: accounts and
//! conversations. Tests and the load tool set up their users with them.

use chat_wire::UserId;
use chat_wire::rest::{ApiError, AuthResponse, CreateConversation, Credentials};
use chat_wire::socket::Conversation;
use serde::de::DeserializeOwned;

/// A REST call that did not give the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("HTTP {status}: {code:?}: {message}")]
    Refused {
        status: u16,
        code: chat_wire::ErrorCode,
        message: String,
    },
    #[error("HTTP {status}: unexpected body: {body}")]
    Unexpected { status: u16, body: String },
}

/// The REST API of one server.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// `base` is `http(s)://host:port`.
    pub fn new(base: impl Into<String>) -> Self {
        Api {
            base: base.into().trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Creates an account (`201`); a taken username is `Refused` with `conflict`.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AuthResponse, ApiCallError> {
        self.authenticate("/api/auth/register", username, password)
            .await
    }

    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AuthResponse, ApiCallError> {
        self.authenticate("/api/auth/login", username, password)
            .await
    }

    async fn authenticate(
        &self,
        path: &str,
        username: &str,
        password: &str,
    ) -> Result<AuthResponse, ApiCallError> {
        let body = Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        parse(self.http.post(self.url(path)).json(&body).send().await?).await
    }

    /// Creates a conversation of the caller and `participants` (or finds the direct one).
    pub async fn create_conversation(
        &self,
        token: &str,
        participants: &[UserId],
        title: Option<&str>,
    ) -> Result<Conversation, ApiCallError> {
        let body = CreateConversation {
            participant_ids: participants.to_vec(),
            title: title.map(str::to_owned),
        };
        let request = self
            .http
            .post(self.url("/api/conversations"))
            .bearer_auth(token)
            .json(&body);
        parse(request.send().await?).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn parse<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiCallError> {
    let status = response.status().as_u16();
    let body = response.text().await?;
    if (200..300).contains(&status) {
        if let Ok(value) = serde_json::from_str(&body) {
            return Ok(value);
        }
    } else if let Ok(ApiError { error }) = serde_json::from_str(&body) {
        return Err(ApiCallError::Refused {
            status,
            code: error.code,
            message: error.message,
        });
    }
    Err(ApiCallError::Unexpected { status, body })
}
