//! The Redis adapter's driver: socketioxide-redis's, with a connection that comes back.
//!
//! socketioxide-redis's own driver holds one redis-rs multiplexed connection for ever:
//! after a Redis restart it neither reconnects nor subscribes again, and every cross-node
//! event is lost until the node restarts. This driver has the same channels and messages,
//! and a supervisor that, once the connection is lost (redis-rs reports it with a
//! `Disconnection` push, or a publish fails), connects again with back-off
//! ([`RECONNECT_MIN`] doubling to [`RECONNECT_MAX`]), subscribes to every channel the
//! adapter had, and then fires [`ReconnectingRedisDriver::reconnected`]: messages published
//! while the node was away are lost (pub/sub keeps nothing), so the realtime layer closes
//! this node's sockets, spread out, and their clients catch up ([`super::resync`]).
//! [`ReconnectingRedisDriver::is_up`] is what `/healthz` reports.

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, FromRedisValue, PushInfo, PushKind};
use socketioxide_redis::drivers::redis::redis_client as redis;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// First wait before connecting again; doubled after each failure.
pub const RECONNECT_MIN: Duration = Duration::from_millis(100);
/// Longest wait between attempts.
pub const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// Why a driver call failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisDriverError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("not connected to Redis (reconnecting)")]
    Down,
}

/// A Redis pub/sub driver that reconnects and resubscribes.
#[derive(Clone)]
pub struct ReconnectingRedisDriver {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    handlers: RwLock<HashMap<String, mpsc::Sender<ChanItem>>>,
    conn: RwLock<Option<MultiplexedConnection>>,
    /// Which connection is current: a late `Disconnection` of an older one is ignored.
    generation: AtomicU64,
    up: AtomicBool,
    lost: Notify,
    reconnected: Arc<Notify>,
}

impl std::fmt::Debug for ReconnectingRedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingRedisDriver")
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl ReconnectingRedisDriver {
    /// Connects to `client`'s Redis (failing if it cannot, as at start the node should)
    /// and starts the supervisor on the current tokio runtime.
    pub async fn new(client: redis::Client) -> Result<ReconnectingRedisDriver, redis::RedisError> {
        let inner = Arc::new(Inner {
            client,
            handlers: RwLock::new(HashMap::new()),
            conn: RwLock::new(None),
            generation: AtomicU64::new(0),
            up: AtomicBool::new(false),
            lost: Notify::new(),
            reconnected: Arc::new(Notify::new()),
        });
        let conn = Inner::connect(&inner).await?;
        inner.install(conn);
        tokio::spawn(supervise(Arc::downgrade(&inner)));
        Ok(ReconnectingRedisDriver { inner })
    }

    /// True while connected and subscribed.
    pub fn is_up(&self) -> bool {
        self.inner.up.load(Ordering::Acquire)
    }

    /// Notified each time the connection is back after being lost.
    pub fn reconnected(&self) -> Arc<Notify> {
        self.inner.reconnected.clone()
    }

    fn conn(&self) -> Result<MultiplexedConnection, RedisDriverError> {
        read(&self.inner.conn).clone().ok_or(RedisDriverError::Down)
    }

    /// A command failed: if the connection is gone, the supervisor reconnects.
    fn failed(&self, error: redis::RedisError) -> RedisDriverError {
        if error.is_connection_dropped() || error.is_io_error() || error.is_connection_refusal() {
            self.inner
                .lose(self.inner.generation.load(Ordering::Acquire));
        }
        RedisDriverError::Redis(error)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// A new connection whose pushes (messages, and its own `Disconnection`) come here.
    async fn connect(inner: &Arc<Inner>) -> redis::RedisResult<(u64, MultiplexedConnection)> {
        let generation = inner.generation.load(Ordering::Acquire) + 1;
        let weak = Arc::downgrade(inner);
        let config = redis::AsyncConnectionConfig::new().set_push_sender(move |msg: PushInfo| {
            if let Some(inner) = weak.upgrade() {
                inner.on_push(generation, msg);
            }
            Ok::<(), std::convert::Infallible>(())
        });
        let conn = inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok((generation, conn))
    }

    fn install(&self, (generation, conn): (u64, MultiplexedConnection)) {
        *write(&self.conn) = Some(conn);
        self.generation.store(generation, Ordering::Release);
        self.up.store(true, Ordering::Release);
    }

    /// The connection of `generation` is gone.
    fn lose(&self, generation: u64) {
        if generation != self.generation.load(Ordering::Acquire) {
            return;
        }
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!("cluster: lost the Redis connection; reconnecting");
            *write(&self.conn) = None;
            self.lost.notify_one();
        }
    }

    fn on_push(&self, generation: u64, msg: PushInfo) {
        match msg.kind {
            PushKind::Disconnection => self.lose(generation),
            PushKind::Message | PushKind::SMessage if msg.data.len() >= 2 => {
                let mut data = msg.data.into_iter();
                let (Some(chan), Some(payload)) = (data.next(), data.next()) else {
                    return;
                };
                let (Ok(chan), Ok(payload)) = (
                    String::from_redis_value(chan),
                    Vec::<u8>::from_redis_value(payload),
                ) else {
                    tracing::warn!("cluster: unreadable Redis message ignored");
                    return;
                };
                if let Some(tx) = read(&self.handlers).get(&chan)
                    && let Err(e) = tx.try_send((chan, payload))
                {
                    tracing::warn!(error = %e, "cluster: Redis message dropped (adapter queue full)");
                }
            }
            _ => {}
        }
    }

    /// Connects and subscribes to every channel of the adapter.
    async fn reconnect(inner: &Arc<Inner>) -> redis::RedisResult<(u64, MultiplexedConnection)> {
        let (generation, mut conn) = Inner::connect(inner).await?;
        let channels: Vec<String> = read(&inner.handlers).keys().cloned().collect();
        for chan in channels {
            conn.subscribe(chan.as_str()).await?;
        }
        Ok((generation, conn))
    }
}

/// Reconnects each time the connection is lost. Runs as long as the runtime (the driver
/// lives as long as the server).
async fn supervise(inner: std::sync::Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        strong.lost.notified().await;
        let mut delay = RECONNECT_MIN;
        loop {
            match Inner::reconnect(&strong).await {
                Ok(conn) => {
                    strong.install(conn);
                    tracing::info!("cluster: Redis connection back and resubscribed");
                    strong.reconnected.notify_waiters();
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, ?delay, "cluster: Redis still unreachable");
                    // A reconnection back-off, not a synchronisation.
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RECONNECT_MAX);
                }
            }
        }
    }
}

impl Driver for ReconnectingRedisDriver {
    type Error = RedisDriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        let mut conn = self.conn()?;
        conn.publish::<_, _, redis::Value>(chan, val)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        // Registered first: a reconnection from now on subscribes it too.
        write(&self.inner.handlers).insert(chan.clone(), tx);
        let mut conn = self.conn()?;
        conn.subscribe(chan.as_str())
            .await
            .map_err(|e| self.failed(e))?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        write(&self.inner.handlers).remove(&chan);
        let mut conn = self.conn()?;
        conn.unsubscribe(chan).await.map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut conn = self.conn()?;
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(count)
    }
}
