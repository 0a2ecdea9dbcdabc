//! The one error type of the HTTP layer, and extractors whose rejections use it.
//!
//! Every failure answers `{ "error": { "code", "message" } }` (SPEC.md section 3). An
//! internal error is logged with its cause and shown only as `internal`.

use crate::db::{DbError, UNAVAILABLE_RETRY_AFTER};
use crate::rate_limit::RetryAfter;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_wire::ErrorCode;
use chat_wire::rest::{ApiError, ApiErrorBody};
use chat_wire::socket::UNAVAILABLE;
use serde::de::DeserializeOwned;

/// The answer to "not a participant" and "no such conversation", identical to the byte.
pub const NOT_A_PARTICIPANT: &str = "Not a participant of this conversation";

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// Text over the limit: 400 with code `too_long`.
    #[error("{0}")]
    TooLong(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("too many messages")]
    RateLimited(RetryAfter),
    /// Any other limit (sign-in attempts, REST requests, the hashing queue): 429 with
    /// code `rate_limited`, the given message and when to retry.
    #[error("{0}")]
    Throttled(&'static str, RetryAfter),
    /// The database cannot be reached or timed out: 503 with code `unavailable`, the
    /// cause logged.
    #[error("{UNAVAILABLE}")]
    Unavailable(RetryAfter),
    /// Anything the client cannot act on. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            AppError::Unavailable(RetryAfter::new(UNAVAILABLE_RETRY_AFTER))
        } else {
            AppError::Internal(e.into())
        }
    }
}

/// The rate-limited and unavailable body: the error shape plus `retryAfterMs`, as the ack
/// carries it.
#[derive(serde::Serialize)]
struct RetryLaterBody {
    error: RetryLaterDetail,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RetryLaterDetail {
    code: ErrorCode,
    message: &'static str,
    retry_after_ms: u64,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) | AppError::TooLong(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited(_) | AppError::Throttled(..) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::BadRequest(_) => ErrorCode::BadRequest,
            AppError::TooLong(_) => ErrorCode::TooLong,
            AppError::Unauthorized(_) => ErrorCode::Unauthorized,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            AppError::RateLimited(_) | AppError::Throttled(..) => ErrorCode::RateLimited,
            AppError::Unavailable(_) => ErrorCode::Unavailable,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The "not a participant / no such conversation" answer.
    pub fn not_a_participant() -> AppError {
        AppError::Forbidden(NOT_A_PARTICIPANT.to_owned())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        match self {
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                let body = ApiError {
                    error: ApiErrorBody {
                        code,
                        message: "Internal server error".to_owned(),
                    },
                };
                (status, axum::Json(body)).into_response()
            }
            AppError::RateLimited(retry) => rate_limited(status, code, "Too many messages", retry),
            AppError::Throttled(message, retry) => rate_limited(status, code, message, retry),
            AppError::Unavailable(retry) => rate_limited(status, code, UNAVAILABLE, retry),
            other => {
                let body = ApiError {
                    error: ApiErrorBody {
                        code,
                        message: other.to_string(),
                    },
                };
                (status, axum::Json(body)).into_response()
            }
        }
    }
}

/// A 429 or 503 with `retryAfterMs` in the body and `Retry-After` in the headers.
fn rate_limited(
    status: StatusCode,
    code: ErrorCode,
    message: &'static str,
    retry: RetryAfter,
) -> Response {
    let body = RetryLaterBody {
        error: RetryLaterDetail {
            code,
            message,
            retry_after_ms: retry.millis(),
        },
    };
    let mut response = (status, axum::Json(body)).into_response();
    // Retry-After is whole seconds; round up so a client honouring it is never
    // early.
    let secs = retry.millis().div_ceil(1000).max(1);
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                // serde's text names the field and the expected type ("missing field
                // `password`", "invalid type: integer, expected a string"): useful, and it
                // quotes only what the client sent.
                AppError::BadRequest(format!("invalid body: {}", e.body_text_cause()))
            }
            JsonRejection::JsonSyntaxError(_) => AppError::BadRequest("malformed JSON".to_owned()),
            JsonRejection::MissingJsonContentType(_) => AppError::BadRequest(
                "expected a JSON body with Content-Type: application/json".to_owned(),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            other => AppError::BadRequest(format!("unreadable body: {}", other.body_text())),
        }
    }
}

/// The innermost serde message of a JSON data error, without axum's prefix.
trait CauseText {
    fn body_text_cause(&self) -> String;
}

impl CauseText for axum::extract::rejection::JsonDataError {
    fn body_text_cause(&self) -> String {
        let mut source: &dyn std::error::Error = self;
        while let Some(next) = source.source() {
            source = next;
        }
        source.to_string()
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(format!("invalid query: {}", rejection.body_text()))
    }
}

/// `axum::Json` whose rejections answer in the error shape (axum's are plain text).
///
/// Unknown fields are ignored, not refused: clients newer than the server may send more,
/// and nothing unknown is ever stored.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query` whose rejections answer in the error shape.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}
