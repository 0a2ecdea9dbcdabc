//! The PostgreSQL adapter's driver: socketioxide-postgres's sqlx driver, with a LISTEN
//! stream that survives PostgreSQL restarts.
//!
//! The stock driver hands the adapter `PgListener::into_stream()`, which ends at the
//! first error sqlx does not treat as a lost connection (`Connection reset by peer` when
//! PostgreSQL goes away, or a reconnect attempted while it is still down). The adapter's
//! event task then ends silently and the node never hears another node again (found by
//! the two-node chaos soak, `docs/CHAOS.md`). Here any error drops the listener and a new
//! one is connected and subscribed, retrying until PostgreSQL answers; the stream never
//! ends.
//!
//! Notifications sent while the listener was away are lost, like any NOTIFY to a session
//! that is not listening. Each time the listener comes back (after sqlx reconnected it
//! itself or after this driver did), [`ResilientSqlxDriver::relistened`] fires, and the
//! realtime layer closes this node's sockets: their clients reconnect, rejoin and fetch
//! what they missed with `afterSeq` (SPEC.md section 4), instead of waiting for a later
//! message to reveal the gap, which for the last message of a conversation never comes.

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use socketioxide_postgres::drivers::Driver;
use socketioxide_postgres::drivers::sqlx::SqlxDriver;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long to wait between attempts to listen again while PostgreSQL is unreachable
/// (a reconnection back-off, not a synchronisation).
const RELISTEN_DELAY: Duration = Duration::from_millis(250);

/// [`SqlxDriver`] with a LISTEN stream that reconnects instead of ending.
#[derive(Clone, Debug)]
pub struct ResilientSqlxDriver {
    inner: SqlxDriver,
    pool: PgPool,
    relistened: Arc<Notify>,
}

impl ResilientSqlxDriver {
    pub fn new(pool: PgPool) -> ResilientSqlxDriver {
        ResilientSqlxDriver {
            inner: SqlxDriver::new(pool.clone()),
            pool,
            relistened: Arc::new(Notify::new()),
        }
    }

    /// Notified each time the LISTEN connection is back after being lost.
    pub fn relistened(&self) -> Arc<Notify> {
        self.relistened.clone()
    }
}

async fn listener(pool: &PgPool, channels: &[String]) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all(channels.iter().map(String::as_str))
        .await?;
    Ok(listener)
}

impl Driver for ResilientSqlxDriver {
    type Error = sqlx::Error;
    type Notification = PgNotification;
    type NotificationStream = BoxStream<'static, PgNotification>;

    async fn init(&self, table: &str) -> Result<(), Self::Error> {
        self.inner.init(table).await
    }

    async fn listen(&self, channels: &[&str]) -> Result<Self::NotificationStream, Self::Error> {
        let channels: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
        // The first subscription fails the start-up like the stock driver's.
        let first = listener(&self.pool, &channels).await?;
        let state = (
            Some(first),
            self.pool.clone(),
            channels,
            self.relistened.clone(),
        );
        let stream = futures_util::stream::unfold(
            state,
            |(mut current, pool, channels, relistened)| async move {
                loop {
                    let Some(listening) = current.as_mut() else {
                        match listener(&pool, &channels).await {
                            Ok(again) => {
                                tracing::warn!("cluster: listening to the other nodes again");
                                current = Some(again);
                                relistened.notify_one();
                            }
                            Err(e) => {
                                tracing::debug!(error = %e, "cluster: cannot listen yet; retrying");
                                tokio::time::sleep(RELISTEN_DELAY).await;
                            }
                        }
                        continue;
                    };
                    match listening.try_recv().await {
                        Ok(Some(notification)) => {
                            return Some((notification, (current, pool, channels, relistened)));
                        }
                        // The connection was lost and sqlx listens again by itself.
                        Ok(None) => {
                            tracing::warn!("cluster: the LISTEN connection was lost and is back");
                            relistened.notify_one();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cluster: lost the LISTEN connection; reconnecting");
                            current = None;
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn notify(&self, channel: &str, message: &str) -> Result<(), Self::Error> {
        self.inner.notify(channel, message).await
    }

    async fn push_attachment(&self, table: &str, attachment: &[u8]) -> Result<i64, Self::Error> {
        self.inner.push_attachment(table, attachment).await
    }

    async fn get_attachment(&self, table: &str, id: i64) -> Result<Vec<u8>, Self::Error> {
        self.inner.get_attachment(table, id).await
    }

    async fn cleanup_attachments(
        &self,
        table: &str,
        interval: Duration,
    ) -> Result<(), Self::Error> {
        self.inner.cleanup_attachments(table, interval).await
    }

    async fn close(&self, channels: &[&str]) -> Result<(), Self::Error> {
        self.inner.close(channels).await
    }
}
