//! Sending a message: the one path shared by `POST /api/conversations/:id/messages`
//! and the Socket.IO `message:send` handler, so both apply the same validation, rate
//! limit and idempotency.

use crate::db::{Db, DbError, InsertOutcome, NewMessage};
use crate::error::{AppError, NOT_A_PARTICIPANT};
use crate::rate_limit::{RetryAfter, SendLimiter};
use chat_wire::socket::{AckFailure, SendMessage};
use chat_wire::text::{TextError, validate_text};
use chat_wire::{ConversationId, ErrorCode, Message, UserId};

/// A stored message and whether it was stored by this call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub message: Message,
    /// True when the sender had already sent this clientMessageId: answer with the
    /// stored message, and do not broadcast it again.
    pub repeat: bool,
}

/// Why a send was refused.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("clientMessageId must be a UUID")]
    BadClientMessageId,
    #[error("{0}")]
    Text(TextError),
    #[error("{NOT_A_PARTICIPANT}")]
    NotParticipant,
    #[error("clientMessageId was already used for a message in another conversation")]
    ReusedElsewhere,
    #[error("Too many messages")]
    RateLimited(RetryAfter),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SendError {
    /// The wire code (SPEC.md section 2).
    pub fn code(&self) -> ErrorCode {
        match self {
            SendError::BadClientMessageId | SendError::ReusedElsewhere => ErrorCode::BadRequest,
            SendError::Text(e) => e.code(),
            SendError::NotParticipant => ErrorCode::Forbidden,
            SendError::RateLimited(_) => ErrorCode::RateLimited,
            SendError::Db(_) => ErrorCode::Internal,
        }
    }

    /// The failed ack of `message:send`. Internal causes are logged here, not sent.
    pub fn to_ack(&self) -> AckFailure {
        match self {
            SendError::RateLimited(retry) => AckFailure::rate_limited(retry.millis()),
            SendError::Db(e) => {
                tracing::error!(error = ?e, "message:send failed");
                AckFailure::new(ErrorCode::Internal, "Internal server error")
            }
            other => AckFailure::new(other.code(), other.to_string()),
        }
    }
}

impl From<SendError> for AppError {
    fn from(e: SendError) -> AppError {
        match e {
            SendError::BadClientMessageId => AppError::BadRequest(e.to_string()),
            SendError::Text(TextError::TooLong) => AppError::TooLong(e.to_string()),
            SendError::Text(_) => AppError::BadRequest(e.to_string()),
            SendError::NotParticipant => AppError::not_a_participant(),
            SendError::ReusedElsewhere => AppError::Conflict(e.to_string()),
            SendError::RateLimited(retry) => AppError::RateLimited(retry),
            SendError::Db(db) => db.into(),
        }
    }
}

/// A clientMessageId as the spec has it: a UUID in its canonical 36-character form
/// (any case). Stored as given, since the client matches its echo by string.
pub fn valid_client_message_id(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::try_parse(id).is_ok()
}

/// Validates, rate-limits and stores a message from `sender`.
pub async fn send_message(
    db: &Db,
    limiter: &SendLimiter,
    sender: UserId,
    conversation: ConversationId,
    body: &SendMessage,
) -> Result<Sent, SendError> {
    if !valid_client_message_id(&body.client_message_id) {
        return Err(SendError::BadClientMessageId);
    }
    validate_text(&body.text).map_err(SendError::Text)?;
    limiter
        .check(sender)
        .await
        .map_err(SendError::RateLimited)?;
    let outcome = db
        .insert_message(NewMessage {
            conversation_id: conversation,
            sender_id: sender,
            client_message_id: &body.client_message_id,
            text: &body.text,
        })
        .await?;
    match outcome {
        InsertOutcome::Inserted(message) => {
            metrics::counter!("chat_messages_created_total").increment(1);
            Ok(Sent {
                message,
                repeat: false,
            })
        }
        InsertOutcome::Repeat(message) if message.conversation_id == conversation => {
            metrics::counter!("chat_messages_duplicate_total").increment(1);
            Ok(Sent {
                message,
                repeat: true,
            })
        }
        InsertOutcome::Repeat(_) => Err(SendError::ReusedElsewhere),
        InsertOutcome::NotParticipant => Err(SendError::NotParticipant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_message_ids_must_be_canonical_uuids() {
        assert!(valid_client_message_id(
            "6f1c1a9e-3f5e-4c1a-9a51-0c2f4b8e7d10"
        ));
        assert!(valid_client_message_id(
            "6F1C1A9E-3F5E-4C1A-9A51-0C2F4B8E7D10"
        ));
        assert!(!valid_client_message_id("6f1c1a9e3f5e4c1a9a510c2f4b8e7d10"));
        assert!(!valid_client_message_id("'; DROP TABLE messages; --"));
        assert!(!valid_client_message_id(""));
    }
}
