//! What comes in on the socket, routed: the link handles the transport's own packets and
//! hands back the rest ([`Incoming`]); events go to the conversations, acks to whoever
//! waits for them.

use crate::text;
use chat_wire::socket::{Ack, ConversationRead, Typing};
use chat_wire::{Message, UserId, event};

use super::Engine;
use super::ctx::AckWait;
use super::link::Incoming;
use super::output::Event;
use crate::ids::{ClientMessageId, SocketId};
use crate::json::{self, Value};
use crate::protocol::AckId;
use crate::timeline::Inserted;

impl Engine {
    pub(super) fn on_frame(&mut self, socket: SocketId, frame: &str) {
        match self.link.handle_frame(&mut self.ctx, socket, frame) {
            Incoming::Handled => {}
            Incoming::Connected(socket) => self.on_connected(socket),
            #[cfg(not(target_arch = "wasm32"))]
            Incoming::MessageNew(message) => self.on_message(message, true),
            Incoming::Event { name, args } => self.on_event(&name, args),
            Incoming::Ack { id, args } => self.on_ack(id, args),
            Incoming::Lost(reason) => self.lose_connection(&reason, true),
            Incoming::AuthFailed(message) => self.auth_failure(message),
        }
    }

    fn on_event(&mut self, name: &str, args: Vec<Value>) {
        let first = args.into_iter().next().unwrap_or(Value::Null);
        match name {
            event::MESSAGE_NEW => match json::message(&first) {
                Some(message) => self.on_message(message, true),
                None => self.ctx.warn("message:new ignored: malformed".into()),
            },
            event::TYPING_START | event::TYPING_STOP => match json::typing(&first) {
                Some(typing) => self.on_typing(typing, name == event::TYPING_START),
                None => self.ctx.warn(text!(name, " ignored: malformed")),
            },
            event::USER_ONLINE | event::USER_OFFLINE => match json::user_id(&first) {
                Some(user) => self.on_presence(user, name == event::USER_ONLINE),
                None => self.ctx.warn(text!(name, " ignored: malformed")),
            },
            event::MESSAGE_READ => match json::read_receipt(&first) {
                Some(receipt) => {
                    if let Some(state) = self.conversations.get_mut(receipt.conversation_id)
                        && state.timeline.mark_read(receipt.message_id)
                    {
                        self.ctx.touch(receipt.conversation_id);
                    }
                }
                None => self.ctx.warn("message:read ignored: malformed".into()),
            },
            event::CONVERSATION_READ => match json::conversation_read(&first) {
                Some(read) => self.on_conversation_read(read),
                None => self.ctx.warn("conversation:read ignored: malformed".into()),
            },
            event::CONVERSATION_NEW => match json::conversation(&first) {
                Some(conversation) => {
                    // Listed from now on: its messages move its line (SPEC.md section 9).
                    let state = self.conversations.entry(&self.ctx.config, conversation.id);
                    state.add_participants(conversation.participant_ids.iter().copied());
                    if state.read.saw_seq(conversation.last_seq) {
                        self.ctx.touch(conversation.id);
                    }
                    self.ctx.event(Event::ConversationNew(conversation));
                }
                None => self.ctx.warn("conversation:new ignored: malformed".into()),
            },
            other => self.ctx.warn(text!("unknown event ", other, " ignored")),
        }
    }

    /// A stored message from `message:new` (`live`), a send ack or a history page.
    pub(super) fn on_message(&mut self, message: Message, live: bool) {
        let conversation = message.conversation_id;
        let me = self.link.user();
        if message.seq < 1 {
            return self
                .ctx
                .warn(text!("message with seq ", message.seq, " ignored"));
        }
        let Some(state) = self.conversations.get_mut(conversation) else {
            // Conversations come from the list, `conversation:new` or a join first.
            return self.ctx.warn(text!(
                "message for unknown conversation ",
                conversation,
                " ignored"
            ));
        };
        if live && !state.active {
            // Listed but not joined: its line in the list moves (SPEC.md section 9); its
            // timeline fills when it is joined.
            if state.read.on_message(&message, me) {
                self.ctx.touch(conversation);
            }
            return;
        }
        if state.read.on_message(&message, me) {
            let through = state.read.others_read_through(me);
            state.timeline.read_through(through, me);
            self.ctx.touch(conversation);
        }
        let inserted = state.timeline.insert(&message, me);
        // Whoever sends a message has stopped typing it.
        if state.set_typing(message.sender_id, false, self.ctx.now) {
            self.ctx.event(Event::Typing {
                conversation,
                user: message.sender_id,
                typing: false,
            });
        }
        state.max_seen = state.max_seen.max(message.seq);
        if let Some(contiguous) = state.contiguous
            && contiguous.checked_add(1) == Some(message.seq)
        {
            state.contiguous = Some(message.seq);
        }
        let gap = state.behind();
        // Kept unless older than everything a full window holds.
        let kept = match inserted {
            Inserted::New { .. } => {
                self.ctx.touch(conversation);
                let kept = state.timeline.stored(message.seq).cloned();
                #[cfg(not(target_arch = "wasm32"))]
                if let Some(view) = &kept {
                    self.ctx.event(Event::Stored {
                        conversation,
                        message: view.clone(),
                    });
                }
                kept
            }
            Inserted::Duplicate => None,
            Inserted::Conflict => {
                self.ctx.warn(text!(
                    "message ",
                    message.id,
                    " conflicts with a stored seq ",
                    message.seq
                ));
                None
            }
        };
        // Our own message, acknowledged by its echo or a history page: the send is done.
        let own = me.is_none_or(|me| me == message.sender_id);
        if own
            && let Some(id) = message
                .client_message_id
                .as_deref()
                .and_then(|text| ClientMessageId::parse(text).ok())
            && self.sends.outbox.remove(&id).is_some()
        {
            self.ctx.event(Event::Sent {
                client_message_id: id,
                conversation,
                message: message.id,
                seq: message.seq,
            });
            self.sends.changed = true;
            self.flush(conversation);
        }
        if live && let Some(view) = kept {
            self.ctx.event(Event::MessageReceived(view));
        }
        if gap {
            self.ensure_backfill(conversation);
        }
    }

    fn on_typing(&mut self, typing: Typing, started: bool) {
        let expiry = self.ctx.now + self.ctx.config.typing_expiry_ms;
        if Some(typing.user_id) == self.link.user() {
            return;
        }
        let Some(state) = self
            .conversations
            .get_mut(typing.conversation_id)
            .filter(|s| s.active)
        else {
            return self.ctx.warn(text!(
                "typing in conversation ",
                typing.conversation_id,
                " not joined ignored"
            ));
        };
        if state.set_typing(typing.user_id, started, expiry) {
            self.ctx.touch(typing.conversation_id);
            self.ctx.event(Event::Typing {
                conversation: typing.conversation_id,
                user: typing.user_id,
                typing: started,
            });
        }
    }

    fn on_presence(&mut self, user: UserId, online: bool) {
        let mut any = false;
        for (id, state) in self.conversations.iter_mut() {
            if state.set_presence(user, online) {
                any = true;
                self.ctx.dirty.insert(*id);
            }
        }
        if any || online {
            self.ctx.event(Event::Presence { user, online });
        }
    }

    fn on_ack(&mut self, id: AckId, args: Vec<Value>) {
        let Some(wait) = self.ctx.acks.remove(&id) else {
            return self
                .ctx
                .warn(text!("ack ", id.0, " for nothing sent ignored"));
        };
        let first = args.into_iter().next().unwrap_or(Value::Null);
        match wait {
            AckWait::Join(conversation) => match json::join_ack(&first) {
                Some(Ack::Success(ack)) => self.on_joined(conversation, id, ack),
                Some(Ack::Failure(failure)) if failure.code.is_retryable() => {
                    self.join_later(conversation, id, failure.retry_after_ms);
                }
                Some(Ack::Failure(failure)) => self.on_join_refused(conversation, failure),
                None => self.ctx.warn("join ack unreadable".into()),
            },
            AckWait::Send(message) => match json::send_ack(&first) {
                Some(Ack::Success(ack)) => self.on_sent(&message, ack),
                Some(Ack::Failure(failure)) => self.on_send_refused(&message, id, failure),
                None => self.ctx.warn("send ack unreadable".into()),
            },
            AckWait::ReadConversation(conversation) => match json::read_ack(&first) {
                Some(Ack::Success(ack)) => {
                    if let Some(user) = self.link.user() {
                        self.on_conversation_read(ConversationRead {
                            conversation_id: conversation,
                            user_id: user,
                            last_read_seq: ack.last_read_seq,
                        });
                    }
                }
                Some(Ack::Failure(failure)) => {
                    self.ctx
                        .warn(text!("read refused: ", failure.error.as_str()));
                }
                None => self.ctx.warn("read ack unreadable".into()),
            },
            AckWait::Leave | AckWait::Read => {
                if let Some(Ack::Failure(failure)) = json::ok_ack(&first) {
                    self.ctx.warn(text!("refused: ", failure.error.as_str()));
                }
            }
        }
    }
}
