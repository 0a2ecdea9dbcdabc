//! Presence: which users have at least one socket on this node.
//!
//! Each user maps to the ids of their sockets, so presence counts sockets, not
//! connections of a kind: a user is online from their first socket to the end of their
//! last one, however many tabs and devices come and go in between.
//!
//! Announcing a transition needs a database read (the user's conversations) between the
//! change and the emit, so two transitions of one user can race. Every transition gets
//! a new epoch; an `online` announcement is only sent while the epoch it was made for
//! is still current, and an `offline` one only while the user is still offline, under
//! [`Presence::announcing`], so the last announcement sent always matches the state.

use chat_wire::UserId;
use socketioxide::socket::Sid;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
struct Entry {
    sockets: Vec<Sid>,
    /// Set when the user came online (first socket).
    epoch: u64,
}

/// A user's first socket arrived or last one left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    CameOnline { epoch: u64 },
    WentOffline,
    None,
}

/// What [`Presence::add`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    Yes(Transition),
    /// The user already has the maximum number of sockets; not added.
    TooMany,
}

#[derive(Debug, Default)]
pub struct Presence {
    users: Mutex<(HashMap<UserId, Entry>, u64)>,
    /// Held while checking that an announcement is still current and emitting it.
    pub announcing: tokio::sync::Mutex<()>,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<UserId, Entry>, u64)> {
        // A poisoned lock only means a panic elsewhere mid-update of a plain map.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `sid` for `user`, unless the user already has `max` sockets.
    pub fn add(&self, user: UserId, sid: Sid, max: usize) -> Added {
        let mut guard = self.lock();
        let (users, next_epoch) = &mut *guard;
        match users.get_mut(&user) {
            Some(entry) if entry.sockets.contains(&sid) => Added::Yes(Transition::None),
            Some(entry) if entry.sockets.len() >= max => Added::TooMany,
            Some(entry) => {
                entry.sockets.push(sid);
                Added::Yes(Transition::None)
            }
            None => {
                *next_epoch += 1;
                let epoch = *next_epoch;
                users.insert(
                    user,
                    Entry {
                        sockets: vec![sid],
                        epoch,
                    },
                );
                Added::Yes(Transition::CameOnline { epoch })
            }
        }
    }

    /// Uncounts `sid`; says whether it was the user's last socket.
    pub fn remove(&self, user: UserId, sid: Sid) -> Transition {
        let mut guard = self.lock();
        let users = &mut guard.0;
        let Some(entry) = users.get_mut(&user) else {
            return Transition::None;
        };
        entry.sockets.retain(|s| *s != sid);
        if entry.sockets.is_empty() {
            users.remove(&user);
            Transition::WentOffline
        } else {
            Transition::None
        }
    }

    /// How many sockets `user` has here.
    pub fn sockets_of(&self, user: UserId) -> usize {
        self.lock().0.get(&user).map_or(0, |e| e.sockets.len())
    }

    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().0.contains_key(&user)
    }

    /// Whether an announcement of `transition` still describes the state.
    pub fn still_current(&self, user: UserId, transition: Transition) -> bool {
        let guard = self.lock();
        match transition {
            Transition::CameOnline { epoch } => {
                guard.0.get(&user).is_some_and(|e| e.epoch == epoch)
            }
            Transition::WentOffline => !guard.0.contains_key(&user),
            Transition::None => false,
        }
    }

    /// The users of `candidates` that are online, in the given order.
    pub fn online_among(&self, candidates: &[UserId]) -> Vec<UserId> {
        let guard = self.lock();
        candidates
            .iter()
            .copied()
            .filter(|u| guard.0.contains_key(u))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid() -> Sid {
        Sid::new()
    }

    #[test]
    fn a_user_is_online_from_the_first_socket_to_the_end_of_the_last() {
        let presence = Presence::default();
        let (a, b) = (sid(), sid());
        let first = presence.add(UserId(1), a, 4);
        assert!(matches!(first, Added::Yes(Transition::CameOnline { .. })));
        assert_eq!(presence.add(UserId(1), b, 4), Added::Yes(Transition::None));
        assert_eq!(presence.remove(UserId(1), a), Transition::None);
        assert!(presence.is_online(UserId(1)));
        assert_eq!(presence.remove(UserId(1), b), Transition::WentOffline);
        assert!(!presence.is_online(UserId(1)));
        // Removing twice is harmless.
        assert_eq!(presence.remove(UserId(1), b), Transition::None);
    }

    #[test]
    fn sockets_beyond_the_cap_are_refused() {
        let presence = Presence::default();
        assert!(matches!(presence.add(UserId(1), sid(), 2), Added::Yes(_)));
        assert!(matches!(presence.add(UserId(1), sid(), 2), Added::Yes(_)));
        assert_eq!(presence.add(UserId(1), sid(), 2), Added::TooMany);
        assert_eq!(presence.sockets_of(UserId(1)), 2);
    }

    #[test]
    fn a_stale_online_announcement_is_not_current() {
        let presence = Presence::default();
        let s = sid();
        let Added::Yes(online) = presence.add(UserId(1), s, 4) else {
            panic!("added");
        };
        presence.remove(UserId(1), s);
        assert!(!presence.still_current(UserId(1), online));
        assert!(presence.still_current(UserId(1), Transition::WentOffline));
        let Added::Yes(again) = presence.add(UserId(1), sid(), 4) else {
            panic!("added");
        };
        assert!(!presence.still_current(UserId(1), online));
        assert!(presence.still_current(UserId(1), again));
    }
}
