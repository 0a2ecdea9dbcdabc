//! Who hears a conversation's `message:new` and `conversation:read`: its room
//! (`conversation:{id}`, the sockets that joined it) and every participant's
//! `user:{id}` room, so that a client keeps its whole conversation list live without
//! joining each conversation (SPEC.md section 9).
//!
//! Why user rooms rather than joining every socket to all of its user's conversations:
//! each socket is already in its user room, so this costs no memory per socket (a room
//! entry per conversation per socket would, for a user in 1,000 conversations), only a
//! longer room list per emit. socketioxide sends a socket one copy of an emit however
//! many of its rooms it is in (its adapter deduplicates when there are several rooms, on
//! every node), so a socket that joined the conversation still gets each event once.
//!
//! Typing and presence stay in the conversation rooms: they matter only on screen.
//!
//! The participants come from a cache. Nobody is ever added to a conversation after it
//! is created; leaving a group evicts its entry ([`Audiences::forget`]). That eviction is
//! local, so in cluster mode (where another node may announce the next message) the
//! cache is off and every announcement reads the participants (one indexed read).

use crate::db::Db;
use chat_wire::event::{conversation_room, user_room};
use chat_wire::{ConversationId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Conversations whose participants are kept. Past it the cache starts over: cheaper than
/// tracking use, and a miss costs one indexed read.
const MAX_CACHED: usize = 50_000;

/// The rooms of each conversation's events (see the module doc).
#[derive(Debug)]
pub struct Audiences {
    participants: Mutex<HashMap<ConversationId, Arc<[UserId]>>>,
    /// False in cluster mode (see the module doc).
    cached: bool,
}

impl Default for Audiences {
    fn default() -> Self {
        Audiences::new(true)
    }
}

impl Audiences {
    pub fn new(cached: bool) -> Audiences {
        Audiences {
            participants: Mutex::new(HashMap::new()),
            cached,
        }
    }

    /// Drops what is known of `conversation`'s participants (someone left).
    pub fn forget(&self, conversation: ConversationId) {
        self.locked().remove(&conversation);
    }

    /// `conversation:{id}` and the user room of every participant. Should the
    /// participants be unreadable (the database down), the conversation room alone: the
    /// clients that joined still hear, and the others catch up from the list.
    pub async fn rooms(&self, db: &Db, conversation: ConversationId) -> Vec<String> {
        let mut rooms = vec![conversation_room(conversation)];
        match self.participants(db, conversation).await {
            Ok(participants) => rooms.extend(participants.iter().map(|&user| user_room(user))),
            Err(error) => {
                tracing::warn!(%error, %conversation, "cannot read the participants: announcing to the conversation's room only");
            }
        }
        rooms
    }

    async fn participants(
        &self,
        db: &Db,
        conversation: ConversationId,
    ) -> Result<Arc<[UserId]>, crate::db::DbError> {
        if let Some(found) = self.locked().get(&conversation) {
            return Ok(found.clone());
        }
        let participants: Arc<[UserId]> = db.participant_ids(conversation).await?.into();
        // An unknown conversation is not cached: it may be one being created right now.
        if self.cached && !participants.is_empty() {
            let mut cache = self.locked();
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(conversation, participants.clone());
        }
        Ok(participants)
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, HashMap<ConversationId, Arc<[UserId]>>> {
        // A poisoned lock only means a panic elsewhere mid-insert into a plain map.
        self.participants.lock().unwrap_or_else(|e| e.into_inner())
    }
}
