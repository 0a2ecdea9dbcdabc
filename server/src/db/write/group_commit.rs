//! Group commit on PostgreSQL: messages that arrive together share one transaction.
//!
//! Stored alone, each message costs PostgreSQL a transaction of four statements and a WAL
//! flush; at a few thousand messages per second that is the whole machine's limit
//! (docs/BENCHMARKS.md). Here senders queue their message and wait; a writer task takes
//! everything queued (up to [`MAX_BATCH`]) and stores it with [`insert_batch_postgres`].
//! Nothing waits for a batch to fill: a lone message is written at once, and batches
//! form only from what arrives while the previous one commits. A sender's answer comes
//! after its batch has committed.
//!
//! There is one writer: more writers split the same arrivals into smaller batches, so
//! each message carries more of a batch's fixed cost (five round trips). Measured at
//! 3,500 msgs/s on 2 cores, delivery p99 was 106 ms with one writer, 932 ms with two and
//! 1,499 ms with four (docs/BENCHMARKS.md).
//!
//! When a batch fails, every message in it is tried again alone (in parallel, through
//! [`Db::insert_message_alone`]), so each sender gets its own outcome or error and one
//! misbehaving message never fails the others.

use super::batch::insert_batch_postgres;
use super::{InsertOutcome, QueuedMessage};
use crate::db::{Backend, Db, DbError};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// The most messages in one transaction (bounds its size and its parameters' memory).
const MAX_BATCH: usize = 256;

/// The queue to the writer. Dropping the last [`Db`] clone closes it, and the writer
/// ends.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    message: QueuedMessage,
    reply: oneshot::Sender<Result<InsertOutcome, DbError>>,
}

impl GroupCommit {
    /// Starts the writer on the current tokio runtime.
    pub fn start(pool: PgPool) -> GroupCommit {
        // Bounded: under overload, senders wait here rather than queue without limit.
        let (queue, jobs) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(pool, jobs));
        GroupCommit { queue }
    }

    /// Queues `message` and waits until its batch has committed.
    pub async fn insert(&self, message: QueuedMessage) -> Result<InsertOutcome, DbError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { message, reply })
            .await
            .map_err(|_| DbError::Sqlx(sqlx::Error::PoolClosed))?;
        answer
            .await
            .map_err(|_| DbError::Sqlx(sqlx::Error::PoolClosed))?
    }
}

async fn write_batches(pool: PgPool, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Waits for the first job, then takes what else is queued; `None` once closed.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write(&pool, std::mem::take(&mut batch)).await;
        batch.reserve(MAX_BATCH);
    }
}

async fn write(pool: &PgPool, jobs: Vec<Job>) {
    let (messages, replies): (Vec<QueuedMessage>, Vec<_>) =
        jobs.into_iter().map(|job| (job.message, job.reply)).unzip();
    match insert_batch_postgres(pool, &messages).await {
        Ok(outcomes) => {
            metrics::histogram!("chat_group_commit_batch_size").record(messages.len() as f64);
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The sender may have gone (its socket closed): the message is stored anyway.
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) => {
            tracing::warn!(%error, size = messages.len(), "group commit failed; storing each message alone");
            let alone = Db {
                backend: Backend::Postgres(pool.clone()),
                group_commit: None,
            };
            for (message, reply) in messages.into_iter().zip(replies) {
                let db = alone.clone();
                tokio::spawn(async move {
                    let _ = reply.send(db.insert_message_alone(message.borrowed()).await);
                });
            }
        }
    }
}
