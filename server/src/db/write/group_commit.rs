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
//! each message carries more of a batch's fixed cost (a round trip and a commit). Measured at
//! 3,500 msgs/s on 2 cores, delivery p99 was 106 ms with one writer, 932 ms with two and
//! 1,499 ms with four (docs/BENCHMARKS.md).
//!
//! When a batch fails, every message in it is tried again alone (in parallel, through
//! [`Db::insert_message_alone`]), so each sender gets its own outcome or error and one
//! misbehaving message never fails the others; unless the database is unreachable or
//! timed out, which no retry cures: then the whole batch is answered `unavailable`.
//!
//! # Bounds
//!
//! The writer has a connection of its own (a one-connection pool), so REST reads never
//! take it. Every wait is bounded, so that one hung statement (a lock held elsewhere, a
//! database gone) answers its senders `unavailable` within seconds, under the clients' 5 s
//! ack timeout, instead of stalling every send on the node:
//!
//! - [`STATEMENT_TIMEOUT`]: PostgreSQL's `statement_timeout` on the writer's connection
//!   (lock waits included);
//! - [`ACQUIRE_TIMEOUT`]: the wait for that connection (reconnecting, when PostgreSQL is
//!   down);
//! - [`QUEUE_WAIT`]: the longest a message waits in the queue; one that waited longer is
//!   answered `unavailable` without being written, so an `unavailable` answer always means
//!   "not stored" (a message stored after its sender was told otherwise would never be
//!   announced: its retry is a repeat).

use super::batch::insert_batch_postgres;
use super::{InsertOutcome, QueuedMessage};
use crate::db::unavailable::is_unavailable;
use crate::db::{Backend, Db, DbError};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The most messages in one transaction (bounds its size and its parameters' memory).
const MAX_BATCH: usize = 256;
/// PostgreSQL's `statement_timeout` on the writer's connection. A batch's statements
/// take milliseconds; two seconds is a hung one.
pub(crate) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a batch waits for the writer's connection.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a message waits in the queue before the writer takes it (at 3,500
/// msgs/s the p99 of the whole send is about 100 ms).
pub(crate) const QUEUE_WAIT: Duration = Duration::from_millis(1500);

/// The queue to the writer. Dropping the last [`Db`] clone closes it, and the writer
/// ends.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    message: QueuedMessage,
    queued: Instant,
    reply: oneshot::Sender<Result<InsertOutcome, DbError>>,
}

impl GroupCommit {
    /// Opens the writer's connection to `url` and starts the writer on the current tokio
    /// runtime.
    pub async fn connect(url: &str) -> Result<GroupCommit, DbError> {
        let timeout = STATEMENT_TIMEOUT.as_millis().to_string();
        let options =
            PgConnectOptions::from_str(url)?.options([("statement_timeout", timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(GroupCommit::start(pool))
    }

    /// Starts the writer, writing through `pool`, on the current tokio runtime.
    fn start(pool: PgPool) -> GroupCommit {
        // Bounded: under overload, senders wait here rather than queue without limit.
        let (queue, jobs) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(write_batches(pool, jobs));
        GroupCommit { queue }
    }

    /// Queues `message` and waits until its batch has committed.
    pub async fn insert(&self, message: QueuedMessage) -> Result<InsertOutcome, DbError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                message,
                queued: Instant::now(),
                reply,
            })
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
        let (late, due): (Vec<Job>, Vec<Job>) = std::mem::take(&mut batch)
            .into_iter()
            .partition(|job| job.queued.elapsed() > QUEUE_WAIT);
        if !late.is_empty() {
            tracing::warn!(
                count = late.len(),
                "messages waited too long for the writer; answered unavailable"
            );
            for job in late {
                let _ = job.reply.send(Err(DbError::WriterUnavailable(format!(
                    "queued for more than {QUEUE_WAIT:?}"
                ))));
            }
        }
        if !due.is_empty() {
            write(&pool, due).await;
        }
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
        Err(error) if is_unavailable(&error) => {
            tracing::warn!(%error, size = messages.len(), "group commit: database unavailable");
            for reply in replies {
                let _ = reply.send(Err(DbError::WriterUnavailable(error.to_string())));
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
