//! The snapshot the UI reads: rebuilt at the end of every input and command from what
//! changed (the connection, the conversations marked dirty, the outbox), and only then,
//! so its identity changes only when something did.

use std::sync::Arc;

use super::Engine;
use super::output::Event;
use crate::connection::ConnectionState;
use crate::snapshot::{ConnectionView, Conversations, Snapshot};

/// The snapshot of a new engine.
pub(super) fn empty_snapshot() -> Arc<Snapshot> {
    Arc::new(Snapshot {
        version: 0,
        connection: ConnectionView {
            state: ConnectionState::Disconnected,
            reconnect_at: None,
            failed_attempts: 0,
        },
        conversations: Conversations::default(),
        outbox_len: 0,
    })
}

impl Engine {
    /// Rebuilds the views of what changed and the snapshot, and tells the app.
    pub(super) fn publish(&mut self) {
        let connection = self.link.view();
        let connection_changed = connection != self.snapshot.connection;
        let outbox_len = self.sends.outbox.entries().len();
        if !connection_changed
            && self.ctx.dirty.is_empty()
            && !self.sends.changed
            && outbox_len == self.snapshot.outbox_len
        {
            return;
        }
        if connection.state != self.snapshot.connection.state {
            self.ctx
                .event(Event::StateChanged(connection.state.clone()));
        }
        // A snapshot no one else holds gives its views up to be patched in place (not in
        // the wasm: see `Conversation::publish`).
        let unique = match cfg!(target_arch = "wasm32") {
            true => None,
            false => Arc::get_mut(&mut self.snapshot),
        };
        let mut conversations = match unique {
            Some(snapshot) => std::mem::take(&mut snapshot.conversations),
            None => self.snapshot.conversations.clone(),
        };
        let mut changed = connection_changed || outbox_len != self.snapshot.outbox_len;
        for id in std::mem::take(&mut self.ctx.dirty) {
            if let Some(state) = self.conversations.get_mut(id)
                && state.publish(id, &mut conversations)
            {
                self.ctx.event(Event::ConversationChanged(id));
                changed = true;
            }
        }
        if std::mem::take(&mut self.sends.changed) {
            self.ctx.event(Event::OutboxChanged);
        }
        if !changed {
            if let Some(snapshot) = Arc::get_mut(&mut self.snapshot)
                && snapshot.conversations.is_empty()
            {
                snapshot.conversations = conversations;
            }
            return;
        }
        self.snapshot = Arc::new(Snapshot {
            version: self.snapshot.version + 1,
            connection,
            conversations,
            outbox_len,
        });
    }
}
