//! The send pipeline: the outbox's messages go out one at a time per conversation, once
//! it is synced (`message:send` on the socket, or a `POST` in the HTTP-only mode), wait
//! for their ack, and are retried with backoff when a try is lost; refused ones turn
//! `failed`. [`Sends`] owns the outbox; the engine's part below moves messages through it
//! and mirrors each one's status in its conversation's timeline.

use chat_wire::socket::{AckFailure, SendAck};
use chat_wire::{ConversationId, ErrorCode, Message, UserId, event};

use super::Engine;
use super::conversation::Sync;
use super::ctx::AckWait;
use super::link::Route;
use super::output::Event;
use crate::ids::ClientMessageId;
use crate::json;
use crate::outbox::{Outbox, SendState};
use crate::protocol::AckId;
use crate::time::Millis;
use crate::timeline::MessageStatus;

#[derive(Debug, Default)]
pub(crate) struct Sends {
    pub(crate) outbox: Outbox,
    /// The outbox changed since the app was last told to store it.
    pub(crate) changed: bool,
}

impl Sends {
    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        self.outbox.next_deadline()
    }

    /// The ids of the messages in `failed` (or, with `failed` false, all the others).
    pub(crate) fn ids(&self, failed: bool) -> Vec<ClientMessageId> {
        self.outbox
            .entries()
            .iter()
            .filter(|e| matches!(e.state, SendState::Failed { .. }) == failed)
            .map(|e| e.id.clone())
            .collect()
    }

    /// The connection is gone: tries in flight are lost (sent again on the next one) and
    /// backoffs freeze, to resume with what was left of them.
    pub(crate) fn freeze(&mut self, now: Millis) {
        for entry in self.outbox.entries_mut() {
            entry.state = match entry.state {
                SendState::InFlight { .. } => SendState::Queued,
                SendState::Waiting { until } => SendState::Paused {
                    remaining: until.since(now),
                },
                ref other => other.clone(),
            };
        }
    }

    /// Messages whose try is lost (`true`) or whose backoff ended (`false`) at `now`.
    fn due(&self, now: Millis) -> Vec<(ClientMessageId, bool)> {
        self.outbox
            .entries()
            .iter()
            .filter_map(|e| match e.state {
                SendState::InFlight { deadline, .. } if deadline <= now => {
                    Some((e.id.clone(), true))
                }
                SendState::Waiting { until } if until <= now => Some((e.id.clone(), false)),
                _ => None,
            })
            .collect()
    }
}

impl Engine {
    /// Shows a queued message in its conversation (`sending`, or `failed` as restored) and
    /// follows the conversation so the message can go.
    pub(super) fn show_pending(
        &mut self,
        order: u64,
        id: &ClientMessageId,
        conversation: ConversationId,
        text: &str,
        status: MessageStatus,
    ) {
        let user = self.link.user();
        self.conversations
            .entry(&self.ctx.config, conversation)
            .timeline
            .upsert_pending(order, id, text, user, status);
        self.ctx.touch(conversation);
        if status == MessageStatus::Sending {
            self.activate(conversation);
        }
    }

    /// Sends the conversation's head message if it may go now.
    pub(super) fn flush(&mut self, conversation: ConversationId) {
        let Some(route) = self.link.route() else {
            return;
        };
        if self.conversations.get(conversation).map(|s| s.sync) != Some(Sync::Synced) {
            return;
        }
        let Some(head) = self.sends.outbox.head(conversation) else {
            return;
        };
        let id = head.id.clone();
        match head.state {
            SendState::Queued => self.send_try(route, &id),
            SendState::Paused { remaining } => {
                let until = self.ctx.now + remaining;
                if let Some(entry) = self.sends.outbox.entry_mut(&id) {
                    entry.state = SendState::Waiting { until };
                }
            }
            _ => {}
        }
    }

    /// One try of the message `id`, on the route there is.
    fn send_try(&mut self, route: Route, id: &ClientMessageId) {
        let Some(entry) = self.sends.outbox.entry(id) else {
            return;
        };
        let conversation = entry.conversation;
        let ack = match route {
            Route::Socket(socket) => {
                let body = json::send_message(id.as_str(), &entry.text);
                let ack = self.ctx.register_ack(AckWait::Send(id.clone()));
                let args = vec![conversation.0.into(), body];
                self.ctx.emit(socket, Some(ack), event::MESSAGE_SEND, args);
                ack
            }
            Route::Http => {
                let text = entry.text.clone();
                let bearer = self.link.bearer();
                self.http
                    .post(&mut self.ctx, bearer, id, conversation, &text)
            }
        };
        let deadline = self.ctx.now + self.ctx.config.ack_timeout_ms;
        if let Some(entry) = self.sends.outbox.entry_mut(id) {
            entry.state = SendState::InFlight { ack, deadline };
        }
    }

    /// The success ack of a send (or the HTTP-only mode's stored answer).
    pub(super) fn on_sent(&mut self, id: &ClientMessageId, ack: SendAck) {
        let Some(entry) = self.sends.outbox.entry(id) else {
            return; // Already settled (by its echo, or an earlier try's ack).
        };
        let message = Message {
            id: ack.message_id,
            conversation_id: entry.conversation,
            seq: ack.seq,
            sender_id: self.link.user().unwrap_or(UserId(0)),
            text: entry.text.clone(),
            client_message_id: Some(id.as_str().to_owned()),
            created_at: ack.created_at,
        };
        let conversation = entry.conversation;
        self.sends.outbox.remove(id);
        self.ctx.event(Event::Sent {
            client_message_id: id.clone(),
            conversation,
            message: message.id,
            seq: message.seq,
        });
        self.sends.changed = true;
        if let Some(state) = self.conversations.get_mut(conversation) {
            state.timeline.remove_pending(id);
            self.ctx.touch(conversation);
        }
        self.on_message(message, false);
        self.flush(conversation);
    }

    /// A failed ack (or answer) to the try waiting on `ack`.
    pub(super) fn on_send_refused(
        &mut self,
        id: &ClientMessageId,
        ack: AckId,
        failure: AckFailure,
    ) {
        let Some(entry) = self.sends.outbox.entry_mut(id) else {
            return;
        };
        if !matches!(entry.state, SendState::InFlight { ack: current, .. } if current == ack) {
            return; // The answer to an older try; the current one decides.
        }
        match failure.code {
            // The server is busy or cannot store now: not the message's fault, so no try
            // is used up (SPEC.md section 4).
            code if code.is_retryable() => {
                let wait = failure.retry_after_ms.unwrap_or(1000);
                entry.state = SendState::Waiting {
                    until: self.ctx.now + wait,
                };
            }
            ErrorCode::Forbidden | ErrorCode::BadRequest | ErrorCode::TooLong => {
                self.fail_send(id, Some(failure.code));
            }
            _ => self.lose_try(id),
        }
    }

    /// A try went unanswered (or failed in a way a retry may cure).
    pub(super) fn lose_try(&mut self, id: &ClientMessageId) {
        let config = &self.ctx.config;
        let tries = config.send_tries();
        let Some(entry) = self.sends.outbox.entry_mut(id) else {
            return;
        };
        entry.lost_tries += 1;
        if entry.lost_tries >= tries {
            self.fail_send(id, None);
            return;
        }
        let index = usize::try_from(entry.lost_tries - 1).unwrap_or(usize::MAX);
        let delay = config
            .send_retry_delays_ms
            .get(index)
            .or(config.send_retry_delays_ms.last())
            .copied()
            .unwrap_or(0);
        entry.state = SendState::Waiting {
            until: self.ctx.now + delay,
        };
        self.sends.changed = true;
    }

    /// The message is `failed` until `retry`; the conversation's next one may go.
    pub(super) fn fail_send(&mut self, id: &ClientMessageId, code: Option<ErrorCode>) {
        let Some(entry) = self.sends.outbox.entry_mut(id) else {
            return;
        };
        entry.state = SendState::Failed { code };
        let conversation = entry.conversation;
        self.sends.changed = true;
        if let Some(state) = self.conversations.get_mut(conversation)
            && state.timeline.set_pending_status(id, MessageStatus::Failed)
        {
            self.ctx.touch(conversation);
        }
        self.ctx.event(Event::SendFailed {
            client_message_id: id.clone(),
            code,
        });
        self.flush(conversation);
    }

    /// Every unsettled message of `conversation` fails with `code` (its join was refused).
    pub(super) fn fail_conversation(&mut self, conversation: ConversationId, code: ErrorCode) {
        let doomed: Vec<_> = self
            .sends
            .outbox
            .entries()
            .iter()
            .filter(|e| {
                e.conversation == conversation && !matches!(e.state, SendState::Failed { .. })
            })
            .map(|e| e.id.clone())
            .collect();
        for id in doomed {
            self.fail_send(&id, Some(code));
        }
    }

    pub(super) fn expire_sends(&mut self) {
        for (id, lost) in self.sends.due(self.ctx.now) {
            if lost {
                self.lose_try(&id);
            } else if let Some(entry) = self.sends.outbox.entry_mut(&id) {
                entry.state = SendState::Queued;
            }
            if let Some(conversation) = self.sends.outbox.entry(&id).map(|e| e.conversation) {
                self.flush(conversation);
            }
        }
    }
}
