//! One conversation's timeline: stored messages by seq, then unsent ones by send order.
//!
//! Deduplicated by id (one entry per seq) and by `(sender, clientMessageId)`, so an
//! optimistic message and its echo (or its ack, or a history page carrying it) are one
//! entry. Entries are `Arc`s: a snapshot copies pointers, not texts.

use chat_wire::{Message, MessageId, UserId};
use std::sync::Arc;

use crate::ids::ClientMessageId;

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
    confirmed: Vec<Arc<MessageView>>,
    /// Unsent, sorted by send order.
    pending: Vec<(u64, Arc<MessageView>)>,
    /// Stored messages kept; the oldest beyond it are dropped.
    window: usize,
    /// The server has messages older than the oldest kept.
    pub(crate) has_older: bool,
    /// Own messages up to this seq are `read`: another participant's watermark reached it.
    read_through: i64,
}

impl Timeline {
    pub(crate) fn new(capacity: usize) -> Self {
        Timeline {
            confirmed: Vec::new(),
            pending: Vec::new(),
            window: capacity.max(1),
            has_older: false,
            read_through: 0,
        }
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
        match self
            .confirmed
            .binary_search_by_key(&message.seq, |m| m.seq.unwrap_or(0))
        {
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
                if self.confirmed.len() > self.window {
                    let excess = self.confirmed.len() - self.window;
                    self.confirmed.drain(..excess);
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
        match self.confirmed.iter_mut().find(|m| m.id == Some(id)) {
            Some(view) if view.status != MessageStatus::Read => {
                Arc::make_mut(view).status = MessageStatus::Read;
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
        let seq_of = |m: &Arc<MessageView>| m.seq.unwrap_or(0);
        let start = self.confirmed.partition_point(|m| seq_of(m) <= from);
        let end = self.confirmed.partition_point(|m| seq_of(m) <= seq);
        let mut changed = false;
        for view in &mut self.confirmed[start..end] {
            if me.is_some() && view.sender_id == me && view.status == MessageStatus::Sent {
                Arc::make_mut(view).status = MessageStatus::Read;
                changed = true;
            }
        }
        changed
    }

    /// The oldest seq kept.
    pub(crate) fn oldest_seq(&self) -> Option<i64> {
        self.confirmed.first().and_then(|m| m.seq)
    }

    /// Keeps `extra` more stored messages: an older page the user asked for.
    pub(crate) fn widen(&mut self, extra: usize) {
        self.window = self.window.saturating_add(extra);
    }

    /// Everything, in display order.
    pub(crate) fn views(&self) -> Vec<Arc<MessageView>> {
        self.confirmed
            .iter()
            .cloned()
            .chain(self.pending.iter().map(|(_, view)| view.clone()))
            .collect()
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

    #[test]
    fn sorts_by_seq_and_drops_duplicates() {
        let mut timeline = Timeline::new(100);
        for seq in [3, 1, 2, 3, 1] {
            timeline.insert(&message(seq, None), None);
        }
        let seqs: Vec<_> = timeline.views().iter().map(|m| m.seq).collect();
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
        assert_eq!(timeline.views()[0].status, MessageStatus::Sent);
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
}
