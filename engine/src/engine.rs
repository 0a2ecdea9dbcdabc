//! The [`Engine`]: the connection state machine, the outbox, the conversations and their
//! sync, driven by `handle_*` inputs and app commands, drained through `poll_*`.

use chat_wire::event;
use chat_wire::socket::{Ack, AckFailure, Conversation, JoinAck, SendAck, Typing};
use chat_wire::{ConversationId, ErrorCode, Message, MessageId, UserId};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::connection::{Backoff, ConnectionError, ConnectionState, ErrorKind};
use crate::ids::{ClientMessageId, RequestId, SocketId};
use crate::json::{self, Value};
use crate::outbox::{Outbox, SendState, StorageError};
use crate::protocol::{self, AckId, Packet, SocketPacket};
use crate::snapshot::{ConnectionView, ConversationView, Conversations, Snapshot};
use crate::time::Millis;
use crate::timeline::{Inserted, MessageStatus, MessageView, Timeline};
use crate::timer::{Timer, TimerTable};
use crate::vecmap::{VecMap, VecSet};

/// Something the driver must do or tell the app, in the order the engine produced it.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open a WebSocket to `url`; report with `handle_socket_open` / `_frame` / `_closed`.
    OpenSocket { socket: SocketId, url: String },
    /// Send one text frame on `socket`.
    SendFrame { socket: SocketId, text: String },
    /// Close `socket`; the engine has already forgotten it (no `handle_socket_closed` needed).
    CloseSocket { socket: SocketId },
    /// Ask the app for a fresh token and answer with [`Engine::handle_token`].
    RequestToken,
    /// Make an HTTP request; answer with `handle_http_response` or `handle_http_failed`.
    Http(HttpRequest),
    /// Tell the app.
    Event(Event),
}

/// An HTTP request: history pages (`GET`), and sends in the HTTP-only mode (`POST`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub id: RequestId,
    /// `GET` or `POST`.
    pub method: &'static str,
    pub url: String,
    /// Send as `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// A JSON body (`Content-Type: application/json`), for `POST`.
    pub body: Option<String>,
}

/// What the app hears about.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The connection state changed.
    StateChanged(ConnectionState),
    /// A message arrived that the timeline did not have (from `message:new`).
    MessageReceived(Arc<MessageView>),
    /// The conversation's view was replaced.
    ConversationChanged(ConversationId),
    /// Someone started or stopped typing.
    Typing {
        conversation: ConversationId,
        user: UserId,
        typing: bool,
    },
    /// Someone came online or went offline.
    Presence { user: UserId, online: bool },
    /// A conversation including this user was created (`conversation:new`).
    ConversationNew(Conversation),
    /// Joining failed (e.g. `forbidden`); the conversation is left.
    JoinFailed {
        conversation: ConversationId,
        code: ErrorCode,
    },
    /// One of this client's messages is stored on the server (its ack, echo or a history
    /// page said so): `send`'s promise, so to speak, is kept.
    Sent {
        client_message_id: ClientMessageId,
        conversation: ConversationId,
        message: MessageId,
        seq: i64,
    },
    /// A message is `failed` (tries used up: `code` is `None`; or refused with `code`).
    SendFailed {
        client_message_id: ClientMessageId,
        code: Option<ErrorCode>,
    },
    /// The outbox changed: store [`Engine::save_outbox`] now.
    OutboxChanged,
    /// Something from the network was ignored or ended the connection; for the log.
    Warning(String),
}

/// Why `send` refused a message at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The text breaks the rule of SPEC.md section 2.
    Text(chat_wire::text::TextError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Text(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SendError {}

/// The client engine. See the crate doc for the run loop.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    rng: fastrand::Rng,
    now: Millis,
    link: Link,
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
    next_ack: u64,
    next_request: u64,
    acks: VecMap<AckId, AckWait>,
    requests: VecMap<RequestId, HistoryRequest>,
    /// HTTP-only mode: sends in flight as `POST`s, by request, with the ack id their
    /// outbox entry waits on (so a late answer to an older try is told apart).
    http_sends: VecMap<RequestId, (AckId, ClientMessageId)>,
    /// HTTP-only mode: when history is polled next.
    next_poll: Option<Millis>,
    conversations: VecMap<ConversationId, ConversationState>,
    outbox: Outbox,
    pending_reads: Vec<MessageId>,
    outputs: VecDeque<Output>,
    dirty: VecSet<ConversationId>,
    outbox_dirty: bool,
    snapshot: Arc<Snapshot>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
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

impl Link {
    fn socket(self) -> Option<SocketId> {
        match self {
            Link::Opening(s) | Link::Handshaking(s) | Link::Connected(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
enum AckWait {
    Join(ConversationId),
    Leave,
    Send(ClientMessageId),
    Read,
}

#[derive(Clone, Copy, Debug)]
struct HistoryRequest {
    conversation: ConversationId,
    kind: HistoryKind,
    deadline: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HistoryKind {
    /// Catching up: `afterSeq`.
    After(i64),
    /// An older page: `beforeSeq`.
    Before(i64),
    /// HTTP-only mode's first look at a conversation: the newest page.
    Latest,
}

/// Where a conversation stands on the current connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sync {
    NotJoined,
    Joining {
        ack: AckId,
        deadline: Millis,
    },
    /// Joined; fetching what was missed before the outbox may flush.
    Backfilling,
    Synced,
}

#[derive(Clone, Debug)]
struct ConversationState {
    /// Joined by the app (and rejoined on every connection).
    active: bool,
    timeline: Timeline,
    sync: Sync,
    /// Every seq up to this one has been seen; `None` before the first join.
    contiguous: Option<i64>,
    /// The highest seq seen.
    max_seen: i64,
    backfill: Option<RequestId>,
    backfill_retry_at: Option<Millis>,
    older: Option<RequestId>,
    /// Own typing: when `typing:start` was last sent and when `typing:stop` is due.
    typing_out: Option<(Millis, Millis)>,
    /// Others typing, until when.
    typing_in: VecMap<UserId, Millis>,
    online: VecSet<UserId>,
    /// Users known to be in the conversation (so `user:online` can be placed).
    participants: VecSet<UserId>,
}

impl ConversationState {
    fn new(config: &Config) -> Self {
        ConversationState {
            active: false,
            timeline: Timeline::new(config.timeline_capacity),
            sync: Sync::NotJoined,
            contiguous: None,
            max_seen: 0,
            backfill: None,
            backfill_retry_at: None,
            older: None,
            typing_out: None,
            typing_in: VecMap::new(),
            online: VecSet::new(),
            participants: VecSet::new(),
        }
    }

    fn view(&self, id: ConversationId) -> ConversationView {
        ConversationView {
            id,
            messages: self.timeline.views(),
            typing_user_ids: self.typing_in.keys().copied().collect(),
            online_user_ids: self.online.iter().copied().collect(),
            has_older: self.timeline.has_older,
            loading_older: self.older.is_some(),
            synced: self.sync == Sync::Synced,
        }
    }
}

impl Engine {
    /// A disconnected engine with an empty outbox. `seed` drives every random choice
    /// (jitter, client message ids): one seed, one run.
    pub fn new(config: Config, seed: u64) -> Self {
        Engine {
            config,
            rng: fastrand::Rng::with_seed(seed),
            now: Millis(0),
            link: Link::Idle,
            wanted: false,
            online: true,
            error: None,
            backoff: Backoff::default(),
            timers: TimerTable::default(),
            heartbeat_ms: 0,
            token: None,
            user: None,
            next_socket: 0,
            next_ack: 0,
            next_request: 0,
            acks: VecMap::new(),
            requests: VecMap::new(),
            http_sends: VecMap::new(),
            next_poll: None,
            conversations: VecMap::new(),
            outbox: Outbox::default(),
            pending_reads: Vec::new(),
            outputs: VecDeque::new(),
            dirty: VecSet::new(),
            outbox_dirty: false,
            snapshot: Arc::new(Snapshot {
                version: 0,
                connection: ConnectionView {
                    state: ConnectionState::Disconnected,
                    reconnect_at: None,
                    failed_attempts: 0,
                },
                conversations: Conversations::default(),
                outbox_len: 0,
            }),
        }
    }

    // ---- Getters -------------------------------------------------------------------

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        match self.link {
            Link::Idle | Link::Waiting => match &self.error {
                Some(error) => ConnectionState::Error(error.clone()),
                None => ConnectionState::Disconnected,
            },
            Link::AwaitingToken | Link::Opening(_) | Link::Handshaking(_) => {
                ConnectionState::Connecting
            }
            Link::Connected(_) | Link::Http { confirmed: true } => ConnectionState::Connected,
            Link::Http { confirmed: false } => ConnectionState::Connecting,
        }
    }

    /// The socket the engine is using, if any.
    pub fn socket(&self) -> Option<SocketId> {
        self.link.socket()
    }

    /// The current snapshot (cheap: an `Arc`).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.clone()
    }

    /// The snapshot's version.
    pub fn version(&self) -> u64 {
        self.snapshot.version
    }

    /// One conversation's view, if the engine knows the conversation.
    pub fn conversation(&self, id: ConversationId) -> Option<Arc<ConversationView>> {
        self.snapshot.conversations.get(&id).cloned()
    }

    /// The user the token names (its `userId` claim), once a token was given.
    pub fn user(&self) -> Option<UserId> {
        self.user
    }

    /// The outbox as a string, for `localStorage`; store it on [`Event::OutboxChanged`].
    pub fn save_outbox(&self) -> String {
        self.outbox.save()
    }

    /// Messages whose send is waiting for an ack, a retry or the connection (not failed).
    pub fn sending_ids(&self) -> Vec<ClientMessageId> {
        self.outbox
            .entries()
            .iter()
            .filter(|e| !matches!(e.state, SendState::Failed { .. }))
            .map(|e| e.id.clone())
            .collect()
    }

    /// Messages `failed` until `retry`.
    pub fn failed_ids(&self) -> Vec<ClientMessageId> {
        self.outbox
            .entries()
            .iter()
            .filter(|e| matches!(e.state, SendState::Failed { .. }))
            .map(|e| e.id.clone())
            .collect()
    }

    // ---- Outputs -------------------------------------------------------------------

    /// The next thing to do. Drain until `None` after every input or command.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Engine::handle_timeout`] must be called next (at the latest).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mut next = self.timers.next_timeout();
        let mut consider = |at: Option<Millis>| {
            if let Some(at) = at {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        consider(self.outbox.next_deadline());
        consider(self.requests.values().map(|r| r.deadline).min());
        consider(self.next_poll);
        for conversation in self.conversations.values() {
            if let Sync::Joining { deadline, .. } = conversation.sync {
                consider(Some(deadline));
            }
            consider(conversation.backfill_retry_at);
            consider(conversation.typing_out.map(|(_, stop)| stop));
            consider(conversation.typing_in.values().min().copied());
        }
        next
    }

    // ---- Inputs --------------------------------------------------------------------

    /// Time passed: fire every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.tick(now);
        let now = self.now;
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                Timer::Connect => self.lose_connection("connect timed out", true),
                Timer::Heartbeat => self.lose_connection("server silent (heartbeat timeout)", true),
                Timer::Reconnect => {
                    self.link = Link::Idle;
                    self.start_attempt();
                }
            }
        }
        self.expire_requests();
        self.expire_conversations();
        self.expire_sends();
        self.poll_history();
        self.publish();
    }

    /// The answer to [`Output::RequestToken`]: `None` when the app has none (an auth error).
    pub fn handle_token(&mut self, now: Millis, token: Option<String>) {
        self.tick(now);
        if self.link != Link::AwaitingToken {
            self.warn("token given while none was asked for".into());
        } else {
            match token {
                Some(token) => {
                    self.adopt_token(token);
                    self.open_link();
                }
                None => self.auth_failure(event::AUTH_TOKEN_REQUIRED.to_owned()),
            }
        }
        self.publish();
    }

    /// The app could not produce a token this time (its callback failed, as opposed to
    /// having none): the attempt fails and is retried after the backoff.
    pub fn handle_token_failed(&mut self, now: Millis) {
        self.tick(now);
        if self.link == Link::AwaitingToken {
            self.lose_connection("no token (the app's token callback failed)", false);
        }
        self.publish();
    }

    /// The driver's socket opened. (The engine waits for the Engine.IO open packet.)
    pub fn handle_socket_open(&mut self, now: Millis, socket: SocketId) {
        self.tick(now);
        if self.link != Link::Opening(socket) {
            self.warn(format!("open of socket {} ignored: not current", socket.0));
        }
        self.publish();
    }

    /// A text frame arrived on `socket`.
    pub fn handle_frame(&mut self, now: Millis, socket: SocketId, frame: &str) {
        self.tick(now);
        if self.link.socket() == Some(socket) {
            self.on_frame(socket, frame);
        } else {
            self.warn(format!("frame on stale socket {} ignored", socket.0));
        }
        self.publish();
    }

    /// The socket closed or failed (whoever closed it).
    pub fn handle_socket_closed(&mut self, now: Millis, socket: SocketId) {
        self.tick(now);
        if self.link.socket() == Some(socket) {
            self.lose_connection("socket closed", false);
        }
        self.publish();
    }

    /// An HTTP response (any status) to request `id`.
    pub fn handle_http_response(&mut self, now: Millis, id: RequestId, status: u16, body: &str) {
        self.tick(now);
        if (200..300).contains(&status)
            && let Link::Http { confirmed } = &mut self.link
        {
            *confirmed = true;
        }
        if let Some((ack, message)) = self.http_sends.remove(&id) {
            self.on_post_answer(ack, &message, status, body);
            self.publish();
            return;
        }
        if self.http_mode() && status == 401 {
            self.requests.remove(&id);
            self.auth_failure(event::AUTH_INVALID_TOKEN.to_owned());
            self.publish();
            return;
        }
        match self.requests.remove(&id) {
            None => self.warn(format!("response to unknown request {}", id.0)),
            Some(request) => {
                let page = if status == 200 {
                    json::history_page(body).ok_or_else(|| "history page unreadable".to_owned())
                } else {
                    Err(format!("history request answered {status}"))
                };
                match page {
                    Ok(page) => self.on_history(request, page),
                    // HTTP-only mode's join is a history request: 403 is a refused join.
                    Err(_)
                        if status == 403
                            && self.http_mode()
                            && !matches!(request.kind, HistoryKind::Before(_)) =>
                    {
                        if let Some(state) = self.conversations.get_mut(&request.conversation) {
                            state.backfill = None;
                        }
                        self.on_join_refused(
                            request.conversation,
                            AckFailure {
                                success: chat_wire::socket::False,
                                error: "not a participant".into(),
                                code: ErrorCode::Forbidden,
                                retry_after_ms: None,
                            },
                        );
                    }
                    Err(reason) => self.history_failed(request, reason),
                }
            }
        }
        self.publish();
    }

    /// The HTTP request `id` failed without a response.
    pub fn handle_http_failed(&mut self, now: Millis, id: RequestId) {
        self.tick(now);
        let send = self.http_sends.remove(&id).is_some();
        let history = self.requests.remove(&id);
        if let Some(request) = history {
            self.history_failed(request, "history request failed".into());
        }
        // In the HTTP-only mode requests are the connection: no answer means no network.
        if self.http_mode() && (send || history.is_some()) {
            self.lose_connection("HTTP request failed", false);
        }
        self.publish();
    }

    /// The platform's network went down (`offline`: the socket closes at once and no
    /// attempt is made) or came back (`online`: reconnect at once).
    pub fn handle_network(&mut self, now: Millis, online: bool) {
        self.tick(now);
        self.online = online;
        if !online {
            if self.link != Link::Idle {
                self.lose_connection("network offline", true);
            }
        } else if self.wanted
            && matches!(self.link, Link::Idle | Link::Waiting)
            && self.error.is_none()
        {
            self.timers.stop(Timer::Reconnect);
            self.link = Link::Idle;
            self.start_attempt();
        }
        self.publish();
    }

    // ---- Commands ------------------------------------------------------------------

    /// Connect (and stay connected, reconnecting, until `disconnect`).
    pub fn connect(&mut self, now: Millis) {
        self.tick(now);
        self.wanted = true;
        self.error = None;
        if matches!(self.link, Link::Idle | Link::Waiting) {
            self.timers.stop(Timer::Reconnect);
            self.link = Link::Idle;
            self.start_attempt();
        }
        self.publish();
    }

    /// Close the connection and stay disconnected.
    pub fn disconnect(&mut self, now: Millis) {
        self.tick(now);
        self.wanted = false;
        if let Some(socket) = self.link.socket() {
            self.push_frame(socket, protocol::DISCONNECT_FRAME.to_owned());
        }
        self.lose_connection("disconnected by the app", true);
        self.publish();
    }

    /// A new token (after a login or a refresh): leaves an auth error and connects with it.
    pub fn set_token(&mut self, now: Millis, token: String) {
        self.tick(now);
        self.adopt_token(token);
        let was_auth_error = self.error.take().is_some();
        if was_auth_error {
            self.wanted = true;
        }
        match self.link {
            Link::AwaitingToken => self.open_link(),
            Link::Idle | Link::Waiting if self.wanted && self.online => {
                self.timers.stop(Timer::Reconnect);
                self.timers
                    .set(Timer::Connect, self.now + self.config.connect_timeout_ms);
                self.open_link();
            }
            _ => {}
        }
        self.publish();
    }

    /// Follow a conversation: join it now and on every reconnection, keep it in sync.
    pub fn join(&mut self, now: Millis, conversation: ConversationId) {
        self.tick(now);
        self.activate(conversation);
        self.publish();
    }

    /// Stop following a conversation. Its messages stay in memory; queued sends wait
    /// until it is joined again.
    pub fn leave(&mut self, now: Millis, conversation: ConversationId) {
        self.tick(now);
        let connected = self.link;
        if let Some(state) = self.conversations.get_mut(&conversation)
            && state.active
        {
            state.active = false;
            state.sync = Sync::NotJoined;
            state.typing_in.clear();
            state.typing_out = None;
            state.online.clear();
            self.dirty.insert(conversation);
            if let Link::Connected(socket) = connected {
                let ack = self.register_ack(AckWait::Leave);
                let frame = protocol::encode_event(
                    Some(ack),
                    event::CONVERSATION_LEAVE,
                    vec![conversation.0.into()],
                );
                self.push_frame(socket, frame);
            }
        }
        self.publish();
    }

    /// Who is in the conversation (from `GET /api/conversations`): `user:online` and
    /// `user:offline` name only a user, so the engine places them by participants.
    pub fn set_participants(
        &mut self,
        now: Millis,
        conversation: ConversationId,
        users: &[UserId],
    ) {
        self.tick(now);
        let config = &self.config;
        self.conversations
            .entry(conversation)
            .or_insert_with(|| ConversationState::new(config))
            .participants
            .extend(users.iter().copied());
        self.publish();
    }

    /// Send a message: returns its `clientMessageId` at once; it shows as `sending`.
    pub fn send(
        &mut self,
        now: Millis,
        conversation: ConversationId,
        text: &str,
    ) -> Result<ClientMessageId, SendError> {
        self.tick(now);
        chat_wire::text::validate_text(text).map_err(SendError::Text)?;
        let id = ClientMessageId::generate(&mut self.rng);
        let order = self.outbox.push(id.clone(), conversation, text.to_owned());
        self.outbox_dirty = true;
        self.stop_typing(conversation);
        let user = self.user;
        let config = &self.config;
        self.conversations
            .entry(conversation)
            .or_insert_with(|| ConversationState::new(config))
            .timeline
            .upsert_pending(order, &id, text, user, MessageStatus::Sending);
        self.dirty.insert(conversation);
        self.activate(conversation);
        self.flush(conversation);
        self.publish();
        Ok(id)
    }

    /// Try a `failed` message again (four new tries, at the end of its conversation's
    /// queue). False if `id` is not a failed message.
    pub fn retry(&mut self, now: Millis, id: &ClientMessageId) -> bool {
        self.tick(now);
        let order = self.outbox.take_order();
        let Some(entry) = self.outbox.entry_mut(id) else {
            self.publish();
            return false;
        };
        if !matches!(entry.state, SendState::Failed { .. }) {
            self.publish();
            return false;
        }
        entry.state = SendState::Queued;
        entry.lost_tries = 0;
        entry.order = order;
        let (conversation, text) = (entry.conversation, entry.text.clone());
        self.outbox_dirty = true;
        let user = self.user;
        let config = &self.config;
        self.conversations
            .entry(conversation)
            .or_insert_with(|| ConversationState::new(config))
            .timeline
            .upsert_pending(order, id, &text, user, MessageStatus::Sending);
        self.dirty.insert(conversation);
        self.activate(conversation);
        self.flush(conversation);
        self.publish();
        true
    }

    /// A keystroke in `conversation`'s input.
    pub fn typing(&mut self, now: Millis, conversation: ConversationId) {
        self.tick(now);
        let now = self.now;
        let (coalesce, stop_after) = (self.config.typing_coalesce_ms, self.config.typing_stop_ms);
        if let (Link::Connected(socket), Some(state)) =
            (self.link, self.conversations.get_mut(&conversation))
            && state.active
        {
            let start_due = state
                .typing_out
                .is_none_or(|(last_start, _)| now.since(last_start) >= coalesce);
            let last_start = match state.typing_out {
                Some((last, _)) if !start_due => last,
                _ => now,
            };
            state.typing_out = Some((last_start, now + stop_after));
            if start_due {
                let frame =
                    protocol::encode_event(None, event::TYPING_START, vec![conversation.0.into()]);
                self.push_frame(socket, frame);
            }
        }
        self.publish();
    }

    /// Tell the sender that `message` was read (sent now, or on the next connection).
    pub fn mark_read(&mut self, now: Millis, message: MessageId) {
        self.tick(now);
        if let Link::Connected(socket) = self.link {
            self.emit_read(socket, message);
        } else if !self.pending_reads.contains(&message) {
            self.pending_reads.push(message);
        }
        self.publish();
    }

    /// Fetch the page before the oldest message shown. False if there is nothing to
    /// fetch or a fetch is under way.
    pub fn load_older(&mut self, now: Millis, conversation: ConversationId) -> bool {
        self.tick(now);
        let started = match self.conversations.get(&conversation) {
            Some(state) if state.older.is_none() && state.timeline.has_older => {
                let before = state.timeline.oldest_seq().unwrap_or(state.max_seen + 1);
                self.request_history(conversation, HistoryKind::Before(before));
                true
            }
            _ => false,
        };
        self.publish();
        started
    }

    /// Restore the outbox stored by [`Engine::save_outbox`] (call before `connect`).
    /// Bad data is an error and leaves the outbox as it was.
    pub fn restore_outbox(&mut self, now: Millis, stored: &str) -> Result<usize, StorageError> {
        self.tick(now);
        let restored = Outbox::restore(stored);
        let result = restored.map(|outbox| {
            let count = outbox.entries().len();
            self.outbox = outbox;
            let entries: Vec<_> = self.outbox.entries().to_vec();
            for entry in entries {
                let status = match entry.state {
                    SendState::Failed { .. } => MessageStatus::Failed,
                    _ => MessageStatus::Sending,
                };
                let user = self.user;
                let config = &self.config;
                self.conversations
                    .entry(entry.conversation)
                    .or_insert_with(|| ConversationState::new(config))
                    .timeline
                    .upsert_pending(entry.order, &entry.id, &entry.text, user, status);
                self.dirty.insert(entry.conversation);
                if status == MessageStatus::Sending {
                    self.activate(entry.conversation);
                }
            }
            count
        });
        self.publish();
        result
    }
}

// ---- The machinery -----------------------------------------------------------------

impl Engine {
    fn tick(&mut self, now: Millis) {
        self.now = self.now.max(now);
    }

    fn warn(&mut self, reason: String) {
        self.outputs
            .push_back(Output::Event(Event::Warning(reason)));
    }

    fn push_frame(&mut self, socket: SocketId, text: String) {
        self.outputs.push_back(Output::SendFrame { socket, text });
    }

    fn register_ack(&mut self, wait: AckWait) -> AckId {
        let id = AckId(self.next_ack);
        self.next_ack += 1;
        self.acks.insert(id, wait);
        id
    }

    fn adopt_token(&mut self, token: String) {
        if let Some(user) = crate::token::user_id(&token) {
            self.user = Some(user);
        }
        self.token = Some(token);
    }

    fn start_attempt(&mut self) {
        if !self.online || !self.wanted {
            return;
        }
        self.link = Link::AwaitingToken;
        self.timers
            .set(Timer::Connect, self.now + self.config.connect_timeout_ms);
        self.outputs.push_back(Output::RequestToken);
    }

    fn http_mode(&self) -> bool {
        self.config.http_poll_ms.is_some()
    }

    /// With a token in hand: a socket, or (HTTP-only mode) straight to polling.
    fn open_link(&mut self) {
        if self.http_mode() {
            self.enter_http();
        } else {
            self.open_socket();
        }
    }

    /// The HTTP-only mode's "connection": look at every active conversation and start
    /// polling. Typing and read receipts have no REST route and are not sent.
    fn enter_http(&mut self) {
        self.link = Link::Http { confirmed: false };
        self.timers.stop(Timer::Connect);
        self.next_poll = self.config.http_poll_ms.map(|ms| self.now + ms);
        self.pending_reads.clear();
        let active: Vec<_> = self
            .conversations
            .iter()
            .filter(|(_, state)| state.active)
            .map(|(id, _)| *id)
            .collect();
        for conversation in active {
            self.http_join(conversation);
        }
    }

    /// HTTP-only mode's join: catch up (or, the first time, load the newest page); the
    /// conversation is synced when the answer comes.
    fn http_join(&mut self, conversation: ConversationId) {
        if let Some(state) = self.conversations.get_mut(&conversation) {
            state.sync = Sync::Backfilling;
            // A new "connection" asks at once, not at the last one's retry time.
            state.backfill_retry_at = None;
            self.dirty.insert(conversation);
        }
        self.ensure_backfill(conversation);
    }

    /// HTTP-only mode: every `http_poll_ms`, ask for what came after the highest seq seen.
    fn poll_history(&mut self) {
        let (Some(ms), Some(at)) = (self.config.http_poll_ms, self.next_poll) else {
            return;
        };
        if at > self.now || !matches!(self.link, Link::Http { .. }) {
            return;
        }
        self.next_poll = Some(self.now + ms);
        let synced: Vec<_> = self
            .conversations
            .iter()
            .filter(|(_, state)| state.active && state.sync == Sync::Synced)
            .map(|(id, _)| *id)
            .collect();
        for conversation in synced {
            self.ensure_backfill(conversation);
        }
    }

    /// HTTP-only mode: send the outbox entry `id` as `POST /api/conversations/:id/messages`
    /// (the server's idempotency on `clientMessageId` makes a repeated try safe).
    fn post_send(&mut self, id: &ClientMessageId) {
        let Some(entry) = self.outbox.entry(id) else {
            return;
        };
        let body = json::send_message(id.as_str(), &entry.text);
        let url = self.config.api_url(&format!(
            "/api/conversations/{}/messages",
            entry.conversation
        ));
        let ack = self.register_ack(AckWait::Send(id.clone()));
        let request = RequestId(self.next_request);
        self.next_request += 1;
        self.http_sends.insert(request, (ack, id.clone()));
        self.outputs.push_back(Output::Http(HttpRequest {
            id: request,
            method: "POST",
            url,
            bearer: self.token.clone(),
            body: Some(json::write(&body)),
        }));
        let deadline = self.now + self.config.ack_timeout_ms;
        if let Some(entry) = self.outbox.entry_mut(id) {
            entry.state = SendState::InFlight { ack, deadline };
        }
    }

    /// The answer to a `POST` of a message: the stored message (201, or 200 for a repeat),
    /// or an error answered like the matching failed ack.
    fn on_post_answer(&mut self, ack: AckId, id: &ClientMessageId, status: u16, body: &str) {
        self.acks.remove(&ack);
        if status == 200 || status == 201 {
            match json::parse(body).as_ref().and_then(json::message) {
                Some(message) => self.on_sent(
                    id,
                    SendAck {
                        success: chat_wire::socket::True,
                        message_id: message.id,
                        seq: message.seq,
                        created_at: message.created_at,
                    },
                ),
                None => {
                    self.warn("send answer unreadable".into());
                    self.lose_try(id);
                }
            }
            return;
        }
        if status == 401 {
            return self.auth_failure(event::AUTH_INVALID_TOKEN.to_owned());
        }
        let error = json::api_error(body);
        let code = match (status, &error) {
            (_, Some(error)) => error.error.code,
            (429, None) => ErrorCode::RateLimited,
            (403, None) => ErrorCode::Forbidden,
            (400, None) => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        };
        let failure = AckFailure {
            success: chat_wire::socket::False,
            error: error.map(|e| e.error.message).unwrap_or_default(),
            code,
            retry_after_ms: None,
        };
        self.on_send_refused(id, ack, failure);
    }

    fn open_socket(&mut self) {
        let socket = SocketId(self.next_socket);
        self.next_socket += 1;
        self.link = Link::Opening(socket);
        self.outputs.push_back(Output::OpenSocket {
            socket,
            url: self.config.socket_url(),
        });
    }

    fn auth_failure(&mut self, message: String) {
        self.lose_connection(&format!("authentication failed: {message}"), true);
        self.timers.stop(Timer::Reconnect);
        self.link = Link::Idle;
        self.error = Some(ConnectionError {
            code: ErrorKind::Auth,
            message,
        });
    }

    /// The connection (or the attempt) is over: forget the socket and what was in flight
    /// on it, freeze the outbox, and back off (if still wanted and online).
    fn lose_connection(&mut self, reason: &str, close: bool) {
        let had_link = self.link != Link::Idle && self.link != Link::Waiting;
        if let Some(socket) = self.link.socket()
            && close
        {
            self.outputs.push_back(Output::CloseSocket { socket });
        }
        if had_link {
            self.warn(format!("connection lost: {reason}"));
        }
        let was_connected = matches!(
            self.link,
            Link::Connected(_) | Link::Http { confirmed: true }
        );
        self.next_poll = None;
        self.http_sends.clear();
        self.timers.stop(Timer::Connect);
        self.timers.stop(Timer::Heartbeat);
        self.acks.clear();
        let now = self.now;
        for entry in self.outbox.entries_mut() {
            entry.state = match entry.state {
                SendState::InFlight { .. } => SendState::Queued,
                SendState::Waiting { until } => SendState::Paused {
                    remaining: until.since(now),
                },
                ref other => other.clone(),
            };
        }
        for (id, state) in &mut self.conversations {
            if state.sync != Sync::NotJoined
                || !state.typing_in.is_empty()
                || !state.online.is_empty()
            {
                self.dirty.insert(*id);
            }
            state.sync = Sync::NotJoined;
            state.typing_out = None;
            state.typing_in.clear();
            state.online.clear();
        }
        if was_connected {
            self.backoff.reset();
        }
        if had_link && self.wanted && self.online {
            let delay = self.backoff.next_delay(&self.config, &mut self.rng);
            self.timers.set(Timer::Reconnect, now + delay);
            self.link = Link::Waiting;
        } else if self.link != Link::Waiting || !self.wanted || !self.online {
            self.timers.stop(Timer::Reconnect);
            self.link = Link::Idle;
        }
    }

    fn on_frame(&mut self, socket: SocketId, frame: &str) {
        let packet = match protocol::decode(frame) {
            Ok(packet) => packet,
            Err(e) => return self.warn(format!("frame ignored: {e}")),
        };
        if matches!(self.link, Link::Handshaking(_) | Link::Connected(_)) {
            self.timers
                .set(Timer::Heartbeat, self.now + self.heartbeat_ms);
        }
        match packet {
            Packet::Open(open) => {
                if self.link != Link::Opening(socket) {
                    return self.warn("open packet ignored: already open".into());
                }
                self.heartbeat_ms = open.ping_interval.saturating_add(open.ping_timeout);
                self.timers
                    .set(Timer::Heartbeat, self.now + self.heartbeat_ms);
                let auth = json::object(vec![(
                    "token",
                    self.token.clone().unwrap_or_default().into(),
                )]);
                self.push_frame(socket, protocol::connect_frame(&auth));
                self.link = Link::Handshaking(socket);
            }
            Packet::Close => self.lose_connection("server closed the transport", true),
            Packet::Ping(data) => self.push_frame(socket, protocol::pong_frame(&data)),
            Packet::Pong(_) | Packet::Noop => {}
            Packet::Message(SocketPacket::Connect(_)) => {
                if self.link == Link::Handshaking(socket) {
                    self.on_connected(socket);
                } else {
                    self.warn("CONNECT ack ignored: not handshaking".into());
                }
            }
            Packet::Message(SocketPacket::ConnectError { message }) => {
                if message == event::AUTH_TOKEN_REQUIRED || message == event::AUTH_INVALID_TOKEN {
                    self.auth_failure(message);
                } else {
                    self.lose_connection(&format!("connect error: {message}"), true);
                }
            }
            Packet::Message(SocketPacket::Disconnect) => {
                self.lose_connection("server disconnected the socket", true)
            }
            Packet::Message(SocketPacket::Event { name, args, .. }) => {
                if matches!(self.link, Link::Connected(_)) {
                    self.on_event(&name, args);
                } else {
                    self.warn(format!("event {name} before the handshake ignored"));
                }
            }
            Packet::Message(SocketPacket::Ack { id, args }) => self.on_ack(id, args),
        }
    }

    fn on_connected(&mut self, socket: SocketId) {
        self.link = Link::Connected(socket);
        self.timers.stop(Timer::Connect);
        self.backoff.reset();
        let active: Vec<_> = self
            .conversations
            .iter()
            .filter(|(_, state)| state.active)
            .map(|(id, _)| *id)
            .collect();
        for conversation in active {
            self.send_join(socket, conversation);
        }
        for message in std::mem::take(&mut self.pending_reads) {
            self.emit_read(socket, message);
        }
    }

    fn emit_read(&mut self, socket: SocketId, message: MessageId) {
        let ack = self.register_ack(AckWait::Read);
        let frame = protocol::encode_event(Some(ack), event::MESSAGE_READ, vec![message.0.into()]);
        self.push_frame(socket, frame);
    }

    fn activate(&mut self, conversation: ConversationId) {
        let config = &self.config;
        let state = self
            .conversations
            .entry(conversation)
            .or_insert_with(|| ConversationState::new(config));
        if !state.active {
            state.active = true;
            self.dirty.insert(conversation);
        }
        if state.sync == Sync::NotJoined {
            match self.link {
                Link::Connected(socket) => self.send_join(socket, conversation),
                Link::Http { .. } => self.http_join(conversation),
                _ => {}
            }
        }
    }

    fn send_join(&mut self, socket: SocketId, conversation: ConversationId) {
        let ack = self.register_ack(AckWait::Join(conversation));
        let frame = protocol::encode_event(
            Some(ack),
            event::CONVERSATION_JOIN,
            vec![conversation.0.into()],
        );
        self.push_frame(socket, frame);
        let deadline = self.now + self.config.request_timeout_ms;
        if let Some(state) = self.conversations.get_mut(&conversation) {
            state.sync = Sync::Joining { ack, deadline };
        }
    }

    fn on_event(&mut self, name: &str, args: Vec<Value>) {
        let first = args.into_iter().next().unwrap_or(Value::Null);
        match name {
            event::MESSAGE_NEW => match json::message(&first) {
                Some(message) => self.on_message(message, true),
                None => self.warn("message:new ignored: malformed".into()),
            },
            event::TYPING_START | event::TYPING_STOP => match json::typing(&first) {
                Some(typing) => self.on_typing(typing, name == event::TYPING_START),
                None => self.warn(format!("{name} ignored: malformed")),
            },
            event::USER_ONLINE | event::USER_OFFLINE => match json::user_id(&first) {
                Some(user) => self.on_presence(user, name == event::USER_ONLINE),
                None => self.warn(format!("{name} ignored: malformed")),
            },
            event::MESSAGE_READ => match json::read_receipt(&first) {
                Some(receipt) => {
                    if let Some(state) = self.conversations.get_mut(&receipt.conversation_id)
                        && state.timeline.mark_read(receipt.message_id)
                    {
                        self.dirty.insert(receipt.conversation_id);
                    }
                }
                None => self.warn("message:read ignored: malformed".into()),
            },
            event::CONVERSATION_NEW => match json::conversation(&first) {
                Some(conversation) => {
                    if let Some(state) = self.conversations.get_mut(&conversation.id) {
                        state
                            .participants
                            .extend(conversation.participant_ids.iter().copied());
                    }
                    self.outputs
                        .push_back(Output::Event(Event::ConversationNew(conversation)));
                }
                None => self.warn("conversation:new ignored: malformed".into()),
            },
            other => self.warn(format!("unknown event {other} ignored")),
        }
    }

    /// A stored message from `message:new` (`live`), a send ack or a history page.
    fn on_message(&mut self, message: Message, live: bool) {
        let conversation = message.conversation_id;
        let me = self.user;
        let Some(state) = self.conversations.get_mut(&conversation) else {
            return self.warn(format!(
                "message for unknown conversation {conversation} ignored"
            ));
        };
        if live && !state.active {
            return self.warn(format!(
                "message:new for conversation {conversation} not joined ignored"
            ));
        }
        if message.seq < 1 {
            return self.warn(format!("message with seq {} ignored", message.seq));
        }
        let inserted = state.timeline.insert(&message, me);
        state.participants.insert(message.sender_id);
        if state.typing_in.remove(&message.sender_id).is_some() {
            self.outputs.push_back(Output::Event(Event::Typing {
                conversation,
                user: message.sender_id,
                typing: false,
            }));
        }
        state.max_seen = state.max_seen.max(message.seq);
        if let Some(contiguous) = state.contiguous
            && message.seq == contiguous + 1
        {
            state.contiguous = Some(message.seq);
        }
        let gap = state.contiguous.is_some_and(|c| state.max_seen > c);
        match inserted {
            Inserted::New { .. } => {
                self.dirty.insert(conversation);
            }
            Inserted::Duplicate => {}
            Inserted::Conflict => self.warn(format!(
                "message {} conflicts with a stored seq {}",
                message.id, message.seq
            )),
        }
        // Our own message, acknowledged by its echo or a history page: the send is done.
        let own = me.is_none_or(|me| me == message.sender_id);
        if own
            && let Some(id) = message
                .client_message_id
                .as_deref()
                .and_then(|text| ClientMessageId::parse(text).ok())
            && self.outbox.remove(&id).is_some()
        {
            self.outputs.push_back(Output::Event(Event::Sent {
                client_message_id: id,
                conversation,
                message: message.id,
                seq: message.seq,
            }));
            self.outbox_dirty = true;
            self.flush(conversation);
        }
        if live && matches!(inserted, Inserted::New { .. }) {
            let view = self.conversations.get(&conversation).and_then(|state| {
                state
                    .timeline
                    .views()
                    .into_iter()
                    .find(|view| view.id == Some(message.id))
            });
            if let Some(view) = view {
                self.outputs
                    .push_back(Output::Event(Event::MessageReceived(view)));
            }
        }
        if gap {
            self.ensure_backfill(conversation);
        }
    }

    fn on_typing(&mut self, typing: Typing, started: bool) {
        let expiry = self.now + self.config.typing_expiry_ms;
        if Some(typing.user_id) == self.user {
            return;
        }
        let Some(state) = self
            .conversations
            .get_mut(&typing.conversation_id)
            .filter(|s| s.active)
        else {
            return self.warn(format!(
                "typing in conversation {} not joined ignored",
                typing.conversation_id
            ));
        };
        state.participants.insert(typing.user_id);
        let changed = if started {
            state.typing_in.insert(typing.user_id, expiry).is_none()
        } else {
            state.typing_in.remove(&typing.user_id).is_some()
        };
        if changed {
            self.dirty.insert(typing.conversation_id);
            self.outputs.push_back(Output::Event(Event::Typing {
                conversation: typing.conversation_id,
                user: typing.user_id,
                typing: started,
            }));
        }
    }

    fn on_presence(&mut self, user: UserId, online: bool) {
        let mut any = false;
        for (id, state) in &mut self.conversations {
            if !state.active || !state.participants.contains(&user) {
                continue;
            }
            let changed = if online {
                state.online.insert(user)
            } else {
                state.online.remove(&user)
            };
            if changed {
                any = true;
                self.dirty.insert(*id);
            }
        }
        if any || online {
            self.outputs
                .push_back(Output::Event(Event::Presence { user, online }));
        }
    }

    fn on_ack(&mut self, id: AckId, args: Vec<Value>) {
        let Some(wait) = self.acks.remove(&id) else {
            return self.warn(format!("ack {} for nothing sent ignored", id.0));
        };
        let first = args.into_iter().next().unwrap_or(Value::Null);
        match wait {
            AckWait::Join(conversation) => match json::join_ack(&first) {
                Some(Ack::Success(ack)) => self.on_joined(conversation, id, ack),
                Some(Ack::Failure(failure)) => self.on_join_refused(conversation, failure),
                None => self.warn("join ack unreadable".into()),
            },
            AckWait::Send(message) => match json::send_ack(&first) {
                Some(Ack::Success(ack)) => self.on_sent(&message, ack),
                Some(Ack::Failure(failure)) => self.on_send_refused(&message, id, failure),
                None => self.warn("send ack unreadable".into()),
            },
            AckWait::Leave | AckWait::Read => {
                if let Some(Ack::Failure(failure)) = json::ok_ack(&first) {
                    self.warn(format!("refused: {}", failure.error));
                }
            }
        }
    }

    fn on_joined(&mut self, conversation: ConversationId, ack_id: AckId, ack: JoinAck) {
        let Some(state) = self.conversations.get_mut(&conversation) else {
            return;
        };
        if !matches!(state.sync, Sync::Joining { ack, .. } if ack == ack_id) || !state.active {
            return;
        }
        state.online = ack.online_user_ids.iter().copied().collect();
        state
            .participants
            .extend(ack.online_user_ids.iter().copied());
        self.dirty.insert(conversation);
        let last = ack.last_seq.max(0);
        match state.contiguous {
            None => {
                // First join: everything up to `last` is history, loaded newest page first;
                // later messages arrive live.
                state.contiguous = Some(last);
                state.max_seen = state.max_seen.max(last);
                state.sync = Sync::Synced;
                if last > 0 && state.older.is_none() {
                    state.timeline.has_older = true;
                    self.request_history(conversation, HistoryKind::Before(last + 1));
                }
                self.flush(conversation);
            }
            Some(contiguous) if last > contiguous || state.max_seen > contiguous => {
                state.max_seen = state.max_seen.max(last);
                state.sync = Sync::Backfilling;
                self.ensure_backfill(conversation);
            }
            Some(_) => {
                state.sync = Sync::Synced;
                self.flush(conversation);
            }
        }
    }

    fn on_join_refused(&mut self, conversation: ConversationId, failure: AckFailure) {
        if let Some(state) = self.conversations.get_mut(&conversation) {
            state.active = false;
            state.sync = Sync::NotJoined;
            self.dirty.insert(conversation);
        }
        self.outputs.push_back(Output::Event(Event::JoinFailed {
            conversation,
            code: failure.code,
        }));
        let doomed: Vec<_> = self
            .outbox
            .entries()
            .iter()
            .filter(|e| {
                e.conversation == conversation && !matches!(e.state, SendState::Failed { .. })
            })
            .map(|e| e.id.clone())
            .collect();
        for id in doomed {
            self.fail_send(&id, Some(failure.code));
        }
    }

    fn on_sent(&mut self, id: &ClientMessageId, ack: SendAck) {
        let Some(entry) = self.outbox.entry(id) else {
            return; // Already settled (by its echo, or an earlier try's ack).
        };
        let message = Message {
            id: ack.message_id,
            conversation_id: entry.conversation,
            seq: ack.seq,
            sender_id: self.user.unwrap_or(UserId(0)),
            text: entry.text.clone(),
            client_message_id: Some(id.to_string()),
            created_at: ack.created_at,
        };
        let conversation = entry.conversation;
        self.outbox.remove(id);
        self.outputs.push_back(Output::Event(Event::Sent {
            client_message_id: id.clone(),
            conversation,
            message: message.id,
            seq: message.seq,
        }));
        self.outbox_dirty = true;
        if let Some(state) = self.conversations.get_mut(&conversation) {
            state.timeline.remove_pending(id);
            self.dirty.insert(conversation);
        }
        self.on_message(message, false);
        self.flush(conversation);
    }

    fn on_send_refused(&mut self, id: &ClientMessageId, ack: AckId, failure: AckFailure) {
        let Some(entry) = self.outbox.entry_mut(id) else {
            return;
        };
        if !matches!(entry.state, SendState::InFlight { ack: current, .. } if current == ack) {
            return; // The answer to an older try; the current one decides.
        }
        match failure.code {
            ErrorCode::RateLimited => {
                let wait = failure.retry_after_ms.unwrap_or(1000);
                entry.state = SendState::Waiting {
                    until: self.now + wait,
                };
            }
            ErrorCode::Forbidden | ErrorCode::BadRequest | ErrorCode::TooLong => {
                self.fail_send(id, Some(failure.code));
            }
            _ => self.lose_try(id),
        }
    }

    /// A try went unanswered (or failed in a way a retry may cure).
    fn lose_try(&mut self, id: &ClientMessageId) {
        let tries = self.config.send_tries();
        let Some(entry) = self.outbox.entry_mut(id) else {
            return;
        };
        entry.lost_tries += 1;
        if entry.lost_tries >= tries {
            self.fail_send(id, None);
            return;
        }
        let index = usize::try_from(entry.lost_tries - 1).unwrap_or(usize::MAX);
        let delay = self
            .config
            .send_retry_delays_ms
            .get(index)
            .or(self.config.send_retry_delays_ms.last())
            .copied()
            .unwrap_or(0);
        entry.state = SendState::Waiting {
            until: self.now + delay,
        };
        self.outbox_dirty = true;
    }

    fn fail_send(&mut self, id: &ClientMessageId, code: Option<ErrorCode>) {
        let Some(entry) = self.outbox.entry_mut(id) else {
            return;
        };
        entry.state = SendState::Failed { code };
        let conversation = entry.conversation;
        self.outbox_dirty = true;
        if let Some(state) = self.conversations.get_mut(&conversation)
            && state.timeline.set_pending_status(id, MessageStatus::Failed)
        {
            self.dirty.insert(conversation);
        }
        self.outputs.push_back(Output::Event(Event::SendFailed {
            client_message_id: id.clone(),
            code,
        }));
        self.flush(conversation);
    }

    /// Sends the conversation's head message if it may go now.
    fn flush(&mut self, conversation: ConversationId) {
        let socket = match self.link {
            Link::Connected(socket) => Some(socket),
            Link::Http { .. } => None,
            _ => return,
        };
        if self.conversations.get(&conversation).map(|s| s.sync) != Some(Sync::Synced) {
            return;
        }
        let Some(head) = self.outbox.head(conversation) else {
            return;
        };
        let id = head.id.clone();
        match head.state {
            SendState::Queued => match socket {
                Some(socket) => self.emit_send(socket, &id),
                None => self.post_send(&id),
            },
            SendState::Paused { remaining } => {
                let until = self.now + remaining;
                if let Some(entry) = self.outbox.entry_mut(&id) {
                    entry.state = SendState::Waiting { until };
                }
            }
            _ => {}
        }
    }

    fn emit_send(&mut self, socket: SocketId, id: &ClientMessageId) {
        let Some(entry) = self.outbox.entry(id) else {
            return;
        };
        let body = json::send_message(id.as_str(), &entry.text);
        let conversation = entry.conversation;
        let ack = self.register_ack(AckWait::Send(id.clone()));
        let args = vec![conversation.0.into(), body];
        self.push_frame(
            socket,
            protocol::encode_event(Some(ack), event::MESSAGE_SEND, args),
        );
        let deadline = self.now + self.config.ack_timeout_ms;
        if let Some(entry) = self.outbox.entry_mut(id) {
            entry.state = SendState::InFlight { ack, deadline };
        }
    }

    fn stop_typing(&mut self, conversation: ConversationId) {
        if let Some(state) = self.conversations.get_mut(&conversation)
            && state.typing_out.take().is_some()
            && let Link::Connected(socket) = self.link
        {
            let frame =
                protocol::encode_event(None, event::TYPING_STOP, vec![conversation.0.into()]);
            self.push_frame(socket, frame);
        }
    }

    fn ensure_backfill(&mut self, conversation: ConversationId) {
        let Some(state) = self.conversations.get(&conversation) else {
            return;
        };
        if state.backfill.is_some() || state.backfill_retry_at.is_some() {
            return;
        }
        match state.contiguous {
            Some(contiguous) => self.request_history(conversation, HistoryKind::After(contiguous)),
            None if self.http_mode() && state.active => {
                self.request_history(conversation, HistoryKind::Latest)
            }
            None => {}
        }
    }

    fn request_history(&mut self, conversation: ConversationId, kind: HistoryKind) {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let limit = self.config.history_page_limit;
        let query = match kind {
            HistoryKind::After(seq) => format!("afterSeq={seq}&limit={limit}"),
            HistoryKind::Before(seq) => format!("beforeSeq={seq}&limit={limit}"),
            HistoryKind::Latest => format!("limit={limit}"),
        };
        let url = self.config.api_url(&format!(
            "/api/conversations/{conversation}/messages?{query}"
        ));
        let deadline = self.now + self.config.request_timeout_ms;
        self.requests.insert(
            id,
            HistoryRequest {
                conversation,
                kind,
                deadline,
            },
        );
        if let Some(state) = self.conversations.get_mut(&conversation) {
            match kind {
                HistoryKind::After(_) | HistoryKind::Latest => state.backfill = Some(id),
                HistoryKind::Before(_) => {
                    state.older = Some(id);
                    self.dirty.insert(conversation);
                }
            }
        }
        self.outputs.push_back(Output::Http(HttpRequest {
            id,
            method: "GET",
            url,
            bearer: self.token.clone(),
            body: None,
        }));
    }

    fn on_history(&mut self, request: HistoryRequest, page: chat_wire::rest::HistoryPage) {
        let conversation = request.conversation;
        let (mine, foreign): (Vec<_>, Vec<_>) = page
            .messages
            .into_iter()
            .partition(|m| m.conversation_id == conversation);
        if !foreign.is_empty() {
            self.warn(format!(
                "{} messages of other conversations in a page ignored",
                foreign.len()
            ));
        }
        if !self.conversations.contains_key(&conversation) {
            return;
        }
        match request.kind {
            HistoryKind::Before(_) => {
                if let Some(state) = self.conversations.get_mut(&conversation) {
                    state.older = None;
                    state.timeline.widen(mine.len());
                    state.timeline.has_older = page.has_more;
                    self.dirty.insert(conversation);
                }
                for message in mine {
                    self.on_message(message, false);
                }
                if let Some(state) = self.conversations.get_mut(&conversation) {
                    // The page's own has_more has the last word on older messages.
                    state.timeline.has_older = page.has_more
                        || state.timeline.has_older
                            && state.timeline.oldest_seq().is_some_and(|s| s > 1);
                }
            }
            HistoryKind::Latest => {
                // HTTP-only mode's first look: like a first join, the newest page is the
                // history and everything after it is polled.
                let last = mine.iter().map(|m| m.seq).max().unwrap_or(0);
                let Some(state) = self.conversations.get_mut(&conversation) else {
                    return;
                };
                state.backfill = None;
                state.timeline.has_older = page.has_more;
                for message in mine {
                    self.on_message(message, false);
                }
                let Some(state) = self.conversations.get_mut(&conversation) else {
                    return;
                };
                state.contiguous = Some(last);
                state.max_seen = state.max_seen.max(last);
                if state.active {
                    state.sync = Sync::Synced;
                }
                self.dirty.insert(conversation);
                self.flush(conversation);
            }
            HistoryKind::After(after) => {
                let last = mine.iter().map(|m| m.seq).max();
                if let Some(state) = self.conversations.get_mut(&conversation) {
                    state.backfill = None;
                }
                // In the HTTP-only mode polled pages are the live feed: the app hears of
                // each new message as it would of `message:new`.
                let live = self.http_mode()
                    && self
                        .conversations
                        .get(&conversation)
                        .is_some_and(|state| state.active);
                for message in mine {
                    self.on_message(message, live);
                }
                let Some(state) = self.conversations.get_mut(&conversation) else {
                    return;
                };
                // The server's pages are gapless: everything up to the page's end is seen.
                if let Some(last) = last
                    && state.contiguous.is_some_and(|c| c >= after)
                {
                    state.contiguous = Some(state.contiguous.unwrap_or(0).max(last));
                } else if last.is_none() && !page.has_more {
                    // Nothing after `after`: a seq seen beyond it does not exist on the
                    // server's side; stop chasing it instead of asking forever.
                    state.contiguous = Some(state.contiguous.unwrap_or(0).max(state.max_seen));
                }
                let behind = state.contiguous.is_some_and(|c| state.max_seen > c);
                if state.backfill.is_none() && (page.has_more || behind) {
                    self.ensure_backfill(conversation);
                } else if state.sync == Sync::Backfilling && state.backfill.is_none() {
                    state.sync = Sync::Synced;
                    self.dirty.insert(conversation);
                    self.flush(conversation);
                }
            }
        }
    }

    fn history_failed(&mut self, request: HistoryRequest, reason: String) {
        self.warn(reason);
        let retry_at = self.now + self.config.request_retry_ms;
        if let Some(state) = self.conversations.get_mut(&request.conversation) {
            match request.kind {
                HistoryKind::After(_) | HistoryKind::Latest => {
                    state.backfill = None;
                    state.backfill_retry_at = Some(retry_at);
                }
                HistoryKind::Before(_) => {
                    state.older = None;
                    self.dirty.insert(request.conversation);
                }
            }
        }
    }

    fn expire_requests(&mut self) {
        let now = self.now;
        let expired: Vec<_> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(request) = self.requests.remove(&id) {
                self.history_failed(request, "history request timed out".into());
            }
        }
    }

    fn expire_conversations(&mut self) {
        let now = self.now;
        let ids: Vec<_> = self.conversations.keys().copied().collect();
        for conversation in ids {
            let Some(state) = self.conversations.get_mut(&conversation) else {
                continue;
            };
            if state.backfill_retry_at.is_some_and(|at| at <= now) {
                state.backfill_retry_at = None;
                self.ensure_backfill(conversation);
            }
            let Some(state) = self.conversations.get_mut(&conversation) else {
                continue;
            };
            let expired: Vec<_> = state
                .typing_in
                .iter()
                .filter(|(_, until)| **until <= now)
                .map(|(user, _)| *user)
                .collect();
            for user in expired {
                state.typing_in.remove(&user);
                self.dirty.insert(conversation);
                self.outputs.push_back(Output::Event(Event::Typing {
                    conversation,
                    user,
                    typing: false,
                }));
            }
            let Some(state) = self.conversations.get_mut(&conversation) else {
                continue;
            };
            if state.typing_out.is_some_and(|(_, stop)| stop <= now) {
                self.stop_typing(conversation);
            }
            let Some(state) = self.conversations.get_mut(&conversation) else {
                continue;
            };
            if let Sync::Joining { deadline, .. } = state.sync
                && deadline <= now
                && let Link::Connected(socket) = self.link
            {
                self.warn(format!(
                    "join of conversation {conversation} unanswered; asking again"
                ));
                self.send_join(socket, conversation);
            }
        }
    }

    fn expire_sends(&mut self) {
        let now = self.now;
        let due: Vec<_> = self
            .outbox
            .entries()
            .iter()
            .filter_map(|e| match e.state {
                SendState::InFlight { deadline, .. } if deadline <= now => {
                    Some((e.id.clone(), true))
                }
                SendState::Waiting { until } if until <= now => Some((e.id.clone(), false)),
                _ => None,
            })
            .collect();
        for (id, lost) in due {
            if lost {
                self.lose_try(&id);
            } else if let Some(entry) = self.outbox.entry_mut(&id) {
                entry.state = SendState::Queued;
            }
            if let Some(conversation) = self.outbox.entry(&id).map(|e| e.conversation) {
                self.flush(conversation);
            }
        }
    }

    /// Rebuilds the views of what changed and the snapshot, and tells the app.
    fn publish(&mut self) {
        let connection = ConnectionView {
            state: self.state(),
            reconnect_at: self.timers.deadline(Timer::Reconnect),
            failed_attempts: self.backoff.attempts(),
        };
        let connection_changed = connection != self.snapshot.connection;
        let outbox_len = self.outbox.entries().len();
        if !connection_changed
            && self.dirty.is_empty()
            && !self.outbox_dirty
            && outbox_len == self.snapshot.outbox_len
        {
            return;
        }
        if connection.state != self.snapshot.connection.state {
            self.outputs
                .push_back(Output::Event(Event::StateChanged(connection.state.clone())));
        }
        let mut conversations = self.snapshot.conversations.clone();
        let mut changed = connection_changed || outbox_len != self.snapshot.outbox_len;
        for id in std::mem::take(&mut self.dirty) {
            if let Some(state) = self.conversations.get(&id)
                && conversations.replace(state.view(id))
            {
                self.outputs
                    .push_back(Output::Event(Event::ConversationChanged(id)));
                changed = true;
            }
        }
        if std::mem::take(&mut self.outbox_dirty) {
            self.outputs.push_back(Output::Event(Event::OutboxChanged));
        }
        if !changed {
            return;
        }
        self.snapshot = Arc::new(Snapshot {
            version: self.snapshot.version + 1,
            connection,
            conversations,
            outbox_len,
        });
    }
}
