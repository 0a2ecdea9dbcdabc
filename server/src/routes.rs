//! The REST routes of SPEC.md section 3 (prefix `/api`), plus `/healthz` and `/metrics`.

use crate::AppState;
use crate::auth::AuthUser;
use crate::db::{CreateConversationError, HistoryQuery, LeaveOutcome, ListQuery};
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::names;
use crate::serve::PeerAddress;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chat_wire::ConversationId;
use chat_wire::limits::{
    CONVERSATIONS_DEFAULT_LIMIT, CONVERSATIONS_MAX_LIMIT, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT,
    MAX_USERNAME_CHARS, MIN_PASSWORD_CHARS,
};
use chat_wire::rest::{AuthResponse, CreateConversation, Credentials, HistoryPage, User};
use chat_wire::socket::{Conversation, ConversationSummary, SendMessage};
use serde::Deserialize;

/// Longest accepted password, in bytes. Argon2 takes any length, but hashing megabytes on
/// every login attempt is a cheap denial of service.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest conversation title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// The answer when a participant id names no user, whichever it is.
pub const UNKNOWN_PARTICIPANT: &str = "participantIds names an unknown user";

/// The `/api` routes. Every route but register and login needs a bearer token, which
/// the [`AuthUser`] extractor checks.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/users/me", get(me))
        .route("/users", get(find_user))
        .route(
            "/conversations",
            get(list_conversations).post(create_conversation),
        )
        .route(
            "/conversations/{id}/messages",
            get(history).post(send_over_http),
        )
        .route(
            "/conversations/{id}/participants/me",
            delete(leave_conversation),
        )
        .fallback(api_not_found)
}

async fn api_not_found() -> AppError {
    AppError::NotFound("No such route".to_owned())
}

/// Usernames: 1 to 32 characters, no control or format characters ([`names`]), no
/// surrounding whitespace (so "alice" and "alice " cannot be two people who look the
/// same).
fn validate_username(username: &str) -> Result<(), AppError> {
    let chars = username.chars().count();
    if chars == 0 {
        return Err(AppError::BadRequest(
            "username must not be empty".to_owned(),
        ));
    }
    if chars > MAX_USERNAME_CHARS {
        return Err(AppError::BadRequest(format!(
            "username must be at most {MAX_USERNAME_CHARS} characters"
        )));
    }
    if names::has_invisible(username) {
        return Err(AppError::BadRequest(
            "username must not contain control or format characters".to_owned(),
        ));
    }
    if username.trim() != username {
        return Err(AppError::BadRequest(
            "username must not start or end with whitespace".to_owned(),
        ));
    }
    Ok(())
}

fn validate_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::BadRequest(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::BadRequest(format!(
            "password must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

async fn register(
    State(state): State<AppState>,
    PeerAddress(address): PeerAddress,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<AuthResponse>), AppError> {
    state.abuse.auth_attempt(address)?;
    validate_username(&credentials.username)?;
    validate_password(&credentials.password)?;
    let hash = state.passwords.hash(credentials.password).await?;
    let user = state
        .db
        .create_user(&credentials.username, &hash)
        .await?
        .ok_or_else(|| AppError::Conflict("Username already taken".to_owned()))?;
    let token = state.jwt.issue(user.id)?;
    Ok((StatusCode::CREATED, Json(AuthResponse { token, user })))
}

/// Login: limited per address, then per username (every attempt counts, right or
/// wrong: an attacker's guesses use up the bucket whatever the outcome).
async fn login(
    State(state): State<AppState>,
    PeerAddress(address): PeerAddress,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<Json<AuthResponse>, AppError> {
    let invalid = || AppError::Unauthorized("Invalid username or password".to_owned());
    state.abuse.auth_attempt(address)?;
    // No account has such a name or password; and an overlong name must not become a
    // bucket key (memory).
    if credentials.password.len() > MAX_PASSWORD_BYTES
        || credentials.username.chars().count() > MAX_USERNAME_CHARS
    {
        return Err(invalid());
    }
    state
        .abuse
        .login_attempt(names::username_key(&credentials.username))?;
    let stored = state.db.user_credentials(&credentials.username).await?;
    let (user, hash) = match stored {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let matched = state.passwords.verify(credentials.password, hash).await?;
    match user {
        Some(user) if matched => {
            let token = state.jwt.issue(user.id)?;
            Ok(Json(AuthResponse { token, user }))
        }
        _ => Err(invalid()),
    }
}

async fn me(State(state): State<AppState>, AuthUser(me): AuthUser) -> Result<Json<User>, AppError> {
    // A valid token for a user that no longer exists is as good as no token.
    let user = state
        .db
        .user_by_id(me)
        .await?
        .ok_or_else(|| AppError::Unauthorized(crate::auth::INVALID_TOKEN.to_owned()))?;
    Ok(Json(user))
}

#[derive(Debug, Deserialize)]
struct FindUser {
    username: Option<String>,
}

async fn find_user(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
    ApiQuery(query): ApiQuery<FindUser>,
) -> Result<Json<User>, AppError> {
    let username = query
        .username
        .filter(|u| !u.is_empty())
        .ok_or_else(|| AppError::BadRequest("username is required".to_owned()))?;
    let user = state
        .db
        .user_by_username(&username)
        .await?
        .ok_or_else(|| AppError::NotFound("No such user".to_owned()))?;
    Ok(Json(user))
}

/// List query parameters (SPEC.md section 9), taken as text so each gets a precise
/// message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    limit: Option<String>,
    before: Option<String>,
    before_id: Option<String>,
}

impl ListParams {
    fn parse(self) -> Result<ListQuery, AppError> {
        let limit = parse_limit(
            self.limit,
            CONVERSATIONS_DEFAULT_LIMIT,
            CONVERSATIONS_MAX_LIMIT,
        )?;
        let before_id = self
            .before_id
            .map(|v| match v.parse::<i64>() {
                Ok(n) if n > 0 => Ok(ConversationId(n)),
                _ => Err(AppError::BadRequest(
                    "beforeId must be a positive integer".to_owned(),
                )),
            })
            .transpose()?;
        let before = match (parse_time("before", self.before)?, before_id) {
            (Some(at), id) => Some((at, id)),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(AppError::BadRequest(
                    "beforeId needs before (the activityAt of the same item)".to_owned(),
                ));
            }
        };
        Ok(ListQuery { before, limit })
    }
}

async fn list_conversations(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Vec<ConversationSummary>>, AppError> {
    let query = params.parse()?;
    Ok(Json(state.db.conversation_list(me, query).await?))
}

async fn create_conversation(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(body): ApiJson<CreateConversation>,
) -> Result<(StatusCode, Json<Conversation>), AppError> {
    state.abuse.participants(body.participant_ids.len())?;
    let title = match body.title.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if t.chars().count() > MAX_TITLE_CHARS => {
            return Err(AppError::BadRequest(format!(
                "title must be at most {MAX_TITLE_CHARS} characters"
            )));
        }
        Some(t) if names::has_invisible(t) => {
            return Err(AppError::BadRequest(
                "title must not contain control or format characters".to_owned(),
            ));
        }
        Some(t) => Some(t),
    };
    let others: Vec<_> = body
        .participant_ids
        .iter()
        .copied()
        .filter(|id| *id != me)
        .collect();
    if others.is_empty() {
        return Err(AppError::BadRequest(
            "a conversation needs at least one other participant".to_owned(),
        ));
    }
    state.abuse.conversation_created(me)?;
    match state.db.create_conversation(me, &others, title).await {
        Ok(created) => {
            let status = if created.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            if created.created {
                state
                    .realtime
                    .conversation_created(&created.conversation)
                    .await;
            }
            Ok((status, Json(created.conversation)))
        }
        // Which id is unknown is not said: that would tell which ids exist.
        Err(CreateConversationError::UnknownUser(_)) => {
            Err(AppError::BadRequest(UNKNOWN_PARTICIPANT.to_owned()))
        }
        Err(CreateConversationError::Db(e)) => Err(e.into()),
    }
}

/// A conversation id from the path. Not a number is a 400; a number that names no
/// conversation is answered like one the caller is not in.
fn conversation_id(raw: &str) -> Result<ConversationId, AppError> {
    raw.parse::<i64>()
        .map(ConversationId)
        .map_err(|_| AppError::BadRequest("conversation id must be an integer".to_owned()))
}

/// History query parameters, taken as text so each gets a precise message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryParams {
    after_seq: Option<String>,
    before_seq: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

fn parse_seq(name: &str, value: Option<String>) -> Result<Option<i64>, AppError> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "{name} must be a non-negative integer"
            ))),
        })
        .transpose()
}

/// The earliest time a parameter may name: 0001-01-01T00:00:00Z, in epoch milliseconds.
const MIN_TIME_MS: i64 = -62_135_596_800_000;
/// The latest: 9999-12-31T23:59:59.999Z. PostgreSQL turns milliseconds into an interval,
/// which overflows (a 500) long before `i64::MAX`; no message is dated past this anyway.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A time parameter: epoch milliseconds (digits only) or RFC 3339, from year 1 to 9999.
fn parse_time(name: &str, value: Option<String>) -> Result<Option<i64>, AppError> {
    let bad = || AppError::BadRequest(format!("{name} must be RFC 3339 or epoch milliseconds"));
    value
        .map(|v| {
            let ms = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                v.parse::<i64>().map_err(|_| bad())?
            } else {
                chrono::DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.timestamp_millis())
                    .map_err(|_| bad())?
            };
            if (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) {
                Ok(ms)
            } else {
                Err(AppError::BadRequest(format!(
                    "{name} must be a time from year 1 to 9999"
                )))
            }
        })
        .transpose()
}

/// A page size: `default` when absent, else an integer from 1 to `max`.
fn parse_limit(value: Option<String>, default: u32, max: u32) -> Result<u32, AppError> {
    match value {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "limit must be an integer from 1 to {max}"
            ))),
        },
    }
}

impl HistoryParams {
    fn parse(self) -> Result<HistoryQuery, AppError> {
        let limit = parse_limit(self.limit, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT)?;
        Ok(HistoryQuery {
            after_seq: parse_seq("afterSeq", self.after_seq)?,
            before_seq: parse_seq("beforeSeq", self.before_seq)?,
            since_ms: parse_time("since", self.since)?,
            limit,
        })
    }
}

async fn history(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<HistoryPage>, AppError> {
    let id = conversation_id(&id)?;
    let query = params.parse()?;
    if !state.db.is_participant(id, me).await? {
        return Err(AppError::not_a_participant());
    }
    Ok(Json(state.db.history(id, query).await?))
}

async fn send_over_http(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<chat_wire::Message>), AppError> {
    let id = conversation_id(&id)?;
    let sent = state.realtime.send_message(me, id, body).await?;
    let status = if sent.repeat {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(sent.message)))
}

/// `DELETE /api/conversations/:id/participants/me`: leaves a group (204). A direct
/// conversation cannot be left (400); not a participant is answered as for any
/// conversation the caller is not in. The others learn it from the conversation's
/// `participantIds` in their next list (no realtime event exists for membership).
async fn leave_conversation(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = conversation_id(&id)?;
    match state.db.leave_conversation(id, me).await? {
        LeaveOutcome::Left => {
            state.realtime.participant_left(id, me).await;
            Ok(StatusCode::NO_CONTENT)
        }
        LeaveOutcome::Direct => Err(AppError::BadRequest(
            "a direct conversation cannot be left".to_owned(),
        )),
        LeaveOutcome::NotParticipant => Err(AppError::not_a_participant()),
    }
}

/// `GET /healthz`: 200 when the database answers and the cluster adapter is connected,
/// 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    if !state.realtime.adapter_up() {
        tracing::warn!("health check failed: the cluster adapter is reconnecting");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "adapter": "reconnecting" })),
        )
            .into_response();
    }
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let pool = state.db.pool_stats();
    metrics::gauge!("db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("db_pool_idle_connections").set(pool.idle as f64);
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_epoch_millis_or_rfc3339() {
        let since = |v: &str| parse_time("since", Some(v.to_owned()));
        assert_eq!(since("1000").unwrap(), Some(1000));
        assert_eq!(since("1970-01-01T00:00:01.500Z").unwrap(), Some(1500));
        assert!(since("yesterday").is_err());
        assert!(since("").is_err());
    }

    #[test]
    fn times_past_year_9999_are_refused() {
        let since = |v: &str| parse_time("since", Some(v.to_owned()));
        assert_eq!(since("253402300799999").unwrap(), Some(MAX_TIME_MS));
        assert_eq!(
            since("9999-12-31T23:59:59.999Z").unwrap(),
            Some(MAX_TIME_MS)
        );
        assert_eq!(since("0001-01-01T00:00:00Z").unwrap(), Some(MIN_TIME_MS));
        for v in [
            "253402300800000",
            "9223372036854775807",
            "99999999999999999999",
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00+01:00",
            "0000-12-31T00:00:00Z",
        ] {
            let err = since(v).unwrap_err().to_string();
            assert!(err.contains("since"), "{v}: {err}");
        }
    }

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("Ünïcødé").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username(" alice").is_err());
        assert!(validate_username("a\u{0}b").is_err());
        assert!(validate_username(&"x".repeat(MAX_USERNAME_CHARS + 1)).is_err());
    }
}
