//! The link: getting a transport and keeping it. A token from the app first; then a
//! WebSocket (Engine.IO open, Socket.IO CONNECT carrying the token, the heartbeat), or in
//! the HTTP-only mode the token alone. Between attempts it backs off; an auth error stops
//! it until a new token.
//!
//! The link knows nothing of conversations or the outbox: what a frame means to them comes
//! back as an [`Incoming`], and a lost connection is finished by the engine, which also
//! resets what was in flight.

use crate::text;
use chat_wire::UserId;
use chat_wire::event;

use super::ctx::Ctx;
use super::output::Output;
use crate::connection::{Backoff, ConnectionError, ConnectionState, ErrorKind};
use crate::ids::SocketId;
use crate::json::{self, Value};
use crate::protocol::{self, AckId, Packet, SocketPacket};
use crate::snapshot::ConnectionView;
use crate::time::Millis;
use crate::timer::{Timer, TimerTable};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    AwaitingToken,
    /// Socket asked for; waiting for the Engine.IO open packet.
    Opening(SocketId),
    /// CONNECT sent; waiting for its ack.
    Handshaking(SocketId),
    Connected(SocketId),
    /// HTTP-only mode, with a token: polling and posting. `confirmed` once a request got a
    /// successful answer (until then the state is `connecting`).
    Http {
        confirmed: bool,
    },
    /// Backing off; `Timer::Reconnect` is set.
    Waiting,
}

impl State {
    fn socket(self) -> Option<SocketId> {
        match self {
            State::Opening(s) | State::Handshaking(s) | State::Connected(s) => Some(s),
            _ => None,
        }
    }
}

/// Where joins and sends go now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Socket(SocketId),
    Http,
}

/// What a frame means to the rest of the engine.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// Nothing more to do (a ping answered, a frame ignored with a warning, ...).
    Handled,
    /// The Socket.IO handshake completed on this socket.
    Connected(SocketId),
    /// `message:new`, read on the hot path (once connected; native only).
    #[cfg(not(target_arch = "wasm32"))]
    MessageNew(chat_wire::Message),
    Event {
        name: String,
        args: Vec<Value>,
    },
    Ack {
        id: AckId,
        args: Vec<Value>,
    },
    /// The connection is over, for this reason.
    Lost(String),
    /// The server refused the token.
    AuthFailed(String),
}

#[derive(Debug)]
pub(crate) struct Link {
    state: State,
    /// The app wants a connection (`connect` called, `disconnect` not since).
    wanted: bool,
    /// The platform says the network is up (`handle_network`).
    online: bool,
    error: Option<ConnectionError>,
    backoff: Backoff,
    timers: TimerTable,
    /// pingInterval + pingTimeout of the current connection.
    heartbeat_ms: u64,
    token: Option<String>,
    user: Option<UserId>,
    next_socket: u64,
}

impl Link {
    pub(crate) fn new() -> Self {
        Link {
            state: State::Idle,
            wanted: false,
            online: true,
            error: None,
            backoff: Backoff::default(),
            timers: TimerTable::default(),
            heartbeat_ms: 0,
            token: None,
            user: None,
            next_socket: 0,
        }
    }

    // ---- What the rest of the engine reads -------------------------------------------

    pub(crate) fn state(&self) -> ConnectionState {
        match self.state {
            State::Idle | State::Waiting => match &self.error {
                Some(error) => ConnectionState::Error(error.clone()),
                None => ConnectionState::Disconnected,
            },
            State::AwaitingToken | State::Opening(_) | State::Handshaking(_) => {
                ConnectionState::Connecting
            }
            State::Connected(_) | State::Http { confirmed: true } => ConnectionState::Connected,
            State::Http { confirmed: false } => ConnectionState::Connecting,
        }
    }

    pub(crate) fn view(&self) -> ConnectionView {
        ConnectionView {
            state: self.state(),
            reconnect_at: self.timers.deadline(Timer::Reconnect),
            failed_attempts: self.backoff.attempts(),
        }
    }

    pub(crate) fn socket(&self) -> Option<SocketId> {
        self.state.socket()
    }

    /// The socket, once the handshake is done.
    pub(crate) fn connected_socket(&self) -> Option<SocketId> {
        match self.state {
            State::Connected(socket) => Some(socket),
            _ => None,
        }
    }

    pub(crate) fn route(&self) -> Option<Route> {
        match self.state {
            State::Connected(socket) => Some(Route::Socket(socket)),
            State::Http { .. } => Some(Route::Http),
            _ => None,
        }
    }

    pub(crate) fn is_http(&self) -> bool {
        matches!(self.state, State::Http { .. })
    }

    pub(crate) fn awaiting_token(&self) -> bool {
        self.state == State::AwaitingToken
    }

    pub(crate) fn user(&self) -> Option<UserId> {
        self.user
    }

    /// The token, for `Authorization: Bearer`.
    pub(crate) fn bearer(&self) -> Option<String> {
        self.token.clone()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        self.timers.next_timeout()
    }

    pub(crate) fn take_expired(&mut self, now: Millis) -> Option<Timer> {
        self.timers.take_expired(now)
    }

    // ---- Transitions -------------------------------------------------------------------

    /// `connect`: wanted from now on; an attempt starts unless one is under way.
    pub(crate) fn connect(&mut self, ctx: &mut Ctx) {
        self.wanted = true;
        self.error = None;
        if matches!(self.state, State::Idle | State::Waiting) {
            self.restart(ctx);
        }
    }

    /// `disconnect`: not wanted any more; tells the server if there is a socket. The
    /// engine then ends the connection.
    pub(crate) fn disconnect(&mut self, ctx: &mut Ctx) {
        self.wanted = false;
        if let Some(socket) = self.state.socket() {
            ctx.frame(socket, protocol::DISCONNECT_FRAME.to_owned());
        }
    }

    /// A new token from the app; true when the engine should open the link with it now.
    pub(crate) fn set_token(&mut self, ctx: &mut Ctx, token: String) -> bool {
        self.adopt_token(token);
        if self.error.take().is_some() {
            self.wanted = true;
        }
        match self.state {
            State::AwaitingToken => true,
            State::Idle | State::Waiting if self.wanted && self.online => {
                self.timers.stop(Timer::Reconnect);
                self.timers
                    .set(Timer::Connect, ctx.now + ctx.config.connect_timeout_ms);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn adopt_token(&mut self, token: String) {
        if let Some(user) = crate::token::user_id(&token) {
            self.user = Some(user);
        }
        self.token = Some(token);
    }

    /// The network changed; true when the engine must end the connection (offline).
    pub(crate) fn network(&mut self, ctx: &mut Ctx, online: bool) -> bool {
        self.online = online;
        if !online {
            return self.state != State::Idle;
        }
        self.resume(ctx);
        false
    }

    /// An attempt now if a connection is wanted, the network is up, no auth error stops it
    /// and none is under way (a backoff delay is cut short).
    pub(crate) fn resume(&mut self, ctx: &mut Ctx) {
        if self.online
            && self.wanted
            && matches!(self.state, State::Idle | State::Waiting)
            && self.error.is_none()
        {
            self.restart(ctx);
        }
    }

    /// A new attempt now, instead of at the end of the backoff.
    pub(crate) fn restart(&mut self, ctx: &mut Ctx) {
        self.timers.stop(Timer::Reconnect);
        self.state = State::Idle;
        self.start_attempt(ctx);
    }

    fn start_attempt(&mut self, ctx: &mut Ctx) {
        if !self.online || !self.wanted {
            return;
        }
        self.state = State::AwaitingToken;
        self.timers
            .set(Timer::Connect, ctx.now + ctx.config.connect_timeout_ms);
        ctx.output(Output::RequestToken);
    }

    pub(crate) fn open_socket(&mut self, ctx: &mut Ctx) {
        let socket = SocketId(self.next_socket);
        self.next_socket += 1;
        self.state = State::Opening(socket);
        ctx.output(Output::OpenSocket {
            socket,
            url: ctx.config.socket_url(),
        });
    }

    /// The HTTP-only mode's "connection": up once a request succeeds.
    pub(crate) fn enter_http(&mut self) {
        self.state = State::Http { confirmed: false };
        self.timers.stop(Timer::Connect);
    }

    /// An HTTP request succeeded: in the HTTP-only mode, the link works.
    pub(crate) fn confirm_http(&mut self) {
        if let State::Http { confirmed } = &mut self.state {
            *confirmed = true;
        }
    }

    pub(crate) fn socket_opened(&mut self, ctx: &mut Ctx, socket: SocketId) {
        if self.state != State::Opening(socket) {
            ctx.warn(text!("open of socket ", socket.0, " ignored: not current"));
        }
    }

    /// A frame on the current socket: the transport's own packets are handled here.
    pub(crate) fn handle_frame(
        &mut self,
        ctx: &mut Ctx,
        socket: SocketId,
        frame: &str,
    ) -> Incoming {
        // The hot path: a chat message, read straight into its type (anything else, or
        // before the handshake, goes the general way). Native only: the wasm build has
        // no room for it (docs/CLIENT.md, "Incoming messages").
        #[cfg(not(target_arch = "wasm32"))]
        if let State::Connected(_) = self.state
            && let Some(message) = protocol::message_new(frame)
        {
            self.heard(ctx);
            return Incoming::MessageNew(message);
        }
        let packet = match protocol::decode(frame) {
            Ok(packet) => packet,
            Err(e) => {
                ctx.warn(text!("frame ignored: ", e.describe()));
                return Incoming::Handled;
            }
        };
        self.heard(ctx);
        match packet {
            Packet::Open(open) => {
                if self.state != State::Opening(socket) {
                    ctx.warn("open packet ignored: already open".into());
                    return Incoming::Handled;
                }
                self.heartbeat_ms = open.ping_interval.saturating_add(open.ping_timeout);
                self.timers
                    .set(Timer::Heartbeat, ctx.now + self.heartbeat_ms);
                let token = self.token.clone().unwrap_or_default();
                let auth = json::object(vec![("token", token.into())]);
                ctx.frame(socket, protocol::connect_frame(&auth));
                self.state = State::Handshaking(socket);
                Incoming::Handled
            }
            Packet::Close => Incoming::Lost("server closed the transport".into()),
            Packet::Ping(data) => {
                ctx.frame(socket, protocol::pong_frame(&data));
                Incoming::Handled
            }
            Packet::Pong(_) | Packet::Noop => Incoming::Handled,
            Packet::Message(SocketPacket::Connect(_)) => {
                if self.state == State::Handshaking(socket) {
                    self.state = State::Connected(socket);
                    self.timers.stop(Timer::Connect);
                    self.backoff.reset();
                    Incoming::Connected(socket)
                } else {
                    ctx.warn("CONNECT ack ignored: not handshaking".into());
                    Incoming::Handled
                }
            }
            Packet::Message(SocketPacket::ConnectError { message }) => {
                if message == event::AUTH_TOKEN_REQUIRED || message == event::AUTH_INVALID_TOKEN {
                    Incoming::AuthFailed(message)
                } else {
                    Incoming::Lost(text!("connect error: ", message))
                }
            }
            Packet::Message(SocketPacket::Disconnect) => {
                Incoming::Lost("server disconnected the socket".into())
            }
            Packet::Message(SocketPacket::Event { name, args, .. }) => {
                if matches!(self.state, State::Connected(_)) {
                    Incoming::Event { name, args }
                } else {
                    ctx.warn(text!("event ", name, " before the handshake ignored"));
                    Incoming::Handled
                }
            }
            Packet::Message(SocketPacket::Ack { id, args }) => Incoming::Ack { id, args },
        }
    }

    /// A frame arrived: the server is alive.
    fn heard(&mut self, ctx: &Ctx) {
        if matches!(self.state, State::Handshaking(_) | State::Connected(_)) {
            self.timers
                .set(Timer::Heartbeat, ctx.now + self.heartbeat_ms);
        }
    }

    /// The link's part of a lost connection (or attempt): close the socket if asked, and
    /// back off (if still wanted and online).
    pub(crate) fn lose(&mut self, ctx: &mut Ctx, reason: &str, close: bool) {
        let had_link = !matches!(self.state, State::Idle | State::Waiting);
        if let Some(socket) = self.state.socket()
            && close
        {
            ctx.output(Output::CloseSocket { socket });
        }
        if had_link {
            ctx.warn(text!("connection lost: ", reason));
        }
        let was_connected = matches!(
            self.state,
            State::Connected(_) | State::Http { confirmed: true }
        );
        self.timers.stop(Timer::Connect);
        self.timers.stop(Timer::Heartbeat);
        if was_connected {
            self.backoff.reset();
        }
        if had_link && self.wanted && self.online {
            let delay = self.backoff.next_delay(&ctx.config, &mut ctx.rng);
            self.timers.set(Timer::Reconnect, ctx.now + delay);
            self.state = State::Waiting;
        } else if self.state != State::Waiting || !self.wanted || !self.online {
            self.timers.stop(Timer::Reconnect);
            self.state = State::Idle;
        }
    }

    /// After the connection was lost to an auth failure: no retrying until a new token.
    pub(crate) fn fail_auth(&mut self, message: String) {
        self.timers.stop(Timer::Reconnect);
        self.state = State::Idle;
        self.error = Some(ConnectionError {
            code: ErrorKind::Auth,
            message,
        });
    }
}
