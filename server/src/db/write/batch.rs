//! A batch of messages in one PostgreSQL transaction (group commit's statements).

use super::{InsertOutcome, QueuedMessage};
use crate::db::POSTGRES;
use crate::db::messages::{COLUMNS, MessageRow, audited};
use chat_wire::Message;
use sqlx::PgPool;
use std::collections::HashMap;

/// Stores `batch` in one PostgreSQL transaction; an outcome per message, in order.
///
/// 1. Lock every conversation of the batch, in id order, reading its counter: two
///    batches (from any node) then never wait on each other in a cycle, and a single
///    insert holds only one such lock.
/// 2. For each message: is the sender a participant, and is its idempotency key stored
///    already? Under the locks, a repeat to the same conversation has either committed
///    (and is found) or not started.
/// 3. Seqs handed out here, in batch order; one statement stores the new messages and,
///    from them, the counters, the list's last message and activity, and the senders'
///    watermarks.
///
/// Every statement is a plain index lookup or an `UNNEST` of the batch's arrays, so their
/// plans are cached and cheap. A key repeated within the batch is stored once; its later
/// copies get the first's outcome as a repeat. A unique violation can still come from
/// the same key racing into another conversation (a misbehaving client): the caller then
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
    // with its key if there is one. Both are subqueries on a unique key, so each is one
    // index probe per message whatever plan is cached: a join here was planned (and the
    // plan kept) as a hash join over a sequential scan of `messages`, which read the whole
    // table for every batch (docs/BENCHMARKS.md, "PostgreSQL's cost per message").
    let lookups: Vec<(bool, Option<i64>)> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM participants p \
                 WHERE p.conversation_id = i.conversation_id AND p.user_id = i.sender_id), \
               (SELECT m.id FROM messages m \
                 WHERE m.sender_id = i.sender_id AND m.client_message_id = i.client_message_id) \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[]) WITH ORDINALITY \
           AS i (conversation_id, sender_id, client_message_id, ord) \
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
        // One statement: the messages, then from what was inserted, each conversation's
        // counter, last message and activity time, and each sender's watermark (the
        // module doc of `super`). The CTEs see the inserted rows through `inserted`.
        let inserted: Vec<MessageRow> = sqlx::query_as(audited(format!(
            "WITH inserted AS ( \
               INSERT INTO messages (conversation_id, seq, sender_id, text, client_message_id) \
               SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[]) \
               RETURNING {COLUMNS}, created_at, {} \
             ), newest AS ( \
               SELECT DISTINCT ON (conversation_id) conversation_id, id, seq, created_at \
               FROM inserted ORDER BY conversation_id, seq DESC \
             ), counters AS ( \
               UPDATE conversations c \
               SET last_seq = n.seq, last_message_id = n.id, activity_at = n.created_at \
               FROM newest n WHERE c.id = n.conversation_id \
             ), watermarks AS ( \
               UPDATE participants p SET last_read_seq = s.seq \
               FROM (SELECT conversation_id, sender_id, MAX(seq) AS seq FROM inserted \
                     GROUP BY conversation_id, sender_id) s \
               WHERE p.conversation_id = s.conversation_id AND p.user_id = s.sender_id \
                 AND p.last_read_seq < s.seq \
             ) \
             SELECT {COLUMNS}, created_at_ms FROM inserted",
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
