//! Immutable views for the UI: replaced, never mutated, so identity means "unchanged".
//!
//! Each conversation's [`ConversationView`] is an `Arc` the engine replaces only when
//! that conversation changed; the [`Snapshot`] holds those `Arc`s and a version that grows
//! by one per change. A UI compares pointers (or versions) and re-renders only what moved;
//! the wasm layer caches its JS objects by version.
//!
//! A view that no one but the engine's own current snapshot holds is patched in place
//! instead of rebuilt (no one can tell the difference): a message at the end of a
//! timeline then costs O(1) amortised, not a copy of the whole timeline.

use chat_wire::socket::ReadSeqs;
use chat_wire::{ConversationId, UserId};
use std::ops::Deref;
use std::sync::Arc;

use crate::connection::ConnectionState;
use crate::time::Millis;
use crate::timeline::MessageView;

/// One conversation as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationView {
    pub id: ConversationId,
    /// Stored messages by seq, then unsent ones in send order.
    pub messages: Messages,
    /// Who is typing now, ascending.
    pub typing_user_ids: Vec<UserId>,
    /// Who is online, ascending.
    pub online_user_ids: Vec<UserId>,
    /// The server has older messages than the oldest shown (`load_older` fetches them).
    pub has_older: bool,
    /// An older page is being fetched.
    pub loading_older: bool,
    /// The conversation is joined on the current connection and caught up.
    pub synced: bool,
    /// Messages of others above the own watermark (SPEC.md section 9).
    pub unread_count: i64,
    /// The own watermark: everything up to this seq is read.
    pub last_read_seq: i64,
    /// The newest seq known to exist.
    pub last_seq: i64,
    /// Every participant's watermark known.
    pub read_seqs: ReadSeqs,
    /// The newest message, joined or not (for the list).
    pub last_message: Option<Arc<MessageView>>,
    /// When the conversation last moved (RFC 3339): the list orders by it.
    pub activity_at: Option<String>,
}

/// Messages in display order, read as a slice (`Deref`). Dropping the oldest is O(1)
/// amortised: they stay in the `Vec`, skipped, until they are half of it (natively; in
/// the wasm the rest is moved up at once: windows there are 100 messages, and the
/// offset's code does not fit the size budget).
#[derive(Clone, Debug, Default)]
pub struct Messages {
    items: Vec<Arc<MessageView>>,
    /// `items[..start]` are dropped.
    start: usize,
}

impl Deref for Messages {
    type Target = [Arc<MessageView>];

    fn deref(&self) -> &Self::Target {
        &self.items[self.start()..]
    }
}

impl PartialEq for Messages {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Messages {}

impl From<Vec<Arc<MessageView>>> for Messages {
    fn from(items: Vec<Arc<MessageView>>) -> Self {
        Messages { items, start: 0 }
    }
}

impl Messages {
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Arc<MessageView>] {
        let start = self.start();
        &mut self.items[start..]
    }

    pub(crate) fn insert(&mut self, index: usize, message: Arc<MessageView>) {
        let at = self.start() + index;
        self.items.insert(at, message);
    }

    pub(crate) fn push(&mut self, message: &Arc<MessageView>) {
        self.items.push(message.clone());
    }

    /// Keeps the first `len` (all if there are fewer).
    pub(crate) fn truncate(&mut self, len: usize) {
        let end = self.start().saturating_add(len);
        self.items.truncate(end);
    }

    /// Drops the first `count` (all if there are fewer).
    pub(crate) fn drop_front(&mut self, count: usize) {
        let start = self.start().saturating_add(count).min(self.items.len());
        self.start = start;
        if cfg!(target_arch = "wasm32") || start > self.items.len() / 2 {
            // The dropped head goes with the old `Vec` (`split_off` is a copy, which keeps
            // less code in the wasm than `drain`).
            self.items = self.items.split_off(start);
            self.start = 0;
        }
    }

    fn start(&self) -> usize {
        if cfg!(target_arch = "wasm32") {
            0
        } else {
            self.start
        }
    }
}

/// The connection as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionView {
    pub state: ConnectionState,
    /// While waiting to reconnect: when the next attempt starts.
    pub reconnect_at: Option<Millis>,
    /// Failed attempts since the last success.
    pub failed_attempts: usize,
}

/// Everything the UI reads, at one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Grows by one with every change.
    pub version: u64,
    pub connection: ConnectionView,
    pub conversations: Conversations,
    /// Messages in the outbox (sending or failed), across conversations.
    pub outbox_len: usize,
}

/// The conversations of a [`Snapshot`] by id, with the part of `BTreeMap`'s API callers
/// use: a `Vec` sorted by id (a `BTreeMap` here cost ~2.5 KB gzipped of wasm).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conversations(Vec<Arc<ConversationView>>);

impl Conversations {
    pub fn get(&self, id: &ConversationId) -> Option<&Arc<ConversationView>> {
        let i = self.0.binary_search_by_key(id, |c| c.id).ok()?;
        self.0.get(i)
    }

    pub fn contains_key(&self, id: &ConversationId) -> bool {
        self.get(id).is_some()
    }

    /// In ascending id order.
    pub fn iter(&self) -> std::slice::Iter<'_, Arc<ConversationView>> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn get_mut(&mut self, id: ConversationId) -> Option<&mut Arc<ConversationView>> {
        let i = self.0.binary_search_by_key(&id, |c| c.id).ok()?;
        self.0.get_mut(i)
    }

    /// Adds the view of a conversation that has none.
    pub(crate) fn insert(&mut self, view: ConversationView) {
        if let Err(i) = self.0.binary_search_by_key(&view.id, |c| c.id) {
            self.0.insert(i, Arc::new(view));
        }
    }
}

impl<'a> IntoIterator for &'a Conversations {
    type Item = &'a Arc<ConversationView>;
    type IntoIter = std::slice::Iter<'a, Arc<ConversationView>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
