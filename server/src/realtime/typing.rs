//! Typing indicators. The server relays `typing:start`/`typing:stop` and guarantees that
//! an indicator ends: it sends `typing:stop` itself when the typist's socket disconnects
//! or leaves the conversation, when they send a message, or after
//! [`TYPING_EXPIRY_MS`] without a new `typing:start`.
//!
//! One entry per (conversation, user) on this node, however many sockets the user types
//! from. Each `typing:start` replaces the entry's timer: the old timer task is aborted,
//! and a generation number guards the race where it had already woken up.

use super::Io;
use chat_wire::event::{TYPING_STOP, conversation_room, user_room};
use chat_wire::limits::TYPING_EXPIRY_MS;
use chat_wire::socket::Typing;
use chat_wire::{ConversationId, UserId};
use socketioxide::socket::Sid;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::AbortHandle;

type Key = (ConversationId, UserId);

#[derive(Debug)]
struct Entry {
    /// The socket that sent the latest `typing:start`.
    sid: Sid,
    generation: u64,
    timer: AbortHandle,
}

#[derive(Debug, Default)]
pub struct TypingRegistry {
    inner: Mutex<(HashMap<Key, Entry>, u64)>,
}

impl TypingRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<Key, Entry>, u64)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a `typing:start` and (re)arms its expiry timer.
    pub fn started(
        self: &Arc<Self>,
        io: &Io,
        conversation: ConversationId,
        user: UserId,
        sid: Sid,
    ) {
        let mut guard = self.lock();
        let (entries, next) = &mut *guard;
        *next += 1;
        let generation = *next;
        let registry = Arc::downgrade(self);
        let io = io.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(TYPING_EXPIRY_MS)).await;
            let Some(registry) = registry.upgrade() else {
                return;
            };
            if registry.take_if(conversation, user, |e| e.generation == generation) {
                emit_stop(&io, conversation, user).await;
            }
        })
        .abort_handle();
        if let Some(old) = entries.insert(
            (conversation, user),
            Entry {
                sid,
                generation,
                timer,
            },
        ) {
            old.timer.abort();
        }
    }

    /// Removes the entry if `keep` says so; true when one was removed.
    fn take_if(
        &self,
        conversation: ConversationId,
        user: UserId,
        keep: impl Fn(&Entry) -> bool,
    ) -> bool {
        let mut guard = self.lock();
        let entries = &mut guard.0;
        match entries.get(&(conversation, user)) {
            Some(entry) if keep(entry) => {
                if let Some(entry) = entries.remove(&(conversation, user)) {
                    entry.timer.abort();
                }
                true
            }
            _ => false,
        }
    }

    /// Ends the user's indicator in `conversation` (a `typing:stop` from the client, or a
    /// sent message); true when there was one.
    pub fn stopped(&self, conversation: ConversationId, user: UserId) -> bool {
        self.take_if(conversation, user, |_| true)
    }

    /// Ends the indicator in `conversation` if `sid` started it (the socket left).
    pub fn stopped_by(&self, conversation: ConversationId, user: UserId, sid: Sid) -> bool {
        self.take_if(conversation, user, |e| e.sid == sid)
    }

    /// Ends every indicator `sid` started (it disconnected); returns their conversations.
    pub fn socket_gone(&self, user: UserId, sid: Sid) -> Vec<ConversationId> {
        let mut guard = self.lock();
        let entries = &mut guard.0;
        let gone: Vec<Key> = entries
            .iter()
            .filter(|((_, u), e)| *u == user && e.sid == sid)
            .map(|(k, _)| *k)
            .collect();
        for key in &gone {
            if let Some(entry) = entries.remove(key) {
                entry.timer.abort();
            }
        }
        gone.into_iter().map(|(c, _)| c).collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().0.len()
    }
}

/// `typing:stop` to the conversation's room, except the typist's own sockets.
pub async fn emit_stop(io: &Io, conversation: ConversationId, user: UserId) {
    let payload = Typing {
        conversation_id: conversation,
        user_id: user,
    };
    let room = vec![conversation_room(conversation)];
    io.emit(room, Some(user_room(user)), TYPING_STOP, &payload)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_indicator_expires_and_a_new_start_rearms_it() {
        let (_layer, io) = socketioxide::SocketIo::new_layer();
        let io = Io::Local(io);
        let registry = Arc::new(TypingRegistry::default());
        let (c, u, s) = (ConversationId(1), UserId(2), Sid::new());
        registry.started(&io, c, u, s);
        tokio::time::sleep(Duration::from_millis(TYPING_EXPIRY_MS - 1000)).await;
        registry.started(&io, c, u, s);
        tokio::time::sleep(Duration::from_millis(TYPING_EXPIRY_MS - 1000)).await;
        assert_eq!(registry.len(), 1, "the second start re-armed the timer");
        tokio::time::sleep(Duration::from_millis(1001)).await;
        // Let the timer task run to completion.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(registry.len(), 0, "expired after 5 s without a start");
    }

    #[tokio::test]
    async fn a_socket_ends_only_its_own_indicators() {
        let (_layer, io) = socketioxide::SocketIo::new_layer();
        let io = Io::Local(io);
        let registry = Arc::new(TypingRegistry::default());
        let (mine, other) = (Sid::new(), Sid::new());
        registry.started(&io, ConversationId(1), UserId(1), mine);
        registry.started(&io, ConversationId(2), UserId(1), mine);
        registry.started(&io, ConversationId(3), UserId(1), other);
        let mut gone = registry.socket_gone(UserId(1), mine);
        gone.sort();
        assert_eq!(gone, vec![ConversationId(1), ConversationId(2)]);
        assert!(!registry.stopped_by(ConversationId(3), UserId(1), mine));
        assert!(registry.stopped(ConversationId(3), UserId(1)));
    }
}
