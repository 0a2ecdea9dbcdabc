//! The Socket.IO backend (SPEC.md section 2) on socketioxide: namespace `/`, path
//! `/socket.io/`, Engine.IO v4 over long-polling and WebSocket.
//!
//! [`Realtime`] owns the [`SocketIo`] handle and its tower layer; [`crate::app`] mounts
//! the layer behind [`http_guard`] (origin allowlist and CORS for the handshake), and the
//! REST routes call [`Realtime::conversation_created`] and [`Realtime::message_created`]
//! so that `conversation:new` and the HTTP fallback's `message:new` reach sockets too.
//!
//! # Layout
//!
//! - [`handlers`]: the handshake middleware, the connect/disconnect handlers and one
//!   `async fn` per client event, registered in one table.
//! - [`args`]: the [`args::Args`] extractor and the parsers that turn raw event arguments
//!   into typed values (wrong shapes become `bad_request` acks, never silence).
//! - [`presence`]: which users have sockets on this node, counted per socket.
//! - [`typing`]: typing indicators and their 5-second expiry timers.
//! - [`limits`]: the numbers that bound what one client can make the server do.
//!
//! # Lifecycle of a socket
//!
//! The handshake middleware verifies the JWT (auth payload `token`, or `?token=`) and
//! stores a [`handlers::Session`] in the socket's extensions; the connect handler joins
//! `user:{id}`, counts the socket in [`presence`], and arms a timer that disconnects the
//! socket when its token expires. The disconnect handler undoes all of it once.

pub mod args;
pub mod handlers;
pub mod limits;
pub mod presence;
pub mod typing;

use crate::auth::JwtKeys;
use crate::db::Db;
use crate::origins::OriginAllowlist;
use crate::rate_limit::RateLimiter;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_wire::Message;
use chat_wire::event::{CONVERSATION_NEW, user_room};
use chat_wire::limits::MAX_PAYLOAD_BYTES;
use chat_wire::socket::Conversation;
use limits::{
    JOIN_EVENTS_PER_SECOND, READ_EVENTS_PER_SECOND, SHUTDOWN_DRAIN_TIMEOUT,
    TYPING_EVENTS_PER_SECOND,
};
use presence::Presence;
use serde::Serialize;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::operators::BroadcastOperators;
use socketioxide::{SocketIo, TransportType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;
use typing::TypingRegistry;

/// The path prefix of the Engine.IO endpoint.
pub const SOCKET_IO_PATH: &str = "/socket.io";

/// What every handler shares. Handlers reach it through socketioxide's `State`
/// extractor; REST reaches it through [`Realtime`].
#[derive(Debug)]
pub struct Shared {
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    /// The send limiter, the same instance as the HTTP fallback's: 10 messages per
    /// second per user whichever way they arrive.
    pub send_limiter: Arc<RateLimiter>,
    /// `typing:start`/`typing:stop` per user.
    pub typing_limiter: RateLimiter,
    /// `conversation:join`/`conversation:leave` per user: each costs database reads.
    pub join_limiter: RateLimiter,
    /// `message:read` per user: each costs a write.
    pub read_limiter: RateLimiter,
    pub presence: Presence,
    pub typing: Arc<TypingRegistry>,
    /// Set when shutdown starts: new handshakes and new sends are refused.
    closing: AtomicBool,
    /// `message:send` handlers running now; shutdown waits for them.
    in_flight: AtomicUsize,
    drained: Notify,
}

impl Shared {
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Marks a send as running, or `None` when shutting down. The count is taken before
    /// the flag is read, so shutdown never misses a send that passed the check.
    pub fn begin_send(self: &Arc<Self>) -> Option<InFlight> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self.clone());
        if self.is_closing() { None } else { Some(guard) }
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

/// The Socket.IO server: its handle, its tower layer and the shared state.
#[derive(Clone)]
pub struct Realtime {
    io: SocketIo,
    layer: SocketIoLayer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Realtime {
    /// Builds the Socket.IO server over the data layer and the REST half's limiter.
    pub fn new(db: Db, jwt: Arc<JwtKeys>, send_limiter: Arc<RateLimiter>) -> Realtime {
        let shared = Arc::new(Shared {
            db,
            jwt,
            send_limiter,
            typing_limiter: RateLimiter::new(TYPING_EVENTS_PER_SECOND),
            join_limiter: RateLimiter::new(JOIN_EVENTS_PER_SECOND),
            read_limiter: RateLimiter::new(READ_EVENTS_PER_SECOND),
            presence: Presence::default(),
            typing: Arc::new(TypingRegistry::default()),
            closing: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
        });
        let max = MAX_PAYLOAD_BYTES;
        let (layer, io) = SocketIo::builder()
            .req_path(SOCKET_IO_PATH)
            .transports([TransportType::Polling, TransportType::Websocket])
            // Polling bodies are bounded by max_payload; WebSocket frames are not (tungstenite
            // has its own limits, 64 MiB by default): bounding both the message and the frame
            // makes tungstenite refuse an oversize frame from its header, before reading it.
            .max_payload(max as u64)
            .ws_max_message_size(max)
            .ws_max_frame_size(max)
            .with_state(shared.clone())
            .build_layer();
        io.ns("/", handlers::on_connect.with(handlers::authenticate));
        Realtime { io, layer, shared }
    }

    /// The tower layer serving `/socket.io/` (mount it behind [`http_guard`]).
    pub fn layer(&self) -> SocketIoLayer {
        self.layer.clone()
    }

    pub fn io(&self) -> &SocketIo {
        &self.io
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
        if let Some(root) = root(&self.io) {
            broadcast(root.to(rooms), CONVERSATION_NEW, conversation).await;
        }
    }

    /// `message:new` to the conversation's room, for a message stored by the HTTP
    /// fallback (the socket path broadcasts itself). Also ends the sender's typing.
    pub async fn message_created(&self, message: &Message) {
        handlers::announce_message(&self.io, &self.shared, message).await;
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
        self.io.close().await;
        tracing::info!("shutdown: every socket disconnected");
    }
}

/// The root namespace's broadcast operator, or `None` once [`SocketIo::close`] has
/// removed it (shutdown): `SocketIo::to` would panic then, and disconnect handlers still
/// run after it.
pub(crate) fn root(io: &SocketIo) -> Option<BroadcastOperators> {
    io.of("/")
}

/// Emits to a set of rooms, logging (not hiding) a failure: with the local adapter an
/// emit only fails on serialisation; a full socket buffer drops that socket's copy, which
/// socketioxide reports itself.
pub(crate) async fn broadcast<T: Serialize + ?Sized>(
    op: BroadcastOperators,
    event: &'static str,
    data: &T,
) {
    if let Err(e) = op.emit(event, data).await {
        tracing::warn!(event, error = %e, "broadcast failed");
    }
}

/// Middleware in front of the Socket.IO layer: requests to `/socket.io/` carrying an
/// `Origin` outside the allowlist are refused with 403 before any Engine.IO handshake or
/// WebSocket upgrade (both transports); allowed cross-origin requests (the Expo dev
/// server) get CORS headers so that browser long-polling works. Other paths pass.
pub async fn http_guard(
    State(allowlist): State<Arc<OriginAllowlist>>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with(SOCKET_IO_PATH) {
        return next.run(request).await;
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    if !allowlist.allows(origin.as_ref()) {
        tracing::info!(origin = ?origin, "refused a Socket.IO request from a foreign origin");
        return crate::error::AppError::Forbidden("Origin not allowed".to_owned()).into_response();
    }
    let preflight = request.method() == Method::OPTIONS;
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
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
