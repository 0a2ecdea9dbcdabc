//! Immutable views for the UI: replaced, never mutated, so identity means "unchanged".
//!
//! Each conversation's [`ConversationView`] is an `Arc` the engine replaces only when
//! that conversation changed; the [`Snapshot`] holds those `Arc`s and a version that grows
//! by one per change. A UI compares pointers (or versions) and re-renders only what moved;
//! the wasm layer caches its JS objects by version.

use chat_wire::socket::ReadSeqs;
use chat_wire::{ConversationId, UserId};
use std::sync::Arc;

use crate::connection::ConnectionState;
use crate::time::Millis;
use crate::timeline::MessageView;

/// One conversation as the app shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationView {
    pub id: ConversationId,
    /// Stored messages by seq, then unsent ones in send order.
    pub messages: Vec<Arc<MessageView>>,
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

    /// Puts `view` in place of the conversation's view, unless that is equal already;
    /// true if it did.
    pub(crate) fn replace(&mut self, view: ConversationView) -> bool {
        match self.0.binary_search_by_key(&view.id, |c| c.id) {
            Ok(i) if *self.0[i] == view => false,
            Ok(i) => {
                self.0[i] = Arc::new(view);
                true
            }
            Err(i) => {
                self.0.insert(i, Arc::new(view));
                true
            }
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
