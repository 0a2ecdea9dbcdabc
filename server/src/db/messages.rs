//! Reading messages (history) and read receipts, and the row shape that the write path
//! ([`super::write`]) returns too.

use super::{Db, DbError, format_millis, with_pool};
use chat_wire::rest::HistoryPage;
use chat_wire::{ConversationId, Message, MessageId, UserId};

/// Which page of history to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub after_seq: Option<i64>,
    pub before_seq: Option<i64>,
    /// Epoch milliseconds; `createdAt >= since`.
    pub since_ms: Option<i64>,
    pub limit: u32,
}

/// What [`Db::mark_read`] did, for the `message:read` notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    /// The message's seq: `message:read` moves the reader's watermark to it.
    pub seq: i64,
    /// RFC 3339, as first recorded.
    pub read_at: String,
    /// False when this user had already read it (do not notify again).
    pub newly_read: bool,
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub(super) id: i64,
    conversation_id: i64,
    seq: i64,
    sender_id: i64,
    text: String,
    client_message_id: Option<String>,
    created_at_ms: i64,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Message {
        Message {
            id: MessageId(row.id),
            conversation_id: ConversationId(row.conversation_id),
            seq: row.seq,
            sender_id: UserId(row.sender_id),
            text: row.text,
            client_message_id: row.client_message_id,
            created_at: format_millis(row.created_at_ms),
        }
    }
}

/// Marks SQL built with `format!` as reviewed. The only parts ever interpolated are this
/// module's constants, the [`super::Dialect`] fragments and `$N` placeholders; values
/// always go through `bind`.
pub(super) fn audited(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

pub(super) const COLUMNS: &str = "id, conversation_id, seq, sender_id, text, client_message_id";

impl Db {
    /// A page of a conversation's history, ascending by seq. The caller has checked that
    /// the reader is a participant. With `after_seq` or `since_ms`: the oldest `limit`
    /// messages after it; otherwise the newest `limit` (before `before_seq` if given).
    pub async fn history(
        &self,
        conversation: ConversationId,
        query: HistoryQuery,
    ) -> Result<HistoryPage, DbError> {
        let forward = query.after_seq.is_some() || query.since_ms.is_some();
        let rows: Vec<MessageRow> = with_pool!(self, read, |pool, d| {
            let mut sql = format!(
                "SELECT {COLUMNS}, {} FROM messages WHERE conversation_id = $1",
                d.created_at_ms
            );
            let mut n = 1;
            let mut placeholder = || {
                n += 1;
                format!("${n}")
            };
            if query.after_seq.is_some() {
                sql += &format!(" AND seq > {}", placeholder());
            }
            if query.before_seq.is_some() {
                sql += &format!(" AND seq < {}", placeholder());
            }
            if query.since_ms.is_some() {
                sql += " AND ";
                sql += &d.created_at_since.replace("{}", &placeholder());
            }
            sql += if forward {
                " ORDER BY seq ASC"
            } else {
                " ORDER BY seq DESC"
            };
            sql += &format!(" LIMIT {}", placeholder());
            let mut q = sqlx::query_as::<_, MessageRow>(audited(sql)).bind(conversation.0);
            for value in [query.after_seq, query.before_seq, query.since_ms]
                .into_iter()
                .flatten()
            {
                q = q.bind(value);
            }
            // One more than asked tells whether there is more.
            q.bind(i64::from(query.limit) + 1).fetch_all(pool).await?
        });
        let limit = query.limit as usize;
        let has_more = rows.len() > limit;
        let mut messages: Vec<Message> = rows.into_iter().take(limit).map(Message::from).collect();
        if !forward {
            messages.reverse();
        }
        Ok(HistoryPage { messages, has_more })
    }

    /// Records that `reader` read `message`, once. `None` when the message does not exist
    /// or the reader is not a participant of its conversation (not told apart).
    pub async fn mark_read(
        &self,
        message: MessageId,
        reader: UserId,
    ) -> Result<Option<ReadOutcome>, DbError> {
        let Some((conversation_id, sender_id, seq)) = self.visible_message(message, reader).await?
        else {
            return Ok(None);
        };
        let (read_at_ms, newly_read) = with_pool!(self, write, |pool, d| {
            let inserted: Option<(i64,)> = sqlx::query_as(audited(format!(
                "INSERT INTO read_receipts (message_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT (message_id, user_id) DO NOTHING RETURNING {}",
                d.read_at_ms
            )))
            .bind(message.0)
            .bind(reader.0)
            .fetch_optional(pool)
            .await?;
            match inserted {
                Some((at,)) => (at, true),
                None => {
                    let (at,): (i64,) = sqlx::query_as(audited(format!(
                        "SELECT {} FROM read_receipts WHERE message_id = $1 AND user_id = $2",
                        d.read_at_ms
                    )))
                    .bind(message.0)
                    .bind(reader.0)
                    .fetch_one(pool)
                    .await?;
                    (at, false)
                }
            }
        });
        Ok(Some(ReadOutcome {
            conversation_id,
            sender_id,
            seq,
            read_at: format_millis(read_at_ms),
            newly_read,
        }))
    }
}
