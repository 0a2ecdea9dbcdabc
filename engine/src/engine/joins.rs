//! Following a conversation on the current connection: joining it (and asking again when a
//! join goes unanswered), what the join ack says about the gap to catch up on, a refused
//! join, and the conversation's timers (own typing's stop, others' typing expiry, the
//! catch-up's retry).

use crate::text;
use chat_wire::socket::{AckFailure, JoinAck};
use chat_wire::{ConversationId, event};

use super::Engine;
use super::conversation::Sync;
use super::history::HistoryKind;
use super::link::Route;
use super::output::Event;
use crate::ids::SocketId;
use crate::protocol::AckId;

impl Engine {
    /// The app follows `conversation`: join it now if there is a connection.
    pub(super) fn activate(&mut self, conversation: ConversationId) {
        let state = self.conversations.entry(&self.ctx.config, conversation);
        if !state.active {
            state.active = true;
            self.ctx.touch(conversation);
        }
        if state.sync == Sync::NotJoined {
            match self.link.route() {
                Some(Route::Socket(socket)) => self.send_join(socket, conversation),
                Some(Route::Http) => self.http_join(conversation),
                None => {}
            }
        }
    }

    pub(super) fn send_join(&mut self, socket: SocketId, conversation: ConversationId) {
        let ack = self.ctx.emit_join(socket, conversation);
        let deadline = self.ctx.now + self.ctx.config.request_timeout_ms;
        if let Some(state) = self.conversations.get_mut(conversation) {
            state.sync = Sync::Joining { ack, deadline };
        }
    }

    /// HTTP-only mode's join: catch up (or, the first time, load the newest page); the
    /// conversation is synced when the answer comes.
    pub(super) fn http_join(&mut self, conversation: ConversationId) {
        if let Some(state) = self.conversations.get_mut(conversation) {
            state.sync = Sync::Backfilling;
            // A new "connection" asks at once, not at the last one's retry time.
            state.backfill_retry_at = None;
            self.ctx.touch(conversation);
        }
        self.ensure_backfill(conversation);
    }

    pub(super) fn on_joined(&mut self, conversation: ConversationId, ack_id: AckId, ack: JoinAck) {
        let Some(state) = self.conversations.get_mut(conversation) else {
            return;
        };
        if !matches!(state.sync, Sync::Joining { ack, .. } if ack == ack_id) || !state.active {
            return;
        }
        state.set_online(&ack.online_user_ids);
        let me = self.link.user();
        for (user, seq) in ack.read_seqs.iter() {
            state.read.raise(user, seq, me);
        }
        if let Some(me) = me {
            state.read.raise(me, ack.last_read_seq, Some(me));
        }
        state.read.saw_seq(ack.last_seq);
        let through = state.read.others_read_through(me);
        state.timeline.read_through(through, me);
        let unconfirmed = state.read.unconfirmed();
        self.ctx.touch(conversation);
        if let (Some(seq), Some(socket)) = (unconfirmed, self.link.connected_socket()) {
            self.emit_conversation_read(socket, conversation, seq);
        }
        let Some(state) = self.conversations.get_mut(conversation) else {
            return;
        };
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
                    // Saturating: seqs come from the server; one at i64::MAX must not panic.
                    self.request_history(conversation, HistoryKind::Before(last.saturating_add(1)));
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

    /// The join waiting on `ack` was answered `rate_limited` or `unavailable`: asked again
    /// after `retryAfterMs` (as an unanswered join is), and its messages stay queued.
    pub(super) fn join_later(
        &mut self,
        conversation: ConversationId,
        ack: AckId,
        wait: Option<u64>,
    ) {
        let deadline = self.ctx.now + wait.unwrap_or(1000);
        if let Some(state) = self.conversations.get_mut(conversation)
            && matches!(state.sync, Sync::Joining { ack: current, .. } if current == ack)
        {
            state.sync = Sync::Joining { ack, deadline };
        }
    }

    /// Joining failed (e.g. `forbidden`): the conversation is left, and its queued
    /// messages fail with the same code.
    pub(super) fn on_join_refused(&mut self, conversation: ConversationId, failure: AckFailure) {
        if let Some(state) = self.conversations.get_mut(conversation) {
            state.active = false;
            state.sync = Sync::NotJoined;
            self.ctx.touch(conversation);
        }
        self.ctx.event(Event::JoinFailed {
            conversation,
            code: failure.code,
        });
        self.fail_conversation(conversation, failure.code);
    }

    /// Own typing ends: `typing:stop` if a start was sent.
    pub(super) fn stop_typing(&mut self, conversation: ConversationId) {
        if let Some(state) = self.conversations.get_mut(conversation)
            && state.stop_typing()
            && let Some(socket) = self.link.connected_socket()
        {
            let args = vec![conversation.0.into()];
            self.ctx.emit(socket, None, event::TYPING_STOP, args);
        }
    }

    /// Each conversation's deadlines at `now`.
    pub(super) fn expire_conversations(&mut self) {
        let now = self.ctx.now;
        for conversation in self.conversations.ids() {
            let Some(state) = self.conversations.get_mut(conversation) else {
                continue;
            };
            if state.backfill_retry_at.is_some_and(|at| at <= now) {
                state.backfill_retry_at = None;
                self.ensure_backfill(conversation);
            }
            let Some(state) = self.conversations.get_mut(conversation) else {
                continue;
            };
            for user in state.expire_typing(now) {
                self.ctx.touch(conversation);
                self.ctx.event(Event::Typing {
                    conversation,
                    user,
                    typing: false,
                });
            }
            let Some(state) = self.conversations.get_mut(conversation) else {
                continue;
            };
            if state.typing_stop_due(now) {
                self.stop_typing(conversation);
            }
            let Some(state) = self.conversations.get_mut(conversation) else {
                continue;
            };
            if let Sync::Joining { deadline, .. } = state.sync
                && deadline <= now
                && let Some(socket) = self.link.connected_socket()
            {
                self.ctx.warn(text!(
                    "join of conversation ",
                    conversation,
                    " unanswered or deferred; asking again"
                ));
                self.send_join(socket, conversation);
            }
        }
    }
}
