//! The connection coming up and going down, as the whole engine sees it: the link does
//! its own part (see `link.rs`); here the conversations rejoin or reset, the outbox
//! resumes or freezes, and the HTTP-only mode starts or stops polling.

use crate::text;
use chat_wire::event;

use super::Engine;
use super::conversation::Sync;
use crate::ids::SocketId;

impl Engine {
    /// With a token in hand: a socket, or (HTTP-only mode) straight to polling.
    pub(super) fn open_link(&mut self) {
        if self.ctx.http_mode() {
            self.enter_http();
        } else {
            self.link.open_socket(&mut self.ctx);
        }
    }

    /// The HTTP-only mode's "connection": look at every followed conversation and start
    /// polling.
    fn enter_http(&mut self) {
        self.link.enter_http();
        self.http.start(&self.ctx);
        // Read state has no REST route: reads made in this mode stay local.
        self.conversations.unsent_reads.clear();
        for conversation in self.conversations.active_where(|_| true) {
            self.http_join(conversation);
        }
        // No list here: without live events it would be polled like history, for every
        // conversation; in this rollback mode only joined conversations follow.
    }

    /// The Socket.IO handshake is done: rejoin what the app follows, send what was read
    /// meanwhile.
    pub(super) fn on_connected(&mut self, socket: SocketId) {
        for conversation in self.conversations.active_where(|_| true) {
            self.send_join(socket, conversation);
        }
        for message in std::mem::take(&mut self.conversations.unsent_reads) {
            self.emit_read(socket, message);
        }
        self.send_unconfirmed_reads();
        self.fetch_list();
    }

    /// The token was refused: the connection ends and stays down until a new token.
    pub(super) fn auth_failure(&mut self, message: String) {
        self.lose_connection(&text!("authentication failed: ", message), true);
        self.link.fail_auth(message);
    }

    /// The connection (or the attempt) is over: forget the socket and what was in flight
    /// on it, freeze the outbox, and back off (if still wanted and online).
    pub(super) fn lose_connection(&mut self, reason: &str, close: bool) {
        self.link.lose(&mut self.ctx, reason, close);
        self.http.stop();
        self.ctx.acks.clear();
        self.sends.freeze(self.ctx.now);
        self.conversations.list_fetch.stop();
        for (id, state) in self.conversations.iter_mut() {
            if state.disconnected() {
                self.ctx.dirty.insert(*id);
            }
        }
    }

    /// HTTP-only mode: every `http_poll_ms`, ask for what came after the highest seq seen.
    pub(super) fn poll_history(&mut self) {
        if !self.http.poll_due(&self.ctx, self.link.is_http()) {
            return;
        }
        for conversation in self.conversations.active_where(|c| c.sync == Sync::Synced) {
            self.ensure_backfill(conversation);
        }
    }

    /// `message:read` for `message`, now.
    pub(super) fn emit_read(&mut self, socket: SocketId, message: chat_wire::MessageId) {
        let ack = self.ctx.register_ack(super::ctx::AckWait::Read);
        self.ctx.emit(
            socket,
            Some(ack),
            event::MESSAGE_READ,
            vec![message.0.into()],
        );
    }
}
