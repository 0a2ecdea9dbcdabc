//! Sending a message: the one path shared by `POST /api/conversations/:id/messages`
//! and the Socket.IO `message:send` handler. [`send_and_announce`] validates,
//! rate-limits, stores (idempotently) and announces `message:new`, so neither caller can
//! store a message without announcing it, or announce a repeat.
//!
//! # Why a send is a task of its own
//!
//! axum drops a handler's future when its client disconnects. Were the announcement an
//! `.await` in the handler after the commit, a client hanging up at that moment would
//! leave a stored message that no socket was told about (a client only fetches history
//! when a later `message:new` shows a gap, and after a conversation's last message none
//! comes). So the store and the announcement run as one spawned task, which the caller
//! only waits for: once started, it commits and announces whatever becomes of the caller.
//!
//! # Order
//!
//! As before this module held it: each send announces its own message right after its
//! commit and before its caller answers, so a sender's next message (sent after the ack
//! or response) is announced after this one. Messages of different senders committing
//! at the same moment are announced by their own tasks in either order; seqs still tell
//! their order, and a client that sees one skip ahead fetches the gap (SPEC.md section 4).

use crate::db::{Db, DbError, InsertOutcome, NewMessage};
use crate::error::{AppError, NOT_A_PARTICIPANT};
use crate::rate_limit::{RetryAfter, SendLimiter};
use crate::realtime::Shared;
use crate::realtime::typing::emit_stop;
use chat_wire::event::MESSAGE_NEW;
use chat_wire::socket::SendMessage;
use chat_wire::text::{TextError, validate_text};
use chat_wire::{ConversationId, ErrorCode, Message, UserId};
use std::sync::Arc;

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
    /// The send's task panicked or was cancelled (the runtime shutting down).
    #[error("the send task ended early: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl SendError {
    /// The wire code (SPEC.md section 2).
    pub fn code(&self) -> ErrorCode {
        match self {
            SendError::BadClientMessageId | SendError::ReusedElsewhere => ErrorCode::BadRequest,
            SendError::Text(e) => e.code(),
            SendError::NotParticipant => ErrorCode::Forbidden,
            SendError::RateLimited(_) => ErrorCode::RateLimited,
            SendError::Db(e) if e.is_unavailable() => ErrorCode::Unavailable,
            SendError::Db(_) | SendError::Task(_) => ErrorCode::Internal,
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
            SendError::Task(task) => AppError::Internal(task.into()),
        }
    }
}

/// A clientMessageId as the spec has it: a UUID in its canonical 36-character form
/// (any case). Stored as given, since the client matches its echo by string.
pub fn valid_client_message_id(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::try_parse(id).is_ok()
}

/// Validates, rate-limits, stores and announces a message from `sender` (see the
/// module doc).
pub async fn send_and_announce(
    shared: &Arc<Shared>,
    sender: UserId,
    conversation: ConversationId,
    body: SendMessage,
) -> Result<Sent, SendError> {
    // Counted until announced, so that shutdown waits for a send whose caller is gone.
    let in_flight = shared.track_send();
    let shared = shared.clone();
    let send = tokio::spawn(async move {
        let sent = store(
            &shared.db,
            &shared.send_limiter,
            sender,
            conversation,
            &body,
        )
        .await?;
        if !sent.repeat {
            announce(&shared, &sent.message).await;
        }
        drop(in_flight);
        Ok(sent)
    });
    send.await?
}

/// `message:new` to the conversation's room and every participant's user room
/// ([`crate::realtime::audience`]), the sender's sockets included, each socket once; a
/// message also ends its sender's typing indicator there.
async fn announce(shared: &Shared, message: &Message) {
    let Some(io) = shared.io() else {
        return;
    };
    if shared
        .typing
        .stopped(message.conversation_id, message.sender_id)
    {
        emit_stop(io, message.conversation_id, message.sender_id).await;
    }
    let rooms = shared
        .audiences
        .rooms(&shared.db, message.conversation_id)
        .await;
    io.emit(rooms, None, MESSAGE_NEW, message).await;
}

/// Validates, rate-limits and stores a message from `sender`.
async fn store(
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
