//! Moving a read watermark and announcing it (SPEC.md section 9), for `conversation:read`
//! and `message:read` alike.
//!
//! The announcement, server → client `conversation:read { conversationId, userId,
//! lastReadSeq }`, goes out only when the watermark moved, to the conversation's room
//! and to every participant's user room ([`super::audience`]): the reader's other
//! devices clear their badge, and the other participants see their messages read, joined
//! or not. A watermark moved by sending is not announced: clients apply it from
//! `message:new`, which keeps a message's fan-out at one event.

use super::Shared;
use super::error::SocketError;
use crate::db::ReadMove;
use chat_wire::event::CONVERSATION_READ;
use chat_wire::socket::ConversationRead;
use chat_wire::{ConversationId, UserId};

/// Moves `user`'s watermark in `conversation` up to `min(seq, lastSeq)` and announces
/// the move. Not a participant (or no such conversation) is [`SocketError::NotParticipant`].
pub async fn raise_and_announce(
    shared: &Shared,
    conversation: ConversationId,
    user: UserId,
    seq: i64,
) -> Result<ReadMove, SocketError> {
    let read = shared
        .db
        .raise_read_seq(conversation, user, seq)
        .await?
        .ok_or(SocketError::NotParticipant)?;
    if read.moved
        && let Some(io) = shared.io()
    {
        let rooms = shared.audiences.rooms(&shared.db, conversation).await;
        let event = ConversationRead {
            conversation_id: conversation,
            user_id: user,
            last_read_seq: read.last_read_seq,
        };
        io.emit(rooms, None, CONVERSATION_READ, &event).await;
    }
    Ok(read)
}
