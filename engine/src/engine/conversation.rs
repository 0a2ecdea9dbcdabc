//! One conversation as the engine follows it: whether the app follows it, where its sync
//! stands on the current connection, its timeline, who types and who is online in it.
//! [`Conversations`] holds them all, and the read receipts waiting for a connection.

use chat_wire::{ConversationId, MessageId, UserId};
use std::sync::Arc;

use super::read_state::{ListFetch, ReadState};
use crate::config::Config;
use crate::ids::RequestId;
use crate::protocol::AckId;
use crate::snapshot::{self, ConversationView, Messages};
use crate::time::Millis;
use crate::timeline::Timeline;
use crate::vecmap::{VecMap, VecSet};

/// Where a conversation stands on the current connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sync {
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
pub(crate) struct Conversation {
    /// Joined by the app (and rejoined on every connection).
    pub(crate) active: bool,
    pub(crate) timeline: Timeline,
    pub(crate) sync: Sync,
    /// Every seq up to this one has been seen; `None` before the first join.
    pub(crate) contiguous: Option<i64>,
    /// The highest seq seen.
    pub(crate) max_seen: i64,
    /// The catch-up request under way, or when to ask again after one failed.
    pub(crate) backfill: Option<RequestId>,
    pub(crate) backfill_retry_at: Option<Millis>,
    /// The older-page request under way.
    pub(crate) older: Option<RequestId>,
    /// Own typing: when `typing:start` was last sent and when `typing:stop` is due.
    typing_out: Option<(Millis, Millis)>,
    /// Others typing, until when.
    typing_in: VecMap<UserId, Millis>,
    online: VecSet<UserId>,
    /// Users known to be in the conversation (so `user:online` can be placed).
    participants: VecSet<UserId>,
    /// Watermarks, the unread count, the last message (joined or not).
    pub(crate) read: ReadState,
}

impl Conversation {
    fn new(config: &Config) -> Self {
        Conversation {
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
            read: ReadState::default(),
        }
    }

    /// Brings this conversation's view in `views` up to date; true if it changed. A view
    /// that no one else holds (not the app, not the JS cache) is patched in place, which
    /// no one can tell from a new one: a message at the timeline's end costs O(1). One
    /// held elsewhere stays as it was: a new view is made whole, and kept if it differs.
    pub(crate) fn publish(
        &mut self,
        id: ConversationId,
        views: &mut snapshot::Conversations,
    ) -> bool {
        let mut next = self.view(id, Messages::default());
        let Some(current) = views.get_mut(id) else {
            // A new timeline's changes are counted from an empty view.
            self.timeline.patch(&mut next.messages);
            views.insert(next);
            return true;
        };
        // Not in the wasm: the browser's JS cache holds the view it made objects from, so
        // there the next change copies it anyway, and the in-place path's code does not
        // fit the 60 KiB budget (docs/CLIENT.md, "Benchmark").
        if cfg!(not(target_arch = "wasm32"))
            && let Some(view) = Arc::get_mut(current)
        {
            let messages = std::mem::take(&mut view.messages);
            let same = next == *view;
            next.messages = messages;
            let moved = self.timeline.patch(&mut next.messages);
            *view = next;
            return moved || !same;
        }
        self.timeline.forget_view();
        self.timeline.patch(&mut next.messages);
        let changed = **current != next;
        if changed {
            *current = Arc::new(next);
        }
        changed
    }

    fn view(&self, id: ConversationId, messages: Messages) -> ConversationView {
        ConversationView {
            id,
            messages,
            typing_user_ids: self.typing_in.keys().copied().collect(),
            online_user_ids: self.online.iter().copied().collect(),
            has_older: self.timeline.has_older,
            loading_older: self.older.is_some(),
            synced: self.sync == Sync::Synced,
            unread_count: self.read.unread_count(),
            last_read_seq: self.read.own(),
            last_seq: self.read.last_seq(),
            read_seqs: self.read.seqs().clone(),
            last_message: self.read.last_message.clone(),
            activity_at: self.read.activity_at.clone(),
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        let joining = match self.sync {
            Sync::Joining { deadline, .. } => Some(deadline),
            _ => None,
        };
        [
            joining,
            self.backfill_retry_at,
            self.typing_out.map(|(_, stop)| stop),
            self.typing_in.values().min().copied(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Every seq up to `contiguous` is seen, but a later one too: a gap to fill.
    pub(crate) fn behind(&self) -> bool {
        self.contiguous.is_some_and(|c| self.max_seen > c)
    }

    /// The connection is gone: nothing is joined, nobody is known to type or be online.
    /// True if the view changes.
    pub(crate) fn disconnected(&mut self) -> bool {
        let changed =
            self.sync != Sync::NotJoined || !self.typing_in.is_empty() || !self.online.is_empty();
        self.sync = Sync::NotJoined;
        self.typing_out = None;
        self.typing_in.clear();
        self.online.clear();
        changed
    }

    /// The app stops following it.
    pub(crate) fn deactivate(&mut self) {
        self.active = false;
        self.sync = Sync::NotJoined;
        self.typing_in.clear();
        self.typing_out = None;
        self.online.clear();
    }

    pub(crate) fn add_participants(&mut self, users: impl IntoIterator<Item = UserId>) {
        self.participants.extend(users);
    }

    /// Own keystroke at `now`: true when a `typing:start` is due (the first keystroke, or
    /// the first after `coalesce` ms); `typing:stop` is due `stop_after` ms after the last.
    pub(crate) fn keystroke(&mut self, now: Millis, coalesce: u64, stop_after: u64) -> bool {
        let start_due = self
            .typing_out
            .is_none_or(|(last_start, _)| now.since(last_start) >= coalesce);
        let last_start = match self.typing_out {
            Some((last, _)) if !start_due => last,
            _ => now,
        };
        self.typing_out = Some((last_start, now + stop_after));
        start_due
    }

    /// Own typing ends (a send, or the stop timer): true if a `typing:stop` is due.
    pub(crate) fn stop_typing(&mut self) -> bool {
        self.typing_out.take().is_some()
    }

    pub(crate) fn typing_stop_due(&self, now: Millis) -> bool {
        self.typing_out.is_some_and(|(_, stop)| stop <= now)
    }

    /// Someone else started (until `expiry`) or stopped typing: true if that changed.
    pub(crate) fn set_typing(&mut self, user: UserId, started: bool, expiry: Millis) -> bool {
        self.participants.insert(user);
        if started {
            self.typing_in.insert(user, expiry).is_none()
        } else {
            self.typing_in.remove(&user).is_some()
        }
    }

    /// Removes and returns the others whose typing expired at `now`.
    pub(crate) fn expire_typing(&mut self, now: Millis) -> Vec<UserId> {
        let expired: Vec<_> = self
            .typing_in
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(user, _)| *user)
            .collect();
        for user in &expired {
            self.typing_in.remove(user);
        }
        expired
    }

    /// `user` came online or went offline: true if that changed this conversation's view.
    pub(crate) fn set_presence(&mut self, user: UserId, online: bool) -> bool {
        if !self.active || !self.participants.contains(&user) {
            return false;
        }
        if online {
            self.online.insert(user)
        } else {
            self.online.remove(&user)
        }
    }

    /// The join ack's list of who is online now.
    pub(crate) fn set_online(&mut self, users: &[UserId]) {
        self.online = users.iter().copied().collect();
        self.participants.extend(users.iter().copied());
    }
}

/// Every conversation the engine knows, and the read receipts waiting for a connection.
#[derive(Debug, Default)]
pub(crate) struct Conversations {
    map: VecMap<ConversationId, Conversation>,
    /// `mark_read` while disconnected: sent on the next connection.
    pub(crate) unsent_reads: Vec<MessageId>,
    pub(crate) list_fetch: ListFetch,
}

impl Conversations {
    pub(crate) fn get(&self, id: ConversationId) -> Option<&Conversation> {
        self.map.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: ConversationId) -> Option<&mut Conversation> {
        self.map.get_mut(&id)
    }

    /// The conversation, created (not followed) if it is new.
    pub(crate) fn entry(&mut self, config: &Config, id: ConversationId) -> &mut Conversation {
        self.map
            .entry(id)
            .or_insert_with(|| Conversation::new(config))
    }

    pub(crate) fn ids(&self) -> Vec<ConversationId> {
        self.map.keys().copied().collect()
    }

    /// The conversations the app follows that `keep` picks.
    pub(crate) fn active_where(&self, keep: impl Fn(&Conversation) -> bool) -> Vec<ConversationId> {
        self.map
            .iter()
            .filter(|(_, c)| c.active && keep(c))
            .map(|(id, _)| *id)
            .collect()
    }

    pub(crate) fn iter_mut(
        &mut self,
    ) -> impl Iterator<Item = (&ConversationId, &mut Conversation)> {
        (&mut self.map).into_iter()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Millis> {
        let each = self.map.values().filter_map(Conversation::poll_timeout);
        each.chain(self.list_fetch.poll_timeout()).min()
    }
}
