//! The socket layer's one error type: why a client event failed.
//!
//! Every handler returns `Result<_, SocketError>`, and [`SocketError::into_ack`] is the
//! one place that turns a failure into the wire's failed ack, `{ success: false, error,
//! code, retryAfterMs? }` (SPEC.md section 2). Internal causes (the database, a send task
//! that died, a socket without its session) are logged there with the event, the socket
//! and the user, and answered `internal` with no detail.

use crate::db::{DbError, UNAVAILABLE_RETRY_AFTER};
use crate::error::NOT_A_PARTICIPANT;
use crate::messaging::SendError;
use crate::rate_limit::RetryAfter;
use chat_wire::socket::AckFailure;
use chat_wire::{ErrorCode, UserId};
use socketioxide::socket::Sid;

/// What a client sees of an internal failure.
const INTERNAL: &str = "Internal server error";

/// Why a client event failed.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Arguments of the wrong shape, or a rule of the event; the message says which.
    #[error("{0}")]
    BadRequest(String),
    /// Not a participant, or no such conversation: the two answers are identical.
    #[error("{NOT_A_PARTICIPANT}")]
    NotParticipant,
    /// A message the reader cannot see, or no such message: identical answers too.
    #[error("No such message in your conversations")]
    MessageNotVisible,
    /// Over one of the per-user event limits.
    #[error("Too many messages")]
    RateLimited(RetryAfter),
    /// A send arrived after shutdown began.
    #[error("Server is shutting down")]
    ShuttingDown,
    /// `message:send` refused by the send path, with its own codes and messages.
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// An event on a socket that has no session: the handshake always stores one.
    #[error("event on a socket without a session")]
    NoSession,
}

impl SocketError {
    pub fn bad_request(message: impl Into<String>) -> SocketError {
        SocketError::BadRequest(message.into())
    }

    /// The wire code (SPEC.md section 2).
    pub fn code(&self) -> ErrorCode {
        match self {
            SocketError::BadRequest(_) => ErrorCode::BadRequest,
            SocketError::NotParticipant | SocketError::MessageNotVisible => ErrorCode::Forbidden,
            SocketError::RateLimited(_) => ErrorCode::RateLimited,
            SocketError::Send(e) => e.code(),
            SocketError::Db(e) if e.is_unavailable() => ErrorCode::Unavailable,
            SocketError::ShuttingDown | SocketError::Db(_) | SocketError::NoSession => {
                ErrorCode::Internal
            }
        }
    }

    /// The failed ack of `event` on socket `sid` (of `user`, when known). Internal
    /// causes are logged here, and never sent.
    pub fn into_ack(self, event: &'static str, sid: Sid, user: Option<UserId>) -> AckFailure {
        let code = self.code();
        match self {
            SocketError::RateLimited(retry) | SocketError::Send(SendError::RateLimited(retry)) => {
                AckFailure::rate_limited(retry.millis())
            }
            _ if code == ErrorCode::Unavailable => {
                tracing::warn!(event, %sid, ?user, error = %self, "database unavailable");
                AckFailure::unavailable(RetryAfter::new(UNAVAILABLE_RETRY_AFTER).millis())
            }
            SocketError::ShuttingDown => AckFailure::new(code, self.to_string()),
            _ if code == ErrorCode::Internal => {
                tracing::error!(event, %sid, ?user, error = ?self, "internal error");
                AckFailure::new(code, INTERNAL)
            }
            _ => AckFailure::new(code, self.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_wire::text::TextError;

    fn ack(error: SocketError) -> AckFailure {
        error.into_ack("test", Sid::new(), None)
    }

    #[test]
    fn internal_causes_are_not_shown() {
        let db = DbError::Sqlx(sqlx::Error::RowNotFound);
        for error in [
            SocketError::Db(db),
            SocketError::NoSession,
            SocketError::Send(SendError::Db(DbError::Sqlx(sqlx::Error::Protocol(
                "garbled".into(),
            )))),
        ] {
            let failure = ack(error);
            assert_eq!(failure.code, ErrorCode::Internal);
            assert_eq!(failure.error, INTERNAL);
            assert_eq!(failure.retry_after_ms, None);
        }
    }

    #[test]
    fn an_unreachable_database_is_unavailable_with_a_retry_time() {
        for error in [
            SocketError::Db(DbError::Sqlx(sqlx::Error::PoolTimedOut)),
            SocketError::Send(SendError::Db(DbError::Sqlx(sqlx::Error::PoolClosed))),
        ] {
            let failure = ack(error);
            assert_eq!(
                failure,
                AckFailure::unavailable(UNAVAILABLE_RETRY_AFTER.as_millis() as u64)
            );
        }
    }

    #[test]
    fn refusals_keep_their_codes_and_messages() {
        let forbidden = ack(SocketError::NotParticipant);
        assert_eq!(forbidden.code, ErrorCode::Forbidden);
        assert_eq!(forbidden.error, NOT_A_PARTICIPANT);
        let too_long = ack(SocketError::Send(SendError::Text(TextError::TooLong)));
        assert_eq!(too_long.code, ErrorCode::TooLong);
        assert_eq!(
            too_long.error,
            "text is longer than 1000 characters or 4096 bytes"
        );
        let closing = ack(SocketError::ShuttingDown);
        assert_eq!(closing.code, ErrorCode::Internal);
        assert_eq!(closing.error, "Server is shutting down");
        let limiter = crate::rate_limit::RateLimiter::new(1);
        let user = UserId(1);
        let retry = limiter
            .check(user)
            .and_then(|()| limiter.check(user))
            .unwrap_err();
        let limited = ack(SocketError::Send(SendError::RateLimited(retry)));
        assert_eq!(limited, AckFailure::rate_limited(retry.millis()));
    }
}
