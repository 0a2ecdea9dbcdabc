//! The write path of messages: how a message is stored, on each backend.
//!
//! # How a message gets its seq
//!
//! The seq rule is the same everywhere: a conversation's counter (`conversations.last_seq`)
//! is bumped in the transaction that inserts the message, under a lock that serialises
//! the conversation's senders until commit, across every node sharing the database. Seqs
//! are therefore gapless and in commit order, and a non-participant never bumps a counter
//! (the bump checks participation).
//!
//! - **SQLite** ([`Db::insert_message_alone`]): one transaction per message on the single
//!   writer connection: `UPDATE conversations SET last_seq = last_seq + 1 … RETURNING
//!   last_seq`, then the insert with that seq. With `synchronous=FULL` (the default,
//!   `SQLITE_SYNCHRONOUS`) each commit waits for the disk, which bounds the send rate
//!   (docs/BENCHMARKS.md, "SQLite commits"); batching as on PostgreSQL would raise it.
//! - **PostgreSQL** ([`group_commit`]): senders queue their message; one writer task takes
//!   what is queued and stores it in one transaction, one call of the SQL function
//!   `insert_message_batch` ([`batch::insert_batch_postgres`]): the batch's conversations
//!   locked in id order (`SELECT … FOR UPDATE`, so two nodes' batches never deadlock),
//!   seqs handed out in batch order, one `UNNEST` insert. A batch
//!   that fails is retried message by message through [`Db::insert_message_alone`], the
//!   same statements as SQLite's, where the UPDATE's row lock does the serialising.
//!
//! Either way [`Db::insert_message`] returns once the message is committed.
//!
//! # What else a message changes
//!
//! In the same transaction, on both paths: the conversation's `last_message_id` and
//! `activity_at` (what `GET /api/conversations` shows and orders by, so that listing never
//! reads messages), and the sender's read watermark, moved up to the message's seq:
//! replying means having seen the conversation, and it keeps every message above a
//! watermark someone else's, so the unread count is `last_seq - last_read_seq`
//! ([`super::read_state`]). No `conversation:read` is announced for that move: clients
//! apply it from `message:new` themselves.
//!
//! # Idempotency
//!
//! The unique `(sender_id, client_message_id)`: a repeat is found by a plain read before
//! any lock is taken (or, in a batch, by a lookup under the locks); two repeats racing
//! each other both pass that read, and the loser's insert hits the unique key (`ON
//! CONFLICT DO NOTHING` returns no row, or the violation is raised): its transaction rolls
//! back, giving its seq back, and it answers with the winner's row.

mod batch;
mod group_commit;

pub(super) use group_commit::GroupCommit;

use super::messages::{COLUMNS, MessageRow, audited};
use super::{Db, DbError, is_unique_violation, with_pool};
use chat_wire::{ConversationId, Message, UserId};

/// A new message `$2` becomes its conversation `$1`'s last (single-message path; the
/// batch does the same in its one statement).
const RECORD_LAST_MESSAGE: &str = "UPDATE conversations SET last_message_id = $2, \
     activity_at = (SELECT created_at FROM messages WHERE id = $2) WHERE id = $1";
/// The sender `$2` has seen conversation `$1` up to its own message's seq `$3`.
const RAISE_SENDER_WATERMARK: &str = "UPDATE participants SET last_read_seq = $3 \
     WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < $3";

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
                            sqlx::query(RECORD_LAST_MESSAGE)
                                .bind(new.conversation_id.0)
                                .bind(row.id)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query(RAISE_SENDER_WATERMARK)
                                .bind(new.conversation_id.0)
                                .bind(new.sender_id.0)
                                .bind(seq)
                                .execute(&mut *tx)
                                .await?;
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
}
