//! Presence: which users have at least one socket, on this node ([`Presence`]) and, in
//! cluster mode, on any node ([`crate::cluster`]). The free functions at the end are what
//! the handlers call; they pick the one-node or the cluster path.
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
//!
//! In cluster mode a node still keeps its own sockets in [`Presence`] (to record them
//! again after a failure), but the decisions are the cluster's: each transition is
//! counted, recorded and announced in one transaction under the user's advisory lock
//! (`cluster_connect`, [`socket_gone`]), and [`heartbeat`] renews the node's lease,
//! reaps dead nodes and repairs this node's rows.

use super::Shared;
use super::limits::MAX_SOCKETS_PER_USER;
use crate::cluster::Cluster;
use chat_wire::UserId;
use chat_wire::event::{USER_OFFLINE, USER_ONLINE, conversation_room, user_room};
use socketioxide::socket::Sid;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

    /// Every (user, socket) counted here.
    pub fn sockets(&self) -> Vec<(UserId, Sid)> {
        let guard = self.lock();
        guard
            .0
            .iter()
            .flat_map(|(user, entry)| entry.sockets.iter().map(move |sid| (*user, *sid)))
            .collect()
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

/// A user already holds [`MAX_SOCKETS_PER_USER`] sockets (on all nodes, in a cluster).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooMany;

/// Counts a connected socket (`Err(TooMany)`: not counted, refuse the socket). In a
/// cluster it also announces `user:online` if this is the user's first socket on any
/// node; on one node it returns the transition for [`announce_local`] to announce later.
pub async fn socket_connected(
    shared: &Shared,
    user: UserId,
    sid: Sid,
) -> Result<Option<Transition>, TooMany> {
    let Some(cluster) = &shared.cluster else {
        return match shared.presence.add(user, sid, MAX_SOCKETS_PER_USER) {
            Added::Yes(transition) => Ok(Some(transition)),
            Added::TooMany => Err(TooMany),
        };
    };
    // This node's own count is bookkeeping (for re-registration); the cap is the cluster's.
    shared.presence.add(user, sid, usize::MAX);
    match cluster_connect(shared, cluster, user, sid, true).await {
        Ok(Ok(())) => Ok(None),
        Ok(Err(TooMany)) => {
            shared.presence.remove(user, sid);
            Err(TooMany)
        }
        Err(e) => {
            tracing::error!(%user, error = %e, "cluster: cannot record a socket; the heartbeat will");
            cluster.mark_out_of_sync();
            Ok(None)
        }
    }
}

/// Uncounts an ended socket, and announces `user:offline` if it was the user's last.
pub async fn socket_gone(shared: &Shared, user: UserId, sid: Sid) {
    let transition = shared.presence.remove(user, sid);
    let Some(cluster) = &shared.cluster else {
        announce_local(shared, user, transition).await;
        return;
    };
    let gone = async {
        let mut lock = cluster.lock_user(user).await?;
        if lock.remove_socket(&sid.to_string()).await? && lock.live_sockets().await? == 0 {
            announce(shared, user, USER_OFFLINE).await;
        }
        lock.commit().await
    };
    if let Err(e) = gone.await {
        tracing::error!(%user, error = %e, "cluster: cannot remove a socket; the heartbeat will");
        cluster.mark_out_of_sync();
    }
}

/// The users of `candidates` with a socket (anywhere, in a cluster), in the given order.
pub async fn online_among(shared: &Shared, candidates: &[UserId]) -> Vec<UserId> {
    match &shared.cluster {
        None => shared.presence.online_among(candidates),
        Some(cluster) => match cluster.online_among(candidates).await {
            Ok(online) => online,
            Err(e) => {
                tracing::error!(error = %e, "cluster: cannot read presence; answering with this node's");
                shared.presence.online_among(candidates)
            }
        },
    }
}

/// Records `sid` in the cluster under the user's lock; announces `user:online` for the
/// user's first live socket while still holding it, so that the announcements of one
/// user's transitions leave in the order the transitions happened.
async fn cluster_connect(
    shared: &Shared,
    cluster: &Cluster,
    user: UserId,
    sid: Sid,
    capped: bool,
) -> Result<Result<(), TooMany>, sqlx::Error> {
    let mut lock = cluster.lock_user(user).await?;
    let before = lock.live_sockets().await?;
    if capped && before >= MAX_SOCKETS_PER_USER {
        return Ok(Err(TooMany));
    }
    lock.add_socket(cluster.node_id(), &sid.to_string()).await?;
    if before == 0 {
        announce(shared, user, USER_ONLINE).await;
    }
    lock.commit().await?;
    Ok(Ok(()))
}

/// One node: announces a transition if it still describes the state (see the module doc).
pub async fn announce_local(shared: &Shared, user: UserId, transition: Transition) {
    let event = match transition {
        Transition::CameOnline { .. } => USER_ONLINE,
        Transition::WentOffline => USER_OFFLINE,
        Transition::None => return,
    };
    if shared.is_closing() {
        // Every socket is being closed anyway.
        return;
    }
    let Some(rooms) = rooms_of(shared, user, event).await else {
        return;
    };
    let _announcing = shared.presence.announcing.lock().await;
    if shared.presence.still_current(user, transition)
        && let Some(io) = shared.io()
    {
        io.emit(rooms, Some(user_room(user)), event, &user).await;
    }
}

/// The rooms of the user's conversations, `None` when there are none or they cannot be
/// read (logged).
async fn rooms_of(shared: &Shared, user: UserId, event: &'static str) -> Option<Vec<String>> {
    match shared.db.conversation_ids_of(user).await {
        Ok(c) if c.is_empty() => None,
        Ok(c) => Some(c.into_iter().map(conversation_room).collect()),
        Err(e) => {
            tracing::error!(%user, event, error = ?e, "presence: cannot list the user's conversations");
            None
        }
    }
}

/// `user:online`/`user:offline` to the rooms of the user's conversations (every node):
/// only sockets that joined one of them (participants) hear it.
async fn announce(shared: &Shared, user: UserId, event: &'static str) {
    if let Some(rooms) = rooms_of(shared, user, event).await
        && let Some(io) = shared.io()
    {
        io.emit(rooms, Some(user_room(user)), event, &user).await;
    }
}

/// Announces `user:offline` for each of `users` left with no live socket.
async fn offline_if_gone(shared: &Shared, cluster: &Cluster, users: Vec<UserId>) {
    for user in users {
        let checked = async {
            let mut lock = cluster.lock_user(user).await?;
            if lock.live_sockets().await? == 0 {
                announce(shared, user, USER_OFFLINE).await;
            }
            lock.commit().await
        };
        if let Err(e) = checked.await {
            tracing::error!(%user, error = %e, "cluster: cannot check a reaped user's presence");
        }
    }
}

/// The cluster heartbeat of this node, until aborted: renews the lease, reaps the
/// sockets of dead nodes (announcing their users offline), and registers this node's
/// sockets again if its rows were lost.
pub async fn heartbeat(shared: Arc<Shared>, cluster: Cluster) {
    let mut every = tokio::time::interval(cluster.heartbeat());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match cluster.renew_lease().await {
            Ok(false) => {}
            Ok(true) => {
                tracing::warn!(
                    "cluster: this node's lease had expired; registering its sockets again"
                );
                cluster.mark_out_of_sync();
            }
            Err(e) => {
                tracing::error!(error = %e, "cluster: cannot renew this node's lease");
                continue;
            }
        }
        if cluster.take_out_of_sync()
            && let Err(e) = resync(&shared, &cluster).await
        {
            tracing::error!(error = %e, "cluster: cannot bring this node's sockets up to date");
            cluster.mark_out_of_sync();
        }
        match cluster.reap().await {
            Ok(users) if users.is_empty() => {}
            Ok(users) => {
                tracing::info!(
                    users = users.len(),
                    "cluster: reaped the sockets of dead nodes"
                );
                offline_if_gone(&shared, &cluster, users).await;
            }
            Err(e) => tracing::error!(error = %e, "cluster: cannot reap dead nodes"),
        }
    }
}

/// Makes this node's rows match its sockets after a failure or a lost lease: rows of
/// sockets that are gone are deleted (their users announced offline if that was their
/// last socket), sockets without a row are recorded (announced online if first).
async fn resync(shared: &Shared, cluster: &Cluster) -> Result<(), sqlx::Error> {
    let local = shared.presence.sockets();
    let live: Vec<String> = local.iter().map(|(_, sid)| sid.to_string()).collect();
    let stale = cluster.delete_stale(&live).await?;
    offline_if_gone(shared, cluster, stale).await;
    let recorded: std::collections::HashSet<String> =
        cluster.recorded_sids().await?.into_iter().collect();
    for (user, sid) in local {
        if !recorded.contains(&sid.to_string()) {
            // Uncapped: the socket is already connected.
            if let Err(e) = cluster_connect(shared, cluster, user, sid, false).await {
                tracing::error!(%user, error = %e, "cluster: cannot record a socket again");
                cluster.mark_out_of_sync();
            }
        }
    }
    // A socket that came or went meanwhile may have been deleted or recorded against the
    // snapshot: look again at the next heartbeat.
    let mut before: Vec<String> = live;
    let mut after: Vec<String> = shared
        .presence
        .sockets()
        .iter()
        .map(|(_, sid)| sid.to_string())
        .collect();
    before.sort_unstable();
    after.sort_unstable();
    if before != after {
        cluster.mark_out_of_sync();
    }
    Ok(())
}

/// Graceful shutdown of a cluster node: drop its lease and sockets, and announce
/// `user:offline` for its users who have no socket left on another node.
pub async fn leave_cluster(shared: &Shared, cluster: &Cluster) {
    match cluster.leave().await {
        Ok(users) => offline_if_gone(shared, cluster, users).await,
        Err(e) => tracing::error!(error = %e, "cluster: cannot leave; the lease will expire"),
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
