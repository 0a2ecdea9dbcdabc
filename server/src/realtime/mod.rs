//! The Socket.IO backend (SPEC.md section 2) on socketioxide: namespace `/`, path
//! `/socket.io/`, Engine.IO v4 over long-polling and WebSocket.
//!
//! [`Realtime`] owns the [`SocketIo`] handle and its tower layer; [`crate::app`] mounts
//! the layer behind [`http_guard`] (origin allowlist and CORS for the handshake), and the
//! REST routes call [`Realtime::conversation_created`] and [`Realtime::send_message`]
//! so that `conversation:new` and the HTTP fallback's `message:new` reach sockets too.
//!
//! # Layout
//!
//! - [`handlers`]: the handshake middleware, the connect/disconnect handlers and one
//!   `async fn` per client event, dispatched by name from one fallback handler.
//! - [`args`]: the [`args::Args`] extractor and the parsers that turn raw event arguments
//!   into typed values (wrong shapes become `bad_request` acks, never silence).
//! - [`error`]: [`error::SocketError`], why an event failed, and the one mapping to the
//!   failed ack (internal causes logged, never sent).
//! - [`presence`]: which users have sockets on this node, counted per socket; in cluster
//!   mode also recorded in [`crate::cluster`] so that every node agrees.
//! - [`typing`]: typing indicators and their 5-second expiry timers.
//! - [`limits`]: the numbers that bound what one client can make the server do.
//! - [`pg_driver`]: the PostgreSQL adapter's driver, whose LISTEN survives restarts.
//! - [`audience`]: the rooms of a conversation's `message:new` and `conversation:read`
//!   (its room and every participant's user room: the live list without joining).
//! - [`read_state`]: moving a read watermark and announcing `conversation:read`.
//! - [`unauthenticated`]: the cap on Engine.IO sessions that have not signed in.
//! - [`expiry`]: one timer for every socket's token expiry.
//!
//! # Lifecycle of a socket
//!
//! The handshake middleware verifies the JWT (auth payload `token`, or `?token=`) and
//! stores a [`handlers::Session`] in the socket's extensions; the connect handler joins
//! `user:{id}`, counts the socket in [`presence`], and arms its token's deadline in
//! [`expiry`], which disconnects the socket then. The disconnect handler undoes all of it once.
//!
//! # One node or a cluster
//!
//! socketioxide's [`SocketIo`] is generic over its adapter. [`Io`] holds one of the three
//! this server runs with (the in-memory `LocalAdapter`, or the PostgreSQL or Redis
//! adapter of `CLUSTER_ADAPTER`), and every emit that is not an ack goes through it, so
//! in cluster mode it reaches sockets on every node. Handlers are generic over the
//! adapter and monomorphised for each, so single-node mode runs the same code it always
//! did, with no dynamic dispatch added.

pub mod args;
pub mod audience;
pub mod error;
pub mod expiry;
pub mod handlers;
pub mod limits;
pub mod pg_driver;
pub mod presence;
pub mod read_state;
pub mod redis_driver;
pub mod resync;
pub mod typing;
pub mod unauthenticated;

use crate::auth::JwtKeys;
use crate::cluster::Cluster;
use crate::config::{ClusterAdapter, Config};
use crate::db::Db;
use crate::messaging::{self, SendError, Sent};
use crate::origins::OriginAllowlist;
use crate::rate_limit::{RateLimiter, SendLimiter};
use anyhow::Context;
use axum::Router;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_wire::event::{CONVERSATION_NEW, conversation_room, user_room};
use chat_wire::limits::MAX_PAYLOAD_BYTES;
use chat_wire::socket::{Conversation, SendMessage};
use chat_wire::{ConversationId, UserId};
use limits::{
    JOIN_EVENTS_PER_SECOND, READ_EVENTS_PER_SECOND, SHUTDOWN_DRAIN_TIMEOUT,
    TYPING_EVENTS_PER_SECOND,
};
use pg_driver::ResilientSqlxDriver;
use presence::Presence;
use redis_driver::ReconnectingRedisDriver;
use serde::Serialize;
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;
use socketioxide::{BroadcastError, SocketIo, SocketIoBuilder, TransportType};
use socketioxide_postgres::{CustomPostgresAdapter, PostgresAdapterConfig, PostgresAdapterCtr};
use socketioxide_redis::drivers::redis::redis_client;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use sqlx::postgres::PgPoolOptions;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use typing::TypingRegistry;

/// Connections of the PostgreSQL adapter's pool (one `pg_notify` per broadcast; the
/// LISTEN connection is separate).
const ADAPTER_CONNECTIONS: u32 = 4;

/// The path prefix of the Engine.IO endpoint.
pub const SOCKET_IO_PATH: &str = "/socket.io";

/// The initial capacity of each WebSocket's read buffer (engineioxide's default is 4 KiB),
/// allocated for every connection, idle or not. Chat frames are a few hundred bytes; a
/// larger frame grows the buffer as it arrives (bounded by `MAX_PAYLOAD_BYTES`). 3 KiB less
/// per idle socket (docs/BENCHMARKS.md).
pub const WS_READ_BUFFER_BYTES: usize = 1024;

/// What every handler shares. Handlers reach it through socketioxide's `State`
/// extractor; REST reaches it through [`Realtime`].
#[derive(Debug)]
pub struct Shared {
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    /// The send limiter, the same instance as the HTTP fallback's: 10 messages per
    /// second per user whichever way they arrive (across nodes in cluster mode).
    pub send_limiter: Arc<SendLimiter>,
    /// The shared presence and socket-cap store, in cluster mode.
    pub cluster: Option<Cluster>,
    /// The Socket.IO server, set once built (the state is built first: socketioxide
    /// takes it in its builder).
    io: OnceLock<Io>,
    /// `typing:start`/`typing:stop` per user.
    pub typing_limiter: RateLimiter,
    /// `conversation:join`/`conversation:leave` per user: each costs database reads.
    pub join_limiter: RateLimiter,
    /// `message:read` and `conversation:read` per user, together: each costs a write.
    pub read_limiter: RateLimiter,
    /// Socket.IO handshakes per user on this node (`HANDSHAKES_PER_USER_PER_SEC`): a
    /// client in a reconnect loop, or a script, cannot make the node verify and count
    /// sockets without limit.
    pub handshake_limiter: RateLimiter,
    /// The Redis adapter's driver, whose connection `/healthz` reports.
    pub redis_driver: OnceLock<ReconnectingRedisDriver>,
    /// Who hears each conversation's messages and watermark moves.
    pub audiences: audience::Audiences,
    pub presence: Presence,
    pub typing: Arc<TypingRegistry>,
    /// Engine.IO sessions not signed in yet (`MAX_UNAUTHENTICATED_SESSIONS`).
    pub unauthenticated: unauthenticated::UnauthenticatedSessions,
    /// Every socket's token deadline.
    pub expiries: expiry::Expiries,
    /// Set when shutdown starts: new handshakes and new sends are refused.
    closing: AtomicBool,
    /// Sends running now (`message:send` handlers until their ack, and each store and
    /// announcement until done); shutdown waits for them.
    in_flight: AtomicUsize,
    drained: Notify,
}

impl Shared {
    /// Where broadcasts go. Set before the first socket can connect.
    pub fn io(&self) -> Option<&Io> {
        self.io.get()
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Marks a send as running, or `None` when shutting down. The count is taken before
    /// the flag is read, so shutdown never misses a send that passed the check.
    pub fn begin_send(self: &Arc<Self>) -> Option<InFlight> {
        let guard = self.track_send();
        if self.is_closing() { None } else { Some(guard) }
    }

    /// Marks a send as running, even while shutting down ([`begin_send`](Self::begin_send)
    /// refuses new sockets' sends; this counts a send already let in until it is done).
    pub fn track_send(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

/// A running send; dropping it lets shutdown proceed.
#[derive(Debug)]
pub struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}

/// The adapter of cluster mode over PostgreSQL.
pub type PgAdapter = CustomPostgresAdapter<Emitter, ResilientSqlxDriver>;
/// The adapter of cluster mode over Redis.
pub type RedisPubSub = CustomRedisAdapter<Emitter, ReconnectingRedisDriver>;

/// The Socket.IO server with whichever adapter runs. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Io {
    Local(SocketIo<LocalAdapter>),
    Postgres(SocketIo<PgAdapter>),
    Redis(SocketIo<RedisPubSub>),
}

/// Runs `$body` with `$io` bound to the [`SocketIo`] inside an [`Io`].
macro_rules! with_io {
    ($value:expr, |$io:ident| $body:expr) => {
        match $value {
            Io::Local($io) => $body,
            Io::Postgres($io) => $body,
            Io::Redis($io) => $body,
        }
    };
}

impl Io {
    /// Emits `event` to the sockets in any of `rooms`, except those in `except`, on
    /// every node. Nothing is sent once the server has closed (shutdown).
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        rooms: Vec<String>,
        except: Option<String>,
        event: &'static str,
        data: &T,
    ) {
        match self {
            Io::Local(io) => {
                if let Some(root) = root(io) {
                    broadcast(select(root, rooms, except), event, data).await;
                }
            }
            Io::Postgres(io) => emit_everywhere(io, rooms, except, event, data).await,
            Io::Redis(io) => emit_everywhere(io, rooms, except, event, data).await,
        }
    }

    async fn close(&self) {
        with_io!(self, |io| io.close().await)
    }

    /// Closes the socket `sid` if it is connected to this node.
    pub fn disconnect_local(&self, sid: Sid) {
        with_io!(self, |io| {
            if let Some(socket) = root(io).and_then(|ns| ns.get_socket(sid))
                && let Err(e) = socket.disconnect()
            {
                tracing::debug!(%sid, error = %e, "disconnecting a socket that is already closed");
            }
        })
    }
}

/// The tower layer of whichever adapter runs.
#[derive(Clone)]
enum Layer {
    Local(SocketIoLayer<LocalAdapter>),
    Postgres(SocketIoLayer<PgAdapter>),
    Redis(SocketIoLayer<RedisPubSub>),
}

/// The Socket.IO server: its handle, its tower layer and the shared state.
#[derive(Clone)]
pub struct Realtime {
    io: Io,
    layer: Layer,
    shared: Arc<Shared>,
    /// The cluster heartbeat (lease renewal and reaping of dead nodes).
    heartbeat: Option<AbortHandle>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

/// The request with a URI and header values that own their bytes.
///
/// hyper parses both as slices of the connection's read buffer (8 to 16 KiB), and
/// socketioxide keeps each socket's request head for as long as the socket lives, so every
/// open socket kept that whole buffer alive: 16 KiB per idle connection, half of the
/// server's memory per socket (heaptrack; docs/BENCHMARKS.md). Copying the few hundred
/// bytes of the head lets the buffer go once the WebSocket upgrade is done.
fn detach_head(request: Request) -> Request {
    let (mut parts, body) = request.into_parts();
    // `Uri`'s `FromStr` copies into a new buffer. axum's router keeps a copy of the URI as
    // it arrived in the extensions (which socketioxide keeps too).
    if let Ok(uri) = parts.uri.to_string().parse() {
        parts.uri = uri;
    }
    if let Some(OriginalUri(original)) = parts.extensions.get_mut::<OriginalUri>()
        && let Ok(uri) = original.to_string().parse()
    {
        *original = uri;
    }
    for value in parts.headers.values_mut() {
        // `from_bytes` copies too.
        if let Ok(mut owned) = HeaderValue::from_bytes(value.as_bytes()) {
            owned.set_sensitive(value.is_sensitive());
            *value = owned;
        }
    }
    Request::from_parts(parts, body)
}

/// The builder every adapter starts from: path, transports and payload bounds.
fn builder() -> SocketIoBuilder {
    let max = MAX_PAYLOAD_BYTES;
    SocketIo::builder()
        .req_path(SOCKET_IO_PATH)
        .transports([TransportType::Polling, TransportType::Websocket])
        // Polling bodies are bounded by max_payload; WebSocket frames are not (tungstenite
        // has its own limits, 64 MiB by default): bounding both the message and the frame
        // makes tungstenite refuse an oversize frame from its header, before reading it.
        .max_payload(max as u64)
        .connect_timeout(unauthenticated::CONNECT_TIMEOUT)
        .ws_max_message_size(max)
        .ws_max_frame_size(max)
        .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
}

/// `url` with `protocol=resp3` (the Redis driver receives pub/sub messages as RESP3
/// pushes) unless it already names a protocol.
fn resp3_url(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// The Redis client of `url`. `rediss://` is TLS (rustls), verified against the system's
/// roots, or against `ca_cert` (`REDIS_CA_CERT`, PEM) alone when given.
fn redis_client(url: &str, ca_cert: Option<&Path>) -> anyhow::Result<redis_client::Client> {
    let client = match ca_cert {
        None => redis_client::Client::open(resp3_url(url)),
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read REDIS_CA_CERT {}", path.display()))?;
            let certificates = redis_client::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            };
            redis_client::Client::build_with_tls(resp3_url(url), certificates)
        }
    };
    client.with_context(|| format!("bad REDIS_URL {url:?}"))
}

impl Realtime {
    /// Builds the Socket.IO server over the data layer and the REST half's limiter. In
    /// cluster mode (`cluster` and `adapter` set) it also connects the adapter and waits
    /// until it listens, so no broadcast from another node is missed once this returns.
    pub async fn new(
        db: Db,
        jwt: Arc<JwtKeys>,
        send_limiter: Arc<SendLimiter>,
        config: &Config,
        cluster: Option<Cluster>,
    ) -> anyhow::Result<Realtime> {
        let adapter = &config.cluster_adapter;
        let shared = Arc::new_cyclic(|shared: &std::sync::Weak<Shared>| Shared {
            db,
            jwt,
            send_limiter,
            cluster: cluster.clone(),
            io: OnceLock::new(),
            typing_limiter: RateLimiter::new(TYPING_EVENTS_PER_SECOND),
            join_limiter: RateLimiter::new(JOIN_EVENTS_PER_SECOND),
            read_limiter: RateLimiter::new(READ_EVENTS_PER_SECOND),
            handshake_limiter: RateLimiter::new(config.handshakes_per_user_per_sec),
            redis_driver: OnceLock::new(),
            audiences: audience::Audiences::new(!adapter.is_clustered()),
            presence: Presence::default(),
            typing: Arc::new(TypingRegistry::default()),
            unauthenticated: unauthenticated::UnauthenticatedSessions::new(
                config.max_unauthenticated_sessions,
            ),
            // Weak: the task must not keep the server alive (it ends with `Shared`).
            expiries: expiry::Expiries::start({
                let shared = shared.clone();
                move |sid, user| {
                    if let Some(io) = shared.upgrade().as_ref().and_then(|s| s.io()) {
                        tracing::info!(%sid, %user, "token expired: disconnecting the socket");
                        io.disconnect_local(sid);
                    }
                }
            }),
            closing: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
        });
        let (layer, io) = match (adapter, &cluster) {
            (ClusterAdapter::None, _) => {
                let (layer, io) = builder().with_state(shared.clone()).build_layer();
                io.ns(
                    "/",
                    handlers::on_connect::<LocalAdapter>
                        .with(handlers::authenticate::<LocalAdapter>),
                );
                (Layer::Local(layer), Io::Local(io))
            }
            (ClusterAdapter::Postgres, Some(cluster)) => {
                // A pool of its own: a presence transition holds a cluster connection
                // while it broadcasts, so sharing one pool could leave every connection
                // waiting for another.
                let options = cluster.pool().connect_options().as_ref().clone();
                let pool = PgPoolOptions::new()
                    .max_connections(ADAPTER_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .context("the PostgreSQL adapter cannot connect")?;
                let driver = ResilientSqlxDriver::new(pool);
                let relistened = driver.relistened();
                let ctr = PostgresAdapterCtr::new_with_driver(
                    driver,
                    PostgresAdapterConfig::default().with_prefix("chat"),
                );
                let (layer, io) = builder()
                    .with_adapter::<PgAdapter>(ctr)
                    .with_state(shared.clone())
                    .build_layer();
                io.ns(
                    "/",
                    handlers::on_connect::<PgAdapter>.with(handlers::authenticate::<PgAdapter>),
                )
                .await
                .context("the PostgreSQL adapter cannot listen")?;
                tokio::spawn(resync_after_reconnect(
                    io.clone(),
                    relistened,
                    config.resync_spread,
                ));
                (Layer::Postgres(layer), Io::Postgres(io))
            }
            (ClusterAdapter::Redis { url, prefix }, Some(_)) => {
                let client = redis_client(url, config.redis_ca_cert.as_deref())?;
                let adapter_config = RedisAdapterConfig::default().with_prefix(prefix.clone());
                let driver = tokio::time::timeout(
                    Duration::from_secs(10),
                    ReconnectingRedisDriver::new(client),
                )
                .await
                .map_err(|_| anyhow::anyhow!("timed out"))
                .and_then(|r| r.map_err(anyhow::Error::from))
                .with_context(|| format!("cannot connect to Redis at {url}"))?;
                let reconnected = driver.reconnected();
                let _ = shared.redis_driver.set(driver.clone());
                let ctr = RedisAdapterCtr::new_with_driver(driver, adapter_config);
                let (layer, io) = builder()
                    .with_adapter::<RedisPubSub>(ctr)
                    .with_state(shared.clone())
                    .build_layer();
                io.ns(
                    "/",
                    handlers::on_connect::<RedisPubSub>.with(handlers::authenticate::<RedisPubSub>),
                )
                .await
                .context("the Redis adapter cannot subscribe")?;
                tokio::spawn(resync_after_reconnect(
                    io.clone(),
                    reconnected,
                    config.resync_spread,
                ));
                (Layer::Redis(layer), Io::Redis(io))
            }
            (_, None) => anyhow::bail!("cluster mode without its PostgreSQL store"),
        };
        // The namespace exists only now, and no socket can have connected before this.
        let _ = shared.io.set(io.clone());
        let heartbeat = cluster.map(|cluster| {
            tokio::spawn(presence::heartbeat(shared.clone(), cluster)).abort_handle()
        });
        Ok(Realtime {
            io,
            layer,
            shared,
            heartbeat,
        })
    }

    /// Wraps `router` in the tower layer serving `/socket.io/` (mount it behind
    /// [`http_guard`]).
    pub fn wrap(&self, router: Router) -> Router {
        match &self.layer {
            Layer::Local(layer) => router.layer(layer.clone()),
            Layer::Postgres(layer) => router.layer(layer.clone()),
            Layer::Redis(layer) => router.layer(layer.clone()),
        }
    }

    pub fn io(&self) -> &Io {
        &self.io
    }

    /// The state of [`http_guard`].
    pub fn guard(&self, origins: Arc<OriginAllowlist>) -> Guard {
        Guard {
            origins,
            shared: self.shared.clone(),
        }
    }

    /// False while the cluster adapter cannot reach the other nodes (its Redis connection
    /// is down and reconnecting).
    pub fn adapter_up(&self) -> bool {
        self.shared
            .redis_driver
            .get()
            .is_none_or(ReconnectingRedisDriver::is_up)
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// `conversation:new` to `user:{id}` of every participant (a socket in several of
    /// those rooms gets it once).
    pub async fn conversation_created(&self, conversation: &Conversation) {
        let rooms: Vec<String> = conversation
            .participant_ids
            .iter()
            .map(|id| user_room(*id))
            .collect();
        self.io
            .emit(rooms, None, CONVERSATION_NEW, conversation)
            .await;
    }

    /// After `user` left `conversation`: its next messages go to the remaining
    /// participants only, and the user's sockets (on every node) leave its room, so they
    /// hear no more of its messages, typing or presence.
    pub async fn participant_left(&self, conversation: ConversationId, user: UserId) {
        self.shared.audiences.forget(conversation);
        with_io!(&self.io, |io| {
            if let Some(ns) = root(io)
                && let Err(e) = ns
                    .to(user_room(user))
                    .leave(conversation_room(conversation))
                    .await
            {
                tracing::warn!(%conversation, %user, error = %e, "cannot take the sockets out of the room");
            }
        });
    }

    /// Stores and announces a message sent over the HTTP fallback, as `message:send`
    /// does ([`messaging::send_and_announce`]).
    pub async fn send_message(
        &self,
        sender: UserId,
        conversation: ConversationId,
        body: SendMessage,
    ) -> Result<Sent, SendError> {
        messaging::send_and_announce(&self.shared, sender, conversation, body).await
    }

    /// Graceful shutdown (SPEC.md section 8): refuse new handshakes and sends, let the
    /// sends already running finish and answer (bounded by [`SHUTDOWN_DRAIN_TIMEOUT`]),
    /// then disconnect every socket, which tells each client (`41` + close).
    pub async fn shutdown(&self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        let drained = async {
            loop {
                let notified = self.shared.drained.notified();
                if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
                    break;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, drained)
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = self.shared.in_flight.load(Ordering::SeqCst),
                "shutdown: sends still running after the drain timeout"
            );
        }
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.abort();
        }
        // Other nodes must hear that this node's users left while it can still emit
        // (after close, the namespace is gone).
        if let Some(cluster) = &self.shared.cluster {
            presence::leave_cluster(&self.shared, cluster).await;
        }
        self.io.close().await;
        tracing::info!("shutdown: every socket disconnected");
    }
}

/// The root namespace's broadcast operator, or `None` once [`SocketIo::close`] has
/// removed it (shutdown): `SocketIo::to` would panic then, and disconnect handlers still
/// run after it.
pub(crate) fn root<A: Adapter>(io: &SocketIo<A>) -> Option<BroadcastOperators<A>> {
    io.of("/")
}

/// Emits to a set of rooms, logging (not hiding) a failure: with the local adapter an
/// emit only fails on serialisation; a full socket buffer drops that socket's copy, which
/// socketioxide reports itself.
pub(crate) async fn broadcast<A: Adapter, T: Serialize + ?Sized>(
    op: BroadcastOperators<A>,
    event: &'static str,
    data: &T,
) {
    if let Err(e) = op.emit(event, data).await {
        tracing::warn!(event, error = %e, "broadcast failed");
    }
}

/// Closes this node's sockets, spread over `spread`, each time `reconnected` fires (a
/// cluster adapter's subscription came back: see [`pg_driver`] and [`redis_driver`]).
/// Ends with the server.
async fn resync_after_reconnect<A: Adapter>(
    io: SocketIo<A>,
    reconnected: Arc<Notify>,
    spread: Duration,
) {
    loop {
        reconnected.notified().await;
        if root(&io).is_none() {
            return;
        }
        resync::close_staggered(&io, spread);
    }
}

/// `rooms` minus `except`.
fn select<A: Adapter>(
    op: BroadcastOperators<A>,
    rooms: Vec<String>,
    except: Option<String>,
) -> BroadcastOperators<A> {
    let op = op.to(rooms);
    match except {
        Some(room) => op.except(room),
        None => op,
    }
}

/// A cluster emit. When the other nodes cannot be reached (PostgreSQL or Redis down) the
/// adapter fails the whole emit, local sockets included; this node's sockets then still
/// get it, and the others catch up from the history (a client that sees a seq skip ahead
/// backfills, SPEC.md section 4).
async fn emit_everywhere<A: Adapter, T: Serialize + ?Sized>(
    io: &SocketIo<A>,
    rooms: Vec<String>,
    except: Option<String>,
    event: &'static str,
    data: &T,
) {
    let Some(ns) = root(io) else {
        return;
    };
    let everywhere = select(ns, rooms.clone(), except.clone());
    match everywhere.emit(event, data).await {
        Ok(()) => {}
        Err(BroadcastError::Adapter(e)) => {
            tracing::warn!(event, error = %e, "broadcast to the other nodes failed: sending on this node only");
            if let Some(ns) = root(io) {
                broadcast(select(ns.local(), rooms, except), event, data).await;
            }
        }
        Err(e) => tracing::warn!(event, error = %e, "broadcast failed"),
    }
}

/// What [`http_guard`] checks requests against.
#[derive(Clone, Debug)]
pub struct Guard {
    origins: Arc<OriginAllowlist>,
    shared: Arc<Shared>,
}

/// Whether `request` opens an Engine.IO session (a handshake, on either transport):
/// only later requests of a session carry its `sid`.
fn is_handshake(request: &Request) -> bool {
    request.method() == Method::GET
        && !request
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|pair| pair.starts_with("sid="))
}

/// Middleware in front of the Socket.IO layer: requests to `/socket.io/` carrying an
/// `Origin` outside the allowlist are refused with 403 before any Engine.IO handshake or
/// WebSocket upgrade (both transports); allowed cross-origin requests (the Expo dev
/// server) get CORS headers so that browser long-polling works. A handshake beyond the
/// cap on sessions not signed in ([`unauthenticated`]) is refused with 429. Other paths
/// pass.
pub async fn http_guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(SOCKET_IO_PATH) {
        return next.run(request).await;
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    if !guard.origins.allows(origin.as_ref()) {
        tracing::info!(origin = ?origin, "refused a Socket.IO request from a foreign origin");
        return crate::error::AppError::Forbidden("Origin not allowed".to_owned()).into_response();
    }
    if is_handshake(&request)
        && let Err(retry) = guard.shared.unauthenticated.open()
    {
        tracing::warn!("refused an Engine.IO handshake: too many sessions not signed in");
        return crate::error::AppError::Throttled("Too many connections waiting to sign in", retry)
            .into_response();
    }
    let preflight = request.method() == Method::OPTIONS;
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(detach_head(request)).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, Bytes};

    #[test]
    fn a_detached_head_no_longer_points_into_the_read_buffer() {
        // What hyper does: the head's parts are slices of one connection buffer.
        let mut raw = vec![b'x'; 16 * 1024];
        raw[200..237].copy_from_slice(b"/socket.io/?EIO=4&transport=websocket");
        let buffer = Bytes::from(raw);
        let within = |bytes: &[u8]| {
            let start = buffer.as_ptr() as usize;
            let at = bytes.as_ptr() as usize;
            (start..start + buffer.len()).contains(&at)
        };
        let mut request = Request::new(Body::empty());
        let origin = HeaderValue::from_maybe_shared(buffer.slice(0..19)).unwrap();
        let mut token = HeaderValue::from_maybe_shared(buffer.slice(100..140)).unwrap();
        token.set_sensitive(true);
        request.headers_mut().insert(header::ORIGIN, origin.clone());
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, token.clone());
        let uri = axum::http::Uri::from_maybe_shared(buffer.slice(200..237)).unwrap();
        *request.uri_mut() = uri.clone();
        request.extensions_mut().insert(OriginalUri(uri));
        assert!(within(request.headers()[header::ORIGIN].as_bytes()));

        let detached = detach_head(request);
        let headers = detached.headers();
        assert_eq!(headers[header::ORIGIN], origin);
        assert_eq!(headers[header::AUTHORIZATION], token);
        assert!(headers[header::AUTHORIZATION].is_sensitive());
        assert!(!within(headers[header::ORIGIN].as_bytes()));
        assert!(!within(headers[header::AUTHORIZATION].as_bytes()));
        let original = detached.extensions().get::<OriginalUri>().unwrap();
        for uri in [detached.uri(), &original.0] {
            assert_eq!(uri.query(), Some("EIO=4&transport=websocket"));
            assert!(!within(uri.path().as_bytes()), "{uri}");
        }
    }

    /// engineioxide gives each socket a packet channel whose first block of 32 slots is
    /// allocated up front, so an idle socket pays 32 slots. Published engineioxide-core
    /// makes a slot 184 bytes (5.9 KiB per socket); the patch in patches/ (boxed open
    /// packet, one inline packet) makes it 48. This fails if an upgrade or a dropped
    /// `[patch]` brings the big slot back.
    #[test]
    fn a_queued_packet_slot_stays_small() {
        let slot = std::mem::size_of::<engineioxide_core::PacketBuf>();
        assert!(
            slot <= 48,
            "engineioxide_core::PacketBuf is {slot} bytes; see patches/README.md"
        );
    }
}
