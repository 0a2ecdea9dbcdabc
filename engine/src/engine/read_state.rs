//! Read state and the conversation list's line (SPEC.md section 9): every participant's
//! watermark ("read up to this seq"), the newest seq and message, and the unread count,
//! for joined conversations and the others alike. [`ReadState`] is one conversation's;
//! the engine's part below feeds it from the list, join acks, messages, `conversation:read`
//! events and the app's `mark_conversation_read`, and queues reads made offline.
//!
//! The server moves a sender's own watermark to each message they send (docs/SERVER.md),
//! so every message above the own watermark is someone else's: the unread count is the
//! newest seq minus the own watermark.

use chat_wire::socket::{Conversation, ConversationRead, ReadSeqs};
use chat_wire::{ConversationId, Message, UserId, event};
use std::sync::Arc;

use super::Engine;
use super::ctx::AckWait;
use crate::ids::{RequestId, SocketId};
use crate::json;
use crate::text;
use crate::time::Millis;
use crate::timeline::{MessageView, stored_view};

/// `GET /api/conversations`, asked on every connection: what changed while away, for the
/// conversations not joined (the joined ones catch up through their history).
#[derive(Debug, Default)]
pub(crate) struct ListFetch {
    /// The request under way and its deadline.
    request: Option<(RequestId, Millis)>,
    /// When to ask again after a failure.
    retry_at: Option<Millis>,
    /// Where the page to ask for starts: after the last item of the previous page
    /// (`before`, `beforeId`), or `None` for the first.
    next_page: Option<(String, ConversationId)>,
}

/// Items per page of the list the engine asks for (the server's maximum): a user in 1,000
/// conversations is two requests.
const LIST_PAGE: usize = 500;

impl ListFetch {
    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        let deadline = self.request.map(|(_, deadline)| deadline);
        [deadline, self.retry_at].into_iter().flatten().min()
    }

    /// Whether `id` is the list request (forgetting it if so).
    pub(crate) fn take(&mut self, id: RequestId) -> bool {
        let ours = self.request.is_some_and(|(r, _)| r == id);
        if ours {
            self.request = None;
        }
        ours
    }

    pub(crate) fn stop(&mut self) {
        *self = ListFetch::default();
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ReadState {
    /// Every participant's watermark, as the server last said or as messages imply.
    seqs: ReadSeqs,
    /// Own watermark: the server's, or higher once the app marked the conversation read.
    own: i64,
    /// Own watermark as the server last confirmed it: below `own`, a read is still to
    /// tell it (offline, or lost with a connection), and is told on the next one.
    confirmed: i64,
    /// The newest seq known to exist.
    last_seq: i64,
    pub(crate) last_message: Option<Arc<MessageView>>,
    /// When the conversation last moved (RFC 3339), from the list or the newest message.
    pub(crate) activity_at: Option<String>,
}

/// What the engine reads of an item of `GET /api/conversations` (SPEC.md section 9):
/// the numbers that stay live. Names (usernames, titles) are the app's to show; the
/// engine does not carry them (each field read here costs wasm bytes).
#[derive(Clone, Debug)]
pub(crate) struct ListItem {
    pub(crate) conversation: Conversation,
    pub(crate) last_message: Option<Message>,
    pub(crate) last_read_seq: i64,
    pub(crate) read_seqs: ReadSeqs,
    pub(crate) activity_at: String,
}

impl ReadState {
    pub(crate) fn unread_count(&self) -> i64 {
        self.last_seq.saturating_sub(self.own).max(0)
    }

    pub(crate) fn own(&self) -> i64 {
        self.own
    }

    pub(crate) fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub(crate) fn seqs(&self) -> &ReadSeqs {
        &self.seqs
    }

    /// The highest watermark among the others: own messages up to it are `read`.
    pub(crate) fn others_read_through(&self, me: Option<UserId>) -> i64 {
        self.seqs
            .iter()
            .filter(|(user, _)| Some(*user) != me)
            .map(|(_, seq)| seq)
            .max()
            .unwrap_or(0)
    }

    /// `user` has read up to `seq` (a watermark from the server, or implied by their
    /// message). True if anything changed.
    pub(crate) fn raise(&mut self, user: UserId, seq: i64, me: Option<UserId>) -> bool {
        let mut changed = self.seqs.raise(user, seq);
        if Some(user) == me {
            self.confirmed = self.confirmed.max(seq);
            if seq > self.own {
                self.own = seq;
                changed = true;
            }
        }
        changed
    }

    /// The own watermark, if the server has yet to hear it.
    pub(crate) fn unconfirmed(&self) -> Option<i64> {
        (self.own > self.confirmed).then_some(self.own)
    }

    /// The app read everything known: the own watermark moves to the newest seq. The
    /// seq to tell the server, if it moved.
    pub(crate) fn read_all(&mut self, me: Option<UserId>) -> Option<i64> {
        (self.last_seq > self.own).then(|| {
            self.own = self.last_seq;
            if let Some(me) = me {
                self.seqs.raise(me, self.own);
            }
            self.own
        })
    }

    /// A stored message: the newest seq, the last message, and its sender's watermark.
    /// True if anything changed.
    pub(crate) fn on_message(&mut self, message: &Message, me: Option<UserId>) -> bool {
        let mut changed = self.raise(message.sender_id, message.seq, me);
        if message.seq >= self.last_seq {
            changed |= message.seq > self.last_seq
                || self.last_message.as_ref().and_then(|m| m.id) != Some(message.id);
            self.last_seq = message.seq;
            let mut view = stored_view(message);
            if Some(message.sender_id) == me && message.seq <= self.others_read_through(me) {
                view.status = crate::timeline::MessageStatus::Read;
            }
            self.last_message = Some(Arc::new(view));
            self.activity_at = Some(message.created_at.clone());
        }
        changed
    }

    /// The newest seq is at least `seq` (a join ack's `lastSeq`, the list's).
    pub(crate) fn saw_seq(&mut self, seq: i64) -> bool {
        let moved = seq > self.last_seq;
        self.last_seq = self.last_seq.max(seq);
        moved
    }

    /// What the list (`GET /api/conversations`) says: the server's word, but a watermark
    /// never moves back and a newer message seen here stays.
    fn merge_summary(&mut self, summary: &ListItem, me: Option<UserId>) {
        for (user, seq) in summary.read_seqs.iter() {
            self.raise(user, seq, me);
        }
        if let Some(me) = me {
            self.raise(me, summary.last_read_seq, Some(me));
        }
        match &summary.last_message {
            Some(message) => {
                self.on_message(message, me);
            }
            None => {
                self.saw_seq(summary.conversation.last_seq);
            }
        }
        if self.last_message.is_none() {
            self.activity_at = Some(summary.activity_at.clone());
        }
    }
}

impl Engine {
    /// The app read the whole conversation: its unread count is 0 at once, and the server
    /// is told (`conversation:read`) now or, offline, on the next connection (only the
    /// highest seq: a read not confirmed is told again whenever the server says less).
    pub(super) fn read_conversation(&mut self, conversation: ConversationId) {
        let me = self.link.user();
        let Some(seq) = self
            .conversations
            .get_mut(conversation)
            .and_then(|state| state.read.read_all(me))
        else {
            return;
        };
        self.ctx.touch(conversation);
        if let Some(socket) = self.link.connected_socket() {
            self.emit_conversation_read(socket, conversation, seq);
        }
    }

    /// Tells the server every own watermark it has not confirmed (after connecting, and
    /// when a join ack or the list says less than was read here).
    pub(super) fn send_unconfirmed_reads(&mut self) {
        let Some(socket) = self.link.connected_socket() else {
            return;
        };
        for conversation in self.conversations.ids() {
            let seq = self
                .conversations
                .get(conversation)
                .and_then(|state| state.read.unconfirmed());
            if let Some(seq) = seq {
                self.emit_conversation_read(socket, conversation, seq);
            }
        }
    }

    pub(super) fn emit_conversation_read(
        &mut self,
        socket: SocketId,
        conversation: ConversationId,
        seq: i64,
    ) {
        let ack = self
            .ctx
            .register_ack(AckWait::ReadConversation(conversation));
        let args = vec![conversation.0.into(), seq.into()];
        self.ctx
            .emit(socket, Some(ack), event::CONVERSATION_READ, args);
    }

    /// Someone's watermark moved (`conversation:read` from the server, or its ack for
    /// our own).
    pub(super) fn on_conversation_read(&mut self, read: ConversationRead) {
        let me = self.link.user();
        let Some(state) = self.conversations.get_mut(read.conversation_id) else {
            return; // a conversation the app has not listed yet: the list will say
        };
        if state.read.raise(read.user_id, read.last_read_seq, me) {
            let through = state.read.others_read_through(me);
            state.timeline.read_through(through, me);
            self.ctx.touch(read.conversation_id);
        }
    }

    /// Asks for the conversation list (on every connection), unless a request is under way:
    /// the first page, or the one after the page last received.
    pub(super) fn fetch_list(&mut self) {
        let fetch = &mut self.conversations.list_fetch;
        if fetch.request.is_some() {
            return;
        }
        fetch.retry_at = None;
        let mut path = text!("/api/conversations?limit=", LIST_PAGE);
        if let Some((before, before_id)) = &fetch.next_page {
            // `activityAt` is RFC 3339 UTC (digits, `-`, `:`, `.`, `T`, `Z`): nothing to escape.
            path = text!(path, "&before=", before, "&beforeId=", before_id);
        }
        let url = self.ctx.config.api_url(&path);
        let id = self.ctx.http("GET", url, self.link.bearer(), None);
        let deadline = self.ctx.now + self.ctx.config.request_timeout_ms;
        self.conversations.list_fetch.request = Some((id, deadline));
    }

    /// The answer to the list request (`None`: no answer at all).
    pub(super) fn on_list_response(&mut self, answer: Option<(u16, &str)>) {
        let list = match answer {
            Some((200, body)) => json::list_items(body),
            _ => None,
        };
        match list {
            Some(list) => {
                self.merge_conversations(&list);
                self.send_unconfirmed_reads();
                let next = list
                    .last()
                    .filter(|_| list.len() >= LIST_PAGE)
                    .map(|last| (last.activity_at.clone(), last.conversation.id));
                self.conversations.list_fetch.next_page = next;
                if self.conversations.list_fetch.next_page.is_some() {
                    self.fetch_list();
                }
            }
            None => {
                self.ctx.warn("conversation list request failed".into());
                let retry_at = self.ctx.now + self.ctx.config.request_retry_ms;
                self.conversations.list_fetch.retry_at = Some(retry_at);
            }
        }
    }

    /// The list request's deadline and retry, at `now`.
    pub(super) fn expire_list_fetch(&mut self) {
        let now = self.ctx.now;
        let fetch = &mut self.conversations.list_fetch;
        if fetch.request.is_some_and(|(_, deadline)| deadline <= now) {
            fetch.request = None;
            self.on_list_response(None);
        }
        let fetch = &mut self.conversations.list_fetch;
        if fetch.retry_at.is_some_and(|at| at <= now) && self.link.route().is_some() {
            self.fetch_list();
        }
    }

    /// The conversation list from `GET /api/conversations`: participants, watermarks,
    /// the newest message, for conversations joined or not.
    pub(super) fn merge_conversations(&mut self, list: &[ListItem]) {
        let me = self.link.user();
        for summary in list {
            let id = summary.conversation.id;
            let state = self.conversations.entry(&self.ctx.config, id);
            state.add_participants(summary.conversation.participant_ids.iter().copied());
            state.read.merge_summary(summary, me);
            let through = state.read.others_read_through(me);
            state.timeline.read_through(through, me);
            self.ctx.touch(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_wire::MessageId;

    const ME: UserId = UserId(1);
    const OTHER: UserId = UserId(2);

    fn message(seq: i64, sender: UserId) -> Message {
        Message {
            id: MessageId(100 + seq),
            conversation_id: ConversationId(7),
            seq,
            sender_id: sender,
            text: format!("m{seq}"),
            client_message_id: None,
            created_at: format!("2026-12-04T10:00:{seq:02}.000Z"),
        }
    }

    #[test]
    fn the_unread_count_is_the_newest_seq_above_the_own_watermark() {
        let mut read = ReadState::default();
        for seq in 1..=3 {
            read.on_message(&message(seq, OTHER), Some(ME));
        }
        assert_eq!(read.unread_count(), 3);
        // My own message moves my watermark (as on the server): nothing above it is unread.
        read.on_message(&message(4, ME), Some(ME));
        assert_eq!(
            (read.unread_count(), read.own(), read.unconfirmed()),
            (0, 4, None)
        );
        read.on_message(&message(5, OTHER), Some(ME));
        assert_eq!(read.unread_count(), 1);
        assert_eq!(read.last_message.as_ref().and_then(|m| m.seq), Some(5));
    }

    #[test]
    fn reading_here_clears_at_once_and_stays_unconfirmed_until_the_server_says_so() {
        let mut read = ReadState::default();
        read.on_message(&message(1, OTHER), Some(ME));
        read.on_message(&message(2, OTHER), Some(ME));
        assert_eq!(read.read_all(Some(ME)), Some(2));
        assert_eq!((read.unread_count(), read.unconfirmed()), (0, Some(2)));
        assert_eq!(read.read_all(Some(ME)), None, "nothing new to read");
        // A stale server value (the list, a join ack) never moves the watermark back.
        assert!(!read.raise(ME, 1, Some(ME)));
        assert_eq!((read.own(), read.unconfirmed()), (2, Some(2)));
        read.raise(ME, 2, Some(ME));
        assert_eq!(read.unconfirmed(), None);
    }

    #[test]
    fn own_messages_are_read_up_to_the_highest_watermark_of_the_others() {
        let mut read = ReadState::default();
        read.raise(ME, 9, Some(ME));
        read.raise(OTHER, 4, Some(ME));
        read.raise(UserId(3), 6, Some(ME));
        assert_eq!(read.others_read_through(Some(ME)), 6);
        read.on_message(&message(5, ME), Some(ME));
        let last = read.last_message.clone().expect("a last message");
        assert_eq!(last.status, crate::timeline::MessageStatus::Read);
    }
}
