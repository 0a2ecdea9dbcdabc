//! Queries only the Socket.IO layer needs.

use super::{Db, DbError, with_pool};
use chat_wire::{ConversationId, MessageId, UserId};

impl Db {
    /// The conversation, sender and seq of `message` when `reader` can see it (is a
    /// participant of its conversation); `None` when not, or when there is no such
    /// message (the two are not told apart). `message:read` checks this before storing
    /// a receipt, so that reading one's own message stores nothing.
    pub async fn visible_message(
        &self,
        message: MessageId,
        reader: UserId,
    ) -> Result<Option<(ConversationId, UserId, i64)>, DbError> {
        let row: Option<(i64, i64, i64)> = with_pool!(self, read, |pool, _d| {
            sqlx::query_as(
                "SELECT m.conversation_id, m.sender_id, m.seq FROM messages m \
                 JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = $2 \
                 WHERE m.id = $1",
            )
            .bind(message.0)
            .bind(reader.0)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(c, s, seq)| (ConversationId(c), UserId(s), seq)))
    }
}
