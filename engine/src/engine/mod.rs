//! The [`Engine`]: inputs and app commands in, [`Output`]s out, and the snapshot.
//!
//! The engine owns its parts and routes between them, as quinn-proto's connection owns
//! its streams and paths; each part keeps its own state and deadlines (`poll_timeout`):
//!
//! - `link`: token, WebSocket handshake, heartbeat, backoff (the [`ConnectionState`]);
//! - `http_mode`: the HTTP-only mode's polling and `POST`ed sends;
//! - `conversation`: one conversation's sync state, typing, presence, timeline;
//! - `history`: catch-up and older-page requests, and merging their pages;
//! - `sends`: the send pipeline over the outbox (flush, acks, timeouts, retries).
//!
//! The engine's own steps that span parts sit beside the part they start from:
//! `lifecycle` (the connection up and down), `joins` (following a conversation),
//! `incoming` (events and acks), `publish` (the snapshot). `ctx` is what they all share
//! (clock, config, RNG, output queue, acks awaited); `output` the types handed back.

mod conversation;
mod ctx;
mod history;
mod http_mode;
mod incoming;
mod joins;
mod lifecycle;
mod link;
mod output;
mod publish;
mod read_state;
mod sends;

pub use output::{Event, HttpRequest, Output, SendError};
pub(crate) use read_state::ListItem;

use crate::text;
use chat_wire::{ConversationId, MessageId, UserId, event};
use std::sync::Arc;

use crate::config::Config;
use crate::connection::ConnectionState;
use crate::ids::{ClientMessageId, RequestId, SocketId};
use crate::outbox::{Outbox, SendState, StorageError};
use crate::snapshot::{ConversationView, Snapshot};
use crate::time::Millis;
use crate::timeline::MessageStatus;
use crate::timer::Timer;
use conversation::Conversations;
use ctx::Ctx;
use history::{History, HistoryKind};
use http_mode::{HttpMode, PostAnswer};
use link::Link;
use sends::Sends;

/// The client engine. See the crate doc for the run loop.
#[derive(Debug)]
pub struct Engine {
    ctx: Ctx,
    link: Link,
    http: HttpMode,
    conversations: Conversations,
    history: History,
    sends: Sends,
    snapshot: Arc<Snapshot>,
}

impl Engine {
    /// A disconnected engine with an empty outbox. `seed` drives every random choice
    /// (jitter, client message ids): one seed, one run.
    pub fn new(config: Config, seed: u64) -> Self {
        Engine {
            ctx: Ctx::new(config, seed),
            link: Link::new(),
            http: HttpMode::default(),
            conversations: Conversations::default(),
            history: History::default(),
            sends: Sends::default(),
            snapshot: publish::empty_snapshot(),
        }
    }

    // ---- Getters -------------------------------------------------------------------

    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.link.state()
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
        self.link.user()
    }

    /// The outbox as a string, for `localStorage`; store it on [`Event::OutboxChanged`].
    pub fn save_outbox(&self) -> String {
        self.sends.outbox.save()
    }

    /// Messages whose send is waiting for an ack, a retry or the connection (not failed).
    pub fn sending_ids(&self) -> Vec<ClientMessageId> {
        self.sends.ids(false)
    }

    /// Messages `failed` until `retry`.
    pub fn failed_ids(&self) -> Vec<ClientMessageId> {
        self.sends.ids(true)
    }

    // ---- Outputs -------------------------------------------------------------------

    /// The next thing to do. Drain until `None` after every input or command.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.ctx.pop_output()
    }

    /// When [`Engine::handle_timeout`] must be called next (at the latest).
    pub fn poll_timeout(&self) -> Option<Millis> {
        [
            self.link.poll_timeout(),
            self.sends.poll_timeout(),
            self.history.poll_timeout(),
            self.http.poll_timeout(),
            self.conversations.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- Inputs --------------------------------------------------------------------

    /// Time passed: fire every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.ctx.tick(now);
        while let Some(timer) = self.link.take_expired(self.ctx.now) {
            match timer {
                Timer::Connect => self.lose_connection("connect timed out", true),
                Timer::Heartbeat => self.lose_connection("server silent (heartbeat timeout)", true),
                Timer::Reconnect => self.link.restart(&mut self.ctx),
            }
        }
        self.expire_requests();
        self.expire_list_fetch();
        self.expire_conversations();
        self.expire_sends();
        self.poll_history();
        self.publish();
    }

    /// The answer to [`Output::RequestToken`]: `None` when the app has none (an auth error).
    pub fn handle_token(&mut self, now: Millis, token: Option<String>) {
        self.ctx.tick(now);
        if !self.link.awaiting_token() {
            self.ctx.warn("token given while none was asked for".into());
        } else {
            match token {
                Some(token) => {
                    self.link.adopt_token(token);
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
        self.ctx.tick(now);
        if self.link.awaiting_token() {
            self.lose_connection("no token (the app's token callback failed)", false);
        }
        self.publish();
    }

    /// The driver's socket opened. (The engine waits for the Engine.IO open packet.)
    pub fn handle_socket_open(&mut self, now: Millis, socket: SocketId) {
        self.ctx.tick(now);
        self.link.socket_opened(&mut self.ctx, socket);
        self.publish();
    }

    /// A text frame arrived on `socket`.
    pub fn handle_frame(&mut self, now: Millis, socket: SocketId, frame: &str) {
        self.ctx.tick(now);
        if self.link.socket() == Some(socket) {
            self.on_frame(socket, frame);
        } else {
            self.ctx
                .warn(text!("frame on stale socket ", socket.0, " ignored"));
        }
        self.publish();
    }

    /// The socket closed or failed (whoever closed it).
    pub fn handle_socket_closed(&mut self, now: Millis, socket: SocketId) {
        self.ctx.tick(now);
        if self.link.socket() == Some(socket) {
            self.lose_connection("socket closed", false);
        }
        self.publish();
    }

    /// An HTTP response (any status) to request `id`.
    pub fn handle_http_response(&mut self, now: Millis, id: RequestId, status: u16, body: &str) {
        self.ctx.tick(now);
        if (200..300).contains(&status) {
            self.link.confirm_http();
        }
        if let Some((ack, message)) = self.http.take_send(id) {
            self.ctx.acks.remove(&ack);
            match HttpMode::answer(status, body) {
                PostAnswer::Stored(ack) => self.on_sent(&message, ack),
                PostAnswer::Unreadable => {
                    self.ctx.warn("send answer unreadable".into());
                    self.lose_try(&message);
                }
                PostAnswer::Unauthorized => self.auth_failure(event::AUTH_INVALID_TOKEN.to_owned()),
                PostAnswer::Refused(failure) => self.on_send_refused(&message, ack, failure),
            }
        } else if self.ctx.http_mode() && status == 401 {
            self.history.take(id);
            self.conversations.list_fetch.take(id);
            self.auth_failure(event::AUTH_INVALID_TOKEN.to_owned());
        } else if self.conversations.list_fetch.take(id) {
            self.on_list_response(Some((status, body)));
        } else {
            match self.history.take(id) {
                Some(request) => self.on_history_response(request, status, body),
                None => self.ctx.warn(text!("response to unknown request ", id.0)),
            }
        }
        self.publish();
    }

    /// The HTTP request `id` failed without a response.
    pub fn handle_http_failed(&mut self, now: Millis, id: RequestId) {
        self.ctx.tick(now);
        let send = self.http.take_send(id).is_some();
        let history = self.history.take(id);
        let list = self.conversations.list_fetch.take(id);
        let answered = send || list || history.is_some();
        if let Some(request) = history {
            self.history_failed(request, "history request failed".into());
        }
        if list {
            self.on_list_response(None);
        }
        // In the HTTP-only mode requests are the connection: no answer means no network.
        if self.ctx.http_mode() && answered {
            self.lose_connection("HTTP request failed", false);
        }
        self.publish();
    }

    /// The platform's network went down (`offline`: the socket closes at once and no
    /// attempt is made) or came back (`online`: reconnect at once).
    pub fn handle_network(&mut self, now: Millis, online: bool) {
        self.ctx.tick(now);
        if self.link.network(&mut self.ctx, online) {
            self.lose_connection("network offline", true);
        }
        self.publish();
    }

    /// The app came back to the foreground (a phone's `AppState`, a tab made visible).
    /// Timers that fell due while it was suspended run first (a heartbeat missed while
    /// asleep ends the connection now), then a connection that is down is attempted at
    /// once instead of at the end of its backoff delay; the reconnection catches up as
    /// every reconnection does. A live connection, an auth error (which waits for a new
    /// token) and an offline network are left as they are.
    pub fn handle_foreground(&mut self, now: Millis) {
        self.handle_timeout(now);
        self.link.resume(&mut self.ctx);
        self.publish();
    }

    // ---- Commands ------------------------------------------------------------------

    /// Connect (and stay connected, reconnecting, until `disconnect`).
    pub fn connect(&mut self, now: Millis) {
        self.ctx.tick(now);
        self.link.connect(&mut self.ctx);
        self.publish();
    }

    /// Close the connection and stay disconnected.
    pub fn disconnect(&mut self, now: Millis) {
        self.ctx.tick(now);
        self.link.disconnect(&mut self.ctx);
        self.lose_connection("disconnected by the app", true);
        self.publish();
    }

    /// A new token (after a login or a refresh): leaves an auth error and connects with it.
    pub fn set_token(&mut self, now: Millis, token: String) {
        self.ctx.tick(now);
        if self.link.set_token(&mut self.ctx, token) {
            self.open_link();
        }
        self.publish();
    }

    /// Follow a conversation: join it now and on every reconnection, keep it in sync.
    pub fn join(&mut self, now: Millis, conversation: ConversationId) {
        self.ctx.tick(now);
        self.activate(conversation);
        self.publish();
    }

    /// Stop following a conversation. Its messages stay in memory; queued sends wait
    /// until it is joined again.
    pub fn leave(&mut self, now: Millis, conversation: ConversationId) {
        self.ctx.tick(now);
        if let Some(state) = self.conversations.get_mut(conversation)
            && state.active
        {
            state.deactivate();
            self.ctx.touch(conversation);
            if let Some(socket) = self.link.connected_socket() {
                let ack = self.ctx.register_ack(ctx::AckWait::Leave);
                let args = vec![conversation.0.into()];
                self.ctx
                    .emit(socket, Some(ack), event::CONVERSATION_LEAVE, args);
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
        self.ctx.tick(now);
        self.conversations
            .entry(&self.ctx.config, conversation)
            .add_participants(users.iter().copied());
        self.publish();
    }

    /// Send a message: returns its `clientMessageId` at once; it shows as `sending`.
    pub fn send(
        &mut self,
        now: Millis,
        conversation: ConversationId,
        text: &str,
    ) -> Result<ClientMessageId, SendError> {
        chat_wire::text::validate_text(text).map_err(SendError::Text)?;
        let id = ClientMessageId::generate(&mut self.ctx.rng);
        self.send_as(now, conversation, &id, text)?;
        Ok(id)
    }

    /// Send a message under a `clientMessageId` the caller chose (a browser tab that does
    /// not hold the connection picks it, and the tab that does sends it). False, and
    /// nothing changes, when that id is already queued or shown: a command sent again
    /// after a take-over is harmless.
    pub fn send_as(
        &mut self,
        now: Millis,
        conversation: ConversationId,
        id: &ClientMessageId,
        text: &str,
    ) -> Result<bool, SendError> {
        self.ctx.tick(now);
        chat_wire::text::validate_text(text).map_err(SendError::Text)?;
        let known = self.sends.outbox.entry(id).is_some()
            || self
                .conversations
                .get(conversation)
                .is_some_and(|state| state.timeline.shows(id));
        if known {
            return Ok(false);
        }
        let order = self
            .sends
            .outbox
            .push(id.clone(), conversation, text.to_owned());
        self.sends.changed = true;
        self.stop_typing(conversation);
        self.show_pending(order, id, conversation, text, MessageStatus::Sending);
        self.flush(conversation);
        self.publish();
        Ok(true)
    }

    /// Try a `failed` message again (four new tries, at the end of its conversation's
    /// queue). False if `id` is not a failed message.
    pub fn retry(&mut self, now: Millis, id: &ClientMessageId) -> bool {
        self.ctx.tick(now);
        let order = self.sends.outbox.take_order();
        let retried = match self.sends.outbox.entry_mut(id) {
            Some(entry) if matches!(entry.state, SendState::Failed { .. }) => {
                entry.state = SendState::Queued;
                entry.lost_tries = 0;
                entry.order = order;
                Some((entry.conversation, entry.text.clone()))
            }
            _ => None,
        };
        if let Some((conversation, text)) = &retried {
            self.sends.changed = true;
            self.show_pending(order, id, *conversation, text, MessageStatus::Sending);
            self.flush(*conversation);
        }
        self.publish();
        retried.is_some()
    }

    /// A keystroke in `conversation`'s input.
    pub fn typing(&mut self, now: Millis, conversation: ConversationId) {
        self.ctx.tick(now);
        let (coalesce, stop_after) = (
            self.ctx.config.typing_coalesce_ms,
            self.ctx.config.typing_stop_ms,
        );
        if let Some(socket) = self.link.connected_socket()
            && let Some(state) = self.conversations.get_mut(conversation)
            && state.active
            && state.keystroke(self.ctx.now, coalesce, stop_after)
        {
            let args = vec![conversation.0.into()];
            self.ctx.emit(socket, None, event::TYPING_START, args);
        }
        self.publish();
    }

    /// Tell the sender that `message` was read (sent now, or on the next connection).
    pub fn mark_read(&mut self, now: Millis, message: MessageId) {
        self.ctx.tick(now);
        if let Some(socket) = self.link.connected_socket() {
            self.emit_read(socket, message);
        } else if !self.conversations.unsent_reads.contains(&message) {
            self.conversations.unsent_reads.push(message);
        }
        self.publish();
    }

    /// The app shows the whole conversation: it is read up to its newest message (the
    /// unread count is 0 at once; the server hears it now or after reconnecting).
    pub fn mark_conversation_read(&mut self, now: Millis, conversation: ConversationId) {
        self.ctx.tick(now);
        self.read_conversation(conversation);
        self.publish();
    }

    /// Fetch the page before the oldest message shown. False if there is nothing to
    /// fetch or a fetch is under way.
    pub fn load_older(&mut self, now: Millis, conversation: ConversationId) -> bool {
        self.ctx.tick(now);
        let before = match self.conversations.get(conversation) {
            Some(state) if state.older.is_none() && state.timeline.has_older => Some(
                state
                    .timeline
                    .oldest_seq()
                    .unwrap_or(state.max_seen.saturating_add(1)),
            ),
            _ => None,
        };
        if let Some(before) = before {
            self.request_history(conversation, HistoryKind::Before(before));
        }
        self.publish();
        before.is_some()
    }

    /// Restore the outbox stored by [`Engine::save_outbox`] (call before `connect`).
    /// Bad data is an error and leaves the outbox as it was.
    pub fn restore_outbox(&mut self, now: Millis, stored: &str) -> Result<usize, StorageError> {
        self.ctx.tick(now);
        let restored = Outbox::restore(stored).map(|outbox| {
            self.sends.outbox = outbox;
            let entries = self.sends.outbox.entries().to_vec();
            for entry in &entries {
                let status = match entry.state {
                    SendState::Failed { .. } => MessageStatus::Failed,
                    _ => MessageStatus::Sending,
                };
                let (order, id, text) = (entry.order, &entry.id, &entry.text);
                self.show_pending(order, id, entry.conversation, text, status);
            }
            entries.len()
        });
        self.publish();
        restored
    }
}
