//! Immutable views for the UI: replaced, never mutated, so identity means "unchanged".
//!
//! Each conversation's [`ConversationView`] is an `Arc` the engine replaces only when
//! that conversation changed; the [`Snapshot`] holds those `Arc`s and a version that grows
//! by one per change. A UI compares pointers (or versions) and re-renders only what moved;
//! the wasm layer caches its JS objects by version.

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
    /// Sorted by id (a `Vec`: a `BTreeMap` here cost ~1.5 KB of wasm); see
    /// [`Snapshot::conversation`].
    pub conversations: Vec<Arc<ConversationView>>,
    /// Messages in the outbox (sending or failed), across conversations.
    pub outbox_len: usize,
}

impl Snapshot {
    /// One conversation's view, if the engine knows the conversation.
    pub fn conversation(&self, id: ConversationId) -> Option<&Arc<ConversationView>> {
        let i = self
            .conversations
            .binary_search_by_key(&id, |c| c.id)
            .ok()?;
        self.conversations.get(i)
    }
}
