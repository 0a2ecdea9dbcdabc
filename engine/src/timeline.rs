//! One conversation's timeline: stored messages by seq, then unsent ones by send order.
//!
//! Deduplicated by id (one entry per seq) and by `(sender, clientMessageId)`, so an
//! optimistic message and its echo (or its ack, or a history page carrying it) are one
//! entry. Entries are `Arc`s: a snapshot copies pointers, not texts.

use chat_wire::{Message, MessageId, UserId};
use std::sync::Arc;

use crate::ids::ClientMessageId;
use crate::snapshot::Messages;

/// A message as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    /// The server's id; `None` until the send is acknowledged.
    pub id: Option<MessageId>,
    pub seq: Option<i64>,
    /// `None` for an unsent message when the engine does not know its own user id.
    pub sender_id: Option<UserId>,
    pub text: String,
    pub client_message_id: Option<String>,
    /// RFC 3339, from the server; `None` until acknowledged.
    pub created_at: Option<String>,
    pub status: MessageStatus,
}

/// A message's status (the `data-status` of SPEC.md section 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    Sending,
    Sent,
    Failed,
    Read,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
            MessageStatus::Read => "read",
        }
    }
}

/// What inserting a stored message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// A message the timeline did not have (it may have replaced an optimistic one).
    New { replaced_pending: bool },
    /// Already there.
    Duplicate,
    /// Another message already holds that seq: the server's word was already taken.
    Conflict,
}

#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    /// Sorted by seq, unique seqs.
    confirmed: Messages,
    /// Unsent, sorted by send order.
    pending: Vec<(u64, Arc<MessageView>)>,
    /// Stored messages kept; the oldest beyond it are dropped.
    window: usize,
    /// The server has messages older than the oldest kept.
    pub(crate) has_older: bool,
    /// Own messages up to this seq are `read`: another participant's watermark reached it.
    read_through: i64,
    /// What changed since the view was last brought up to date.
    since: Since,
}

/// How the messages differ from the view last patched ([`Timeline::patch`]; an empty one
/// for a new timeline), so that a patch copies only what moved: a message at the end
/// costs O(1), not a copy of the timeline.
#[derive(Clone, Debug, Default)]
struct Since {
    /// Stored messages changed (inserted, dropped, or their status).
    changed: bool,
    /// Stored messages dropped from the front.
    dropped: usize,
    /// `confirmed[..kept]` is what the view holds after its first `dropped`.
    kept: usize,
    /// Unsent messages at the view's end.
    pending: usize,
}

impl Timeline {
    pub(crate) fn new(capacity: usize) -> Self {
        Timeline {
            confirmed: Messages::default(),
            pending: Vec::new(),
            window: capacity.max(1),
            has_older: false,
            read_through: 0,
            since: Since::default(),
        }
    }

    /// The stored message at `index` changed, or one was inserted there.
    fn changed_at(&mut self, index: usize) {
        self.since.changed = true;
        self.since.kept = self.since.kept.min(index);
    }

    /// Merges a stored message; an optimistic entry with the same `(sender, clientMessageId)`
    /// becomes this one.
    pub(crate) fn insert(&mut self, message: &Message, me: Option<UserId>) -> Inserted {
        let mut replaced_pending = false;
        if let Some(cmid) = &message.client_message_id
            && me.is_none_or(|me| me == message.sender_id)
        {
            let before = self.pending.len();
            self.pending
                .retain(|(_, view)| view.client_message_id.as_deref() != Some(cmid.as_str()));
            replaced_pending = before != self.pending.len();
        }
        match self.find(message.seq) {
            Ok(index) => {
                if self.confirmed[index].id == Some(message.id) {
                    Inserted::Duplicate
                } else {
                    Inserted::Conflict
                }
            }
            Err(index) => {
                if index == 0 && self.confirmed.len() >= self.window {
                    // Older than everything kept, and no room: it would be dropped at once.
                    self.has_older = true;
                    return Inserted::New { replaced_pending };
                }
                let mut view = stored_view(message);
                if Some(message.sender_id) == me && message.seq <= self.read_through {
                    view.status = MessageStatus::Read;
                }
                self.confirmed.insert(index, Arc::new(view));
                self.changed_at(index);
                if self.confirmed.len() > self.window {
                    let excess = self.confirmed.len() - self.window;
                    self.confirmed.drop_front(excess);
                    self.since.dropped += excess;
                    self.since.kept = self.since.kept.saturating_sub(excess);
                    self.has_older = true;
                }
                Inserted::New { replaced_pending }
            }
        }
    }

    /// Shows an unsent message (or moves an existing one to `order`).
    pub(crate) fn upsert_pending(
        &mut self,
        order: u64,
        cmid: &ClientMessageId,
        text: &str,
        sender: Option<UserId>,
        status: MessageStatus,
    ) {
        self.pending
            .retain(|(_, view)| view.client_message_id.as_deref() != Some(cmid.as_str()));
        let view = MessageView {
            id: None,
            seq: None,
            sender_id: sender,
            text: text.to_owned(),
            client_message_id: Some(cmid.as_str().to_owned()),
            created_at: None,
            status,
        };
        let index = self.pending.partition_point(|(o, _)| *o < order);
        self.pending.insert(index, (order, Arc::new(view)));
    }

    /// Sets an unsent message's status; false if it is not there or already had it.
    pub(crate) fn set_pending_status(
        &mut self,
        cmid: &ClientMessageId,
        status: MessageStatus,
    ) -> bool {
        for (_, view) in &mut self.pending {
            if view.client_message_id.as_deref() == Some(cmid.as_str()) && view.status != status {
                Arc::make_mut(view).status = status;
                return true;
            }
        }
        false
    }

    /// Whether a message with this `clientMessageId` is shown, sent or not.
    pub(crate) fn shows(&self, cmid: &ClientMessageId) -> bool {
        let is = |view: &Arc<MessageView>| view.client_message_id.as_deref() == Some(cmid.as_str());
        self.pending.iter().any(|(_, view)| is(view)) || self.confirmed.iter().any(is)
    }

    pub(crate) fn remove_pending(&mut self, cmid: &ClientMessageId) -> bool {
        let before = self.pending.len();
        self.pending
            .retain(|(_, view)| view.client_message_id.as_deref() != Some(cmid.as_str()));
        before != self.pending.len()
    }

    /// A read receipt: the message is `read`. False if it is not kept.
    pub(crate) fn mark_read(&mut self, id: MessageId) -> bool {
        let index = self.confirmed.iter().position(|m| m.id == Some(id));
        match index {
            Some(index) if self.confirmed[index].status != MessageStatus::Read => {
                Arc::make_mut(&mut self.confirmed.as_mut_slice()[index]).status =
                    MessageStatus::Read;
                self.changed_at(index);
                true
            }
            _ => false,
        }
    }

    /// Another participant has read up to `seq`: own messages up to it are `read`. True
    /// if a kept message changed.
    pub(crate) fn read_through(&mut self, seq: i64, me: Option<UserId>) -> bool {
        if seq <= self.read_through {
            return false;
        }
        let from = std::mem::replace(&mut self.read_through, seq);
        if me.is_none() {
            return false;
        }
        // Counted from the newest end: the watermark moves up behind the newest messages,
        // so only the few above the last one are looked at.
        let above = |bound: i64, kept: &[Arc<MessageView>]| {
            let newer = kept.iter().rev().take_while(|m| m.seq.unwrap_or(0) > bound);
            kept.len() - newer.count()
        };
        let end = above(seq, &self.confirmed);
        let start = above(from, &self.confirmed[..end]);
        let mut first = None;
        for (index, view) in self.confirmed.as_mut_slice()[start..end]
            .iter_mut()
            .enumerate()
        {
            if view.sender_id == me && view.status == MessageStatus::Sent {
                Arc::make_mut(view).status = MessageStatus::Read;
                first = first.or(Some(start + index));
            }
        }
        if let Some(index) = first {
            self.changed_at(index);
        }
        first.is_some()
    }

    /// The oldest seq kept.
    pub(crate) fn oldest_seq(&self) -> Option<i64> {
        self.confirmed.first().and_then(|m| m.seq)
    }

    /// Keeps `extra` more stored messages: an older page the user asked for.
    pub(crate) fn widen(&mut self, extra: usize) {
        self.window = self.window.saturating_add(extra);
    }

    /// The stored message with this seq, if kept.
    pub(crate) fn stored(&self, seq: i64) -> Option<&Arc<MessageView>> {
        self.confirmed.get(self.find(seq).ok()?)
    }

    /// Where `seq` is (`Ok`) or would go (`Err`) among the stored messages. The newest
    /// end is looked at first: that is where live messages go, and a binary search over
    /// `Arc`s reads a cold cache line at each step.
    fn find(&self, seq: i64) -> Result<usize, usize> {
        let len = self.confirmed.len();
        // Not in the wasm, for its size budget (and a 100-message window there).
        let last = match cfg!(target_arch = "wasm32") {
            true => None,
            false => self.confirmed.last().and_then(|m| m.seq),
        };
        match last {
            Some(last) if last < seq => Err(len),
            Some(last) if last == seq => Ok(len - 1),
            _ => self
                .confirmed
                .binary_search_by_key(&seq, |m| m.seq.unwrap_or(0)),
        }
    }

    /// Brings `view` (what this made last, or an empty view for a new timeline) up to
    /// date: it keeps the stored messages that stayed and copies only the rest. True if
    /// it changed.
    pub(crate) fn patch(&mut self, view: &mut Messages) -> bool {
        let now = self.now_shown();
        let since = std::mem::replace(&mut self.since, now);
        let stored = view.len().saturating_sub(since.pending);
        let pending_same = view[stored..]
            .iter()
            .eq(self.pending.iter().map(|(_, view)| view));
        if !since.changed && pending_same {
            return false;
        }
        view.truncate(stored.min(since.dropped + since.kept));
        view.drop_front(since.dropped);
        let pending = self.pending.iter().map(|(_, view)| view);
        for message in self.confirmed[since.kept..].iter().chain(pending) {
            view.push(message);
        }
        true
    }

    /// The next [`Timeline::patch`] is of an empty view: it copies everything.
    pub(crate) fn forget_view(&mut self) {
        self.since = Since {
            changed: true,
            ..Since::default()
        };
    }

    /// What a view made now would hold: nothing changed since.
    fn now_shown(&self) -> Since {
        Since {
            changed: false,
            dropped: 0,
            kept: self.confirmed.len(),
            pending: self.pending.len(),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.confirmed.len() + self.pending.len()
    }
}

pub(crate) fn stored_view(message: &Message) -> MessageView {
    MessageView {
        id: Some(message.id),
        seq: Some(message.seq),
        sender_id: Some(message.sender_id),
        text: message.text.clone(),
        client_message_id: message.client_message_id.clone(),
        created_at: Some(message.created_at.clone()),
        status: MessageStatus::Sent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_wire::ConversationId;

    fn message(seq: i64, cmid: Option<&str>) -> Message {
        Message {
            id: MessageId(100 + seq),
            conversation_id: ConversationId(1),
            seq,
            sender_id: UserId(1),
            text: format!("m{seq}"),
            client_message_id: cmid.map(str::to_owned),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    /// Everything, in display order.
    fn made_anew(timeline: &Timeline) -> Vec<Arc<MessageView>> {
        let pending = timeline.pending.iter().map(|(_, view)| view);
        timeline.confirmed.iter().chain(pending).cloned().collect()
    }

    #[test]
    fn sorts_by_seq_and_drops_duplicates() {
        let mut timeline = Timeline::new(100);
        for seq in [3, 1, 2, 3, 1] {
            timeline.insert(&message(seq, None), None);
        }
        let seqs: Vec<_> = made_anew(&timeline).iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [Some(1), Some(2), Some(3)]);
        assert_eq!(
            timeline.insert(&message(2, None), None),
            Inserted::Duplicate
        );
        let mut other = message(2, None);
        other.id = MessageId(999);
        assert_eq!(timeline.insert(&other, None), Inserted::Conflict);
    }

    #[test]
    fn an_echo_replaces_its_optimistic_message() {
        let mut rng = fastrand::Rng::with_seed(3);
        let cmid = ClientMessageId::generate(&mut rng);
        let mut timeline = Timeline::new(100);
        timeline.upsert_pending(1, &cmid, "hi", Some(UserId(1)), MessageStatus::Sending);
        assert_eq!(timeline.len(), 1);
        let inserted = timeline.insert(&message(1, Some(cmid.as_str())), Some(UserId(1)));
        assert_eq!(
            inserted,
            Inserted::New {
                replaced_pending: true
            }
        );
        assert_eq!(timeline.len(), 1);
        assert_eq!(made_anew(&timeline)[0].status, MessageStatus::Sent);
    }

    #[test]
    fn another_users_reuse_of_a_client_message_id_is_another_message() {
        let mut rng = fastrand::Rng::with_seed(3);
        let cmid = ClientMessageId::generate(&mut rng);
        let mut timeline = Timeline::new(100);
        timeline.upsert_pending(1, &cmid, "hi", Some(UserId(2)), MessageStatus::Sending);
        timeline.insert(&message(1, Some(cmid.as_str())), Some(UserId(2)));
        assert_eq!(timeline.len(), 2);
    }

    #[test]
    fn keeps_at_most_the_capacity_dropping_the_oldest() {
        let mut timeline = Timeline::new(3);
        for seq in 1..=5 {
            timeline.insert(&message(seq, None), None);
        }
        assert_eq!(timeline.oldest_seq(), Some(3));
        assert!(timeline.has_older);
        timeline.insert(&message(1, None), None);
        assert_eq!(timeline.oldest_seq(), Some(3));
        timeline.widen(2);
        timeline.insert(&message(2, None), None);
        assert_eq!(timeline.oldest_seq(), Some(2));
        assert!(timeline.mark_read(MessageId(104)));
        assert!(!timeline.mark_read(MessageId(104)));
    }

    #[test]
    fn a_patched_view_equals_one_made_anew() {
        // Merges at the end and anywhere, duplicates, drops past the window, status
        // changes and unsent messages and their echoes: the view patched all along is the
        // one made from scratch, and `patch` says whether it moved.
        for seed in 0..300 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let me = Some(UserId(1));
            let mut timeline = Timeline::new(rng.usize(1..12));
            let mut view = Messages::default();
            let cmids: Vec<_> = (0..6)
                .map(|_| ClientMessageId::generate(&mut rng))
                .collect();
            let mut next = 1;
            for _ in 0..80 {
                let cmid = &cmids[rng.usize(..cmids.len())];
                let mut stored = message(next, None);
                stored.sender_id = UserId(rng.i64(1..3));
                match rng.u8(0..8) {
                    0..=2 => next += 1,
                    3 => stored = message(rng.i64(1..next + 3), None),
                    4 => {
                        stored.client_message_id = Some(cmid.as_str().to_owned());
                        next += 1;
                    }
                    5 => {
                        let status =
                            [MessageStatus::Sending, MessageStatus::Failed][rng.usize(..2)];
                        timeline.upsert_pending(rng.u64(0..10), cmid, "p", me, status);
                    }
                    6 => {
                        timeline.mark_read(MessageId(100 + rng.i64(1..next + 1)));
                        timeline.remove_pending(cmid);
                    }
                    _ => {
                        timeline.read_through(rng.i64(0..next + 1), me);
                        timeline.widen(rng.usize(0..3));
                    }
                }
                if stored.seq <= next {
                    timeline.insert(&stored, me);
                }
                if rng.bool() {
                    let before = view.to_vec();
                    let moved = timeline.patch(&mut view);
                    assert_eq!(view[..], made_anew(&timeline)[..], "seed {seed}");
                    assert_eq!(moved, before[..] != view[..], "seed {seed}");
                }
            }
        }
    }
}
