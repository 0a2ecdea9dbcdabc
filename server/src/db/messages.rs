//! Messages and read receipts.
//!
//! # How a message gets its seq
//!
//! One transaction: `UPDATE conversations SET last_seq = last_seq + 1 … RETURNING
//! last_seq`, then the insert with that seq. The UPDATE's row lock (PostgreSQL) or the
//! single writer (SQLite) serialises the senders of one conversation until commit, across
//! every node sharing the database, so seqs are gapless and in commit order. The UPDATE
//! also checks participation, so a non-participant never bumps a counter.
//!
//! On PostgreSQL, messages arriving together are stored by group commit
//! ([`super::group_commit`], [`insert_batch_postgres`]): one transaction for the batch,
//! the same seq rule (each conversation's counter bumped by its messages in the batch,
//! under its row lock, taken in id order), the same idempotency key.
//!
//! Idempotency is the unique `(sender_id, client_message_id)`: a repeat is found by a
//! plain read before any lock is taken; two repeats racing each other both pass that
//! read, and the loser's insert hits the unique key (`ON CONFLICT DO NOTHING` returns no
//! row, or the violation is raised): its transaction rolls back, giving its seq back,
//! and it answers with the winner's row.

use super::{Db, DbError, POSTGRES, format_millis, is_unique_violation, with_pool};
use chat_wire::rest::HistoryPage;
use chat_wire::{ConversationId, Message, MessageId, UserId};
use sqlx::PgPool;
use std::collections::HashMap;

/// A message to store. `text` has been validated by the caller.
#[derive(Clone, Copy, Debug)]
pub struct NewMessage<'a> {
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub client_message_id: &'a str,
    pub text: &'a str,
}

/// A [`NewMessage`] that owns its text, to wait in the group-commit queue.
#[derive(Clone, Debug)]
pub(crate) struct QueuedMessage {
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub client_message_id: String,
    pub text: String,
}

impl QueuedMessage {
    pub fn new(new: &NewMessage<'_>) -> QueuedMessage {
        QueuedMessage {
            conversation_id: new.conversation_id,
            sender_id: new.sender_id,
            client_message_id: new.client_message_id.to_owned(),
            text: new.text.to_owned(),
        }
    }

    pub fn borrowed(&self) -> NewMessage<'_> {
        NewMessage {
            conversation_id: self.conversation_id,
            sender_id: self.sender_id,
            client_message_id: &self.client_message_id,
            text: &self.text,
        }
    }
}

/// What [`Db::insert_message`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored now: broadcast it.
    Inserted(Message),
    /// The sender had already sent this clientMessageId: the stored message, which must
    /// not be broadcast again.
    Repeat(Message),
    /// The sender is not a participant, or there is no such conversation.
    NotParticipant,
}

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
    /// RFC 3339, as first recorded.
    pub read_at: String,
    /// False when this user had already read it (do not notify again).
    pub newly_read: bool,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
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
fn audited(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

const COLUMNS: &str = "id, conversation_id, seq, sender_id, text, client_message_id";

/// Stores `batch` in one PostgreSQL transaction; an outcome per message, in order.
///
/// 1. Lock every conversation of the batch, in id order, reading its counter: two
///    batches (from any node) then never wait on each other in a cycle, and a single
///    insert holds only one such lock.
/// 2. For each message: is the sender a participant, and is its idempotency key stored
///    already? Under the locks, a repeat to the same conversation has either committed
///    (and is found) or not started.
/// 3. Seqs handed out here, in batch order; one statement stores the counters and the
///    new messages.
///
/// Every statement is a plain index lookup or an `UNNEST` of the batch's arrays, so their
/// plans are cached and cheap. A key repeated within the batch is stored once; its later
/// copies get the first's outcome as a repeat. A unique violation can still come from
/// the same key racing into another conversation (a misbehaving client): the caller then
/// falls back to [`Db::insert_message_alone`] for each message.
pub(super) async fn insert_batch_postgres(
    pool: &PgPool,
    batch: &[QueuedMessage],
) -> Result<Vec<InsertOutcome>, sqlx::Error> {
    // For each message, the index of the first message in the batch with its key.
    let mut first_of: HashMap<(i64, &str), usize> = HashMap::with_capacity(batch.len());
    let firsts: Vec<usize> = batch
        .iter()
        .enumerate()
        .map(|(index, m)| {
            *first_of
                .entry((m.sender_id.0, m.client_message_id.as_str()))
                .or_insert(index)
        })
        .collect();
    let unique: Vec<&QueuedMessage> = batch
        .iter()
        .enumerate()
        .filter(|&(index, _)| firsts[index] == index)
        .map(|(_, message)| message)
        .collect();
    let mut conversations: Vec<i64> = unique.iter().map(|m| m.conversation_id.0).collect();
    conversations.sort_unstable();
    conversations.dedup();

    let mut tx = pool.begin().await?;
    let mut last_seqs: HashMap<i64, i64> = sqlx::query_as(
        "SELECT id, last_seq FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&conversations)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();

    // One row per unique message, in order: participant or not, and the stored message
    // with its key if there is one.
    let lookups: Vec<(bool, Option<i64>)> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM participants p \
                 WHERE p.conversation_id = i.conversation_id AND p.user_id = i.sender_id), \
               m.id \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[]) WITH ORDINALITY \
           AS i (conversation_id, sender_id, client_message_id, ord) \
         LEFT JOIN messages m \
           ON m.sender_id = i.sender_id AND m.client_message_id = i.client_message_id \
         ORDER BY i.ord",
    )
    .bind(
        unique
            .iter()
            .map(|m| m.conversation_id.0)
            .collect::<Vec<i64>>(),
    )
    .bind(unique.iter().map(|m| m.sender_id.0).collect::<Vec<i64>>())
    .bind(
        unique
            .iter()
            .map(|m| m.client_message_id.as_str())
            .collect::<Vec<&str>>(),
    )
    .fetch_all(&mut *tx)
    .await?;

    let mut stored_ids = Vec::new();
    let mut fresh: Vec<(&QueuedMessage, i64)> = Vec::new();
    for (message, (participant, stored)) in unique.iter().zip(lookups) {
        if let Some(id) = stored {
            stored_ids.push(id);
        } else if participant && let Some(last) = last_seqs.get_mut(&message.conversation_id.0) {
            *last += 1;
            fresh.push((message, *last));
        }
    }

    let mut rows: Vec<(MessageRow, bool)> = Vec::with_capacity(unique.len());
    if !stored_ids.is_empty() {
        let existing: Vec<MessageRow> = sqlx::query_as(audited(format!(
            "SELECT {COLUMNS}, {} FROM messages WHERE id = ANY($1)",
            POSTGRES.created_at_ms
        )))
        .bind(&stored_ids)
        .fetch_all(&mut *tx)
        .await?;
        rows.extend(existing.into_iter().map(|row| (row, false)));
    }
    if !fresh.is_empty() {
        let (counters, lasts): (Vec<i64>, Vec<i64>) = last_seqs.into_iter().unzip();
        let inserted: Vec<MessageRow> = sqlx::query_as(audited(format!(
            "WITH counters AS ( \
               UPDATE conversations c SET last_seq = u.last_seq \
               FROM UNNEST($6::BIGINT[], $7::BIGINT[]) AS u (id, last_seq) \
               WHERE c.id = u.id AND c.last_seq < u.last_seq \
             ) \
             INSERT INTO messages (conversation_id, seq, sender_id, text, client_message_id) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[]) \
             RETURNING {COLUMNS}, {}",
            POSTGRES.created_at_ms
        )))
        .bind(fresh.iter().map(|(m, _)| m.conversation_id.0).collect::<Vec<i64>>())
        .bind(fresh.iter().map(|&(_, seq)| seq).collect::<Vec<i64>>())
        .bind(fresh.iter().map(|(m, _)| m.sender_id.0).collect::<Vec<i64>>())
        .bind(fresh.iter().map(|(m, _)| m.text.as_str()).collect::<Vec<&str>>())
        .bind(
            fresh
                .iter()
                .map(|(m, _)| m.client_message_id.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(&counters)
        .bind(&lasts)
        .fetch_all(&mut *tx)
        .await?;
        rows.extend(inserted.into_iter().map(|row| (row, true)));
    }
    tx.commit().await?;

    // What happened to the first message of each key.
    let mut outcomes: Vec<Option<InsertOutcome>> = vec![None; batch.len()];
    for (row, inserted) in rows {
        let message = Message::from(row);
        let key = (
            message.sender_id.0,
            message.client_message_id.as_deref().unwrap_or_default(),
        );
        if let Some(&index) = first_of.get(&key) {
            outcomes[index] = Some(if inserted {
                InsertOutcome::Inserted(message)
            } else {
                InsertOutcome::Repeat(message)
            });
        }
    }
    Ok(firsts
        .iter()
        .enumerate()
        .map(|(index, &first)| match &outcomes[first] {
            // Neither stored nor found: not a participant, or no such conversation.
            None => InsertOutcome::NotParticipant,
            Some(InsertOutcome::Inserted(message)) if first != index => {
                InsertOutcome::Repeat(message.clone())
            }
            Some(outcome) => outcome.clone(),
        })
        .collect())
}

impl Db {
    /// Stores a message with the next seq of its conversation, or finds the sender's
    /// earlier message with the same `client_message_id`. See the module doc. Returns
    /// once the message is committed.
    pub async fn insert_message(&self, new: NewMessage<'_>) -> Result<InsertOutcome, DbError> {
        match &self.group_commit {
            Some(group_commit) => group_commit.insert(QueuedMessage::new(&new)).await,
            None => self.insert_message_alone(new).await,
        }
    }

    /// [`Db::insert_message`] in a transaction of its own.
    pub(crate) async fn insert_message_alone(
        &self,
        new: NewMessage<'_>,
    ) -> Result<InsertOutcome, DbError> {
        // Fast path for retries: no lock, no transaction.
        if let Some(existing) = self
            .message_by_client_id(new.sender_id, new.client_message_id)
            .await?
        {
            return Ok(InsertOutcome::Repeat(existing));
        }
        let inserted: Result<Option<MessageRow>, sqlx::Error> = with_pool!(
            self,
            write,
            |pool, d| {
                async {
                    let mut tx = pool.begin().await?;
                    let seq: Option<(i64,)> = sqlx::query_as(
                        "UPDATE conversations SET last_seq = last_seq + 1 \
                         WHERE id = $1 AND EXISTS \
                           (SELECT 1 FROM participants WHERE conversation_id = $1 AND user_id = $2) \
                         RETURNING last_seq",
                    )
                    .bind(new.conversation_id.0)
                    .bind(new.sender_id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((seq,)) = seq else {
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    let row = sqlx::query_as::<_, MessageRow>(audited(format!(
                        "INSERT INTO messages (conversation_id, seq, sender_id, text, client_message_id) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (sender_id, client_message_id) DO NOTHING \
                         RETURNING {COLUMNS}, {}",
                        d.created_at_ms
                    )))
                    .bind(new.conversation_id.0)
                    .bind(seq)
                    .bind(new.sender_id.0)
                    .bind(new.text)
                    .bind(new.client_message_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match row {
                        Some(row) => {
                            tx.commit().await?;
                            Ok(Some(row))
                        }
                        None => {
                            // A concurrent repeat won: give the seq back.
                            tx.rollback().await?;
                            Err(sqlx::Error::RowNotFound)
                        }
                    }
                }
                .await
            }
        );
        match inserted {
            Ok(Some(row)) => Ok(InsertOutcome::Inserted(row.into())),
            Ok(None) => Ok(InsertOutcome::NotParticipant),
            Err(e) if matches!(e, sqlx::Error::RowNotFound) || is_unique_violation(&e) => {
                // The transaction has rolled back (dropped or explicitly); the winner has
                // committed, since its unique-index entry is what stopped us.
                match self
                    .message_by_client_id(new.sender_id, new.client_message_id)
                    .await?
                {
                    Some(existing) => Ok(InsertOutcome::Repeat(existing)),
                    None => Err(DbError::Sqlx(e)),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The message `sender` sent with `client_message_id`, if any.
    pub async fn message_by_client_id(
        &self,
        sender: UserId,
        client_message_id: &str,
    ) -> Result<Option<Message>, DbError> {
        // The writer on SQLite: a repeat arriving right after its original's commit must
        // find it, and the writer is certain to see its own commits.
        let row = with_pool!(self, write, |pool, d| {
            sqlx::query_as::<_, MessageRow>(audited(format!(
                "SELECT {COLUMNS}, {} FROM messages WHERE sender_id = $1 AND client_message_id = $2",
                d.created_at_ms
            )))
            .bind(sender.0)
            .bind(client_message_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(Message::from))
    }

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
        let Some((conversation_id, sender_id)) = self.visible_message(message, reader).await?
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
            read_at: format_millis(read_at_ms),
            newly_read,
        }))
    }
}
