//! A batch of messages in one PostgreSQL transaction (group commit's statements).

use super::{InsertOutcome, QueuedMessage};
use crate::db::messages::MessageRow;
use chat_wire::Message;
use sqlx::PgPool;
use std::collections::HashMap;

/// Stores `batch` in one PostgreSQL transaction; an outcome per message, in order.
///
/// The transaction is one call of the `insert_message_batch` function (its migration,
/// `migrations/postgres/20261206000001_insert_message_batch.sql`, says how): it locks the
/// batch's conversations in id order, looks up each sender's membership and idempotency
/// key under those locks, hands out seqs in batch order and stores the new messages with
/// their conversations' counters and the senders' watermarks. Made outside an explicit
/// transaction, the call commits before PostgreSQL answers, and `fetch_all` waits for
/// that answer, so an outcome is only ever returned for a committed batch. One round trip
/// per batch, where the same statements sent one by one took five.
///
/// A key repeated within the batch is sent once; its later copies get the first's outcome
/// as a repeat. A unique violation can still come from the same key racing into another
/// conversation (a misbehaving client): the call then fails as a whole and the caller
/// falls back to [`crate::db::Db::insert_message_alone`] for each message.
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

    let rows: Vec<BatchRow> = sqlx::query_as(
        "SELECT inserted, id, conversation_id, seq, sender_id, text, client_message_id, \
                created_at_ms \
         FROM insert_message_batch($1, $2, $3, $4)",
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
    .bind(
        unique
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<&str>>(),
    )
    .fetch_all(pool)
    .await?;

    // What happened to the first message of each key; none: refused.
    let mut outcomes: Vec<Option<InsertOutcome>> = vec![None; batch.len()];
    for BatchRow { inserted, message } in rows {
        let message = Message::from(message);
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

/// A row of `insert_message_batch`: a message of the batch, stored by this call or before.
#[derive(sqlx::FromRow)]
struct BatchRow {
    inserted: bool,
    #[sqlx(flatten)]
    message: MessageRow,
}
