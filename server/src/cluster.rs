//! Cluster mode (`CLUSTER_ADAPTER=postgres|redis`): the state several `chat-server`
//! nodes must agree on, kept in the shared PostgreSQL.
//!
//! The socketioxide adapter (PostgreSQL LISTEN/NOTIFY or Redis pub/sub, built in
//! [`crate::realtime`]) only carries broadcasts. Presence, the per-user socket cap and the
//! send rate limit need a shared, atomic view, and PostgreSQL is always there in cluster
//! mode (SQLite is refused), so both adapters use the tables here:
//!
//! - `chat_cluster_nodes`: one row per live node, a lease (`CLUSTER_LEASE_SECS`,
//!   [`DEFAULT_LEASE`]) renewed five times per lease. A node killed with -9 stops renewing; its
//!   sockets stop counting when the lease runs out, and the next live node's heartbeat
//!   reaps them and announces `user:offline` for users left with no socket anywhere.
//! - `chat_cluster_sockets`: one row per connected socket (sid, user, node). Presence
//!   transitions run in a transaction holding a per-user advisory lock: count the user's
//!   sockets on live nodes, insert or delete, and announce while the lock is held, so a
//!   user's `user:online`/`user:offline` go out in the order the transitions happened.
//! - `chat_cluster_buckets`: the send token bucket of each user, taken by one atomic
//!   upsert, so a user gets [`chat_wire::limits::MESSAGES_PER_SECOND`] in total across
//!   nodes.
//!
//! The tables are UNLOGGED (no WAL: this state is rebuilt from live sockets, and a
//! PostgreSQL crash empties them, after which every node re-registers its sockets on its
//! next heartbeat) and are created at start-up under an advisory lock.

use chat_wire::UserId;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a lease lasts without renewal: a node that misses this many seconds of
/// heartbeats is dead to the others. Long enough to ride out a slow database moment (four
/// heartbeats in a row must fail), short enough that a killed node's users go offline
/// within seconds.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// Heartbeats per lease.
const HEARTBEATS_PER_LEASE: u32 = 5;
/// Connections of the cluster pool (presence transitions, rate-limit upserts). Separate
/// from the message pool so that presence work never starves sends, and from the
/// adapter's pool because a transition holds its connection while it broadcasts.
const CLUSTER_CONNECTIONS: u32 = 6;
/// Waiting longer than this for a cluster connection fails the operation (logged; the
/// caller falls back to what it can do locally).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Key of the advisory lock that serialises table creation across starting nodes.
const INIT_LOCK: i64 = 0x6368_6174_636c_7573; // "chatclus"

const SCHEMA: [&str; 5] = [
    "CREATE UNLOGGED TABLE IF NOT EXISTS chat_cluster_nodes (
        node_id TEXT PRIMARY KEY,
        expires_at TIMESTAMPTZ NOT NULL)",
    "CREATE UNLOGGED TABLE IF NOT EXISTS chat_cluster_sockets (
        sid TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        node_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS chat_cluster_sockets_user ON chat_cluster_sockets (user_id)",
    "CREATE INDEX IF NOT EXISTS chat_cluster_sockets_node ON chat_cluster_sockets (node_id)",
    "CREATE UNLOGGED TABLE IF NOT EXISTS chat_cluster_buckets (
        user_id BIGINT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        allowed BOOLEAN NOT NULL)",
];

/// The arguments of a user's presence lock, for a row `u` with a `user_id` column.
/// Two-key form, so the key space is ours (class = a hash of the purpose); ids past 2^31
/// share a lock with another id, which costs only waiting.
const PRESENCE_LOCK: &str = "hashtext('chat-presence'), (u.user_id % 2147483647)::int";

/// Sockets of `$1` on nodes whose lease is current.
const LIVE_SOCKETS_OF_USER: &str = "SELECT count(*) FROM chat_cluster_sockets s \
     JOIN chat_cluster_nodes n ON n.node_id = s.node_id \
     WHERE s.user_id = $1 AND n.expires_at > now()";

/// This node's handle on the shared tables.
#[derive(Clone, Debug)]
pub struct Cluster {
    pool: PgPool,
    node_id: String,
    lease: Duration,
    /// Set when recording a socket's arrival or departure failed: the next heartbeat
    /// makes this node's rows match its sockets again.
    out_of_sync: Arc<AtomicBool>,
}

/// A user's presence, locked until commit or drop (see [`Cluster::lock_user`]).
#[derive(Debug)]
pub struct UserLock {
    tx: Transaction<'static, Postgres>,
    user: UserId,
}

impl Cluster {
    /// Connects a small pool to `database_url`, creates the tables and registers this
    /// node's lease, valid for `lease`.
    pub async fn start(database_url: &str, lease: Duration) -> Result<Cluster, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(CLUSTER_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(database_url)
            .await?;
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INIT_LOCK)
            .execute(&mut *tx)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let cluster = Cluster {
            pool,
            node_id: uuid::Uuid::new_v4().simple().to_string(),
            lease,
            out_of_sync: Arc::new(AtomicBool::new(false)),
        };
        cluster.renew_lease().await?;
        Ok(cluster)
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Notes that this node's rows may not match its sockets.
    pub fn mark_out_of_sync(&self) {
        self.out_of_sync.store(true, Ordering::SeqCst);
    }

    /// Whether [`Self::mark_out_of_sync`] was called since the last call (clears it).
    pub fn take_out_of_sync(&self) -> bool {
        self.out_of_sync.swap(false, Ordering::SeqCst)
    }

    /// The sids this node has rows for.
    pub async fn recorded_sids(&self) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT sid FROM chat_cluster_sockets WHERE node_id = $1")
                .bind(&self.node_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(sid,)| sid).collect())
    }

    /// Deletes this node's rows whose sid is not in `live`; returns their users.
    pub async fn delete_stale(&self, live: &[String]) -> Result<Vec<UserId>, sqlx::Error> {
        let mut users: Vec<(i64,)> = sqlx::query_as(
            "DELETE FROM chat_cluster_sockets WHERE node_id = $1 AND sid <> ALL($2) \
             RETURNING user_id",
        )
        .bind(&self.node_id)
        .bind(live)
        .fetch_all(&self.pool)
        .await?;
        users.sort_unstable();
        users.dedup();
        Ok(users.into_iter().map(|(u,)| UserId(u)).collect())
    }

    /// How often this node renews its lease and reaps dead nodes.
    pub fn heartbeat(&self) -> Duration {
        self.lease / HEARTBEATS_PER_LEASE
    }

    /// The pool (the PostgreSQL adapter copies its connection options).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Renews this node's lease; `true` when the row had gone (the node was reaped after
    /// missing heartbeats, or PostgreSQL restarted and emptied the tables): the caller
    /// must register its sockets again.
    pub async fn renew_lease(&self) -> Result<bool, sqlx::Error> {
        let (inserted,): (bool,) = sqlx::query_as(
            "INSERT INTO chat_cluster_nodes (node_id, expires_at) \
             VALUES ($1, now() + make_interval(secs => $2)) \
             ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             RETURNING (xmax = 0)",
        )
        .bind(&self.node_id)
        .bind(self.lease.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        Ok(inserted)
    }

    /// Deletes the rows of nodes whose lease ran out, and sockets of nodes that no longer
    /// exist; returns the users who had sockets there (each once). A row is deleted by
    /// exactly one reaper, so each of those users is checked by one node.
    pub async fn reap(&self) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query("DELETE FROM chat_cluster_nodes WHERE expires_at < now()")
            .execute(&self.pool)
            .await?;
        self.delete_orphans().await
    }

    /// Graceful leave: this node's lease and sockets go at once; returns their users.
    pub async fn leave(&self) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query("DELETE FROM chat_cluster_nodes WHERE node_id = $1")
            .bind(&self.node_id)
            .execute(&self.pool)
            .await?;
        self.delete_orphans().await
    }

    async fn delete_orphans(&self) -> Result<Vec<UserId>, sqlx::Error> {
        let mut users: Vec<(i64,)> = sqlx::query_as(
            "DELETE FROM chat_cluster_sockets s WHERE NOT EXISTS \
             (SELECT 1 FROM chat_cluster_nodes n WHERE n.node_id = s.node_id) \
             RETURNING s.user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        users.sort_unstable();
        users.dedup();
        Ok(users.into_iter().map(|(u,)| UserId(u)).collect())
    }

    /// Begins a presence transition of `user`: a transaction holding the user's advisory
    /// lock, so that transitions of one user on any node happen one at a time.
    pub async fn lock_user(&self, user: UserId) -> Result<UserLock, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT pg_advisory_xact_lock({PRESENCE_LOCK}) FROM (SELECT $1::bigint AS user_id) AS u"
        )))
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        Ok(UserLock { tx, user })
    }

    /// The users of `candidates` with a socket on a live node, in the given order.
    ///
    /// Takes the candidates' presence locks in shared mode first: a transition announces
    /// before it commits, so without them a client that has just heard `user:offline`
    /// could be answered with the state from before it.
    pub async fn online_among(&self, candidates: &[UserId]) -> Result<Vec<UserId>, sqlx::Error> {
        let mut ids: Vec<i64> = candidates.iter().map(|u| u.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut tx = self.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT pg_advisory_xact_lock_shared({PRESENCE_LOCK}) FROM unnest($1::bigint[]) AS u(user_id)"
        )))
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT s.user_id FROM chat_cluster_sockets s \
             JOIN chat_cluster_nodes n ON n.node_id = s.node_id \
             WHERE s.user_id = ANY($1) AND n.expires_at > now()",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let online: std::collections::HashSet<i64> = rows.into_iter().map(|(u,)| u).collect();
        Ok(candidates
            .iter()
            .copied()
            .filter(|u| online.contains(&u.0))
            .collect())
    }

    /// Takes one send token of `user` from the shared bucket (`rate` per second, burst
    /// `rate`), or says how long until one is there. One atomic upsert: the row lock
    /// serialises a user's concurrent sends on every node, and PostgreSQL's clock is the
    /// only clock, so node clock skew does not matter.
    pub async fn take_token(
        &self,
        user: UserId,
        rate: f64,
    ) -> Result<Result<(), Duration>, sqlx::Error> {
        // Tokens after refilling for the time since the last update (never negative time:
        // `now()` is the transaction start, which can precede a concurrent winner's).
        const REFILLED: &str = "LEAST($2, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (now() - b.updated_at))::float8) * $2)";
        let query = format!(
            "INSERT INTO chat_cluster_buckets AS b (user_id, tokens, updated_at, allowed) \
             VALUES ($1, $2 - 1, now(), true) \
             ON CONFLICT (user_id) DO UPDATE SET \
               tokens = CASE WHEN {REFILLED} >= 1 THEN {REFILLED} - 1 ELSE {REFILLED} END, \
               allowed = {REFILLED} >= 1, \
               updated_at = GREATEST(b.updated_at, now()) \
             RETURNING allowed, tokens"
        );
        let (allowed, tokens): (bool, f64) = sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(user.0)
            .bind(rate)
            .fetch_one(&self.pool)
            .await?;
        if allowed {
            Ok(Ok(()))
        } else {
            let missing = (1.0 - tokens).max(0.0);
            Ok(Err(Duration::from_secs_f64(missing / rate)))
        }
    }
}

impl UserLock {
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The user's sockets on live nodes.
    pub async fn live_sockets(&mut self) -> Result<usize, sqlx::Error> {
        let (count,): (i64,) = sqlx::query_as(LIVE_SOCKETS_OF_USER)
            .bind(self.user.0)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Records socket `sid` of the user on `node`.
    pub async fn add_socket(&mut self, node: &str, sid: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO chat_cluster_sockets (sid, user_id, node_id) VALUES ($1, $2, $3) \
             ON CONFLICT (sid) DO NOTHING",
        )
        .bind(sid)
        .bind(self.user.0)
        .bind(node)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Removes socket `sid`; `false` when it was not recorded (already reaped).
    pub async fn remove_socket(&mut self, sid: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM chat_cluster_sockets WHERE sid = $1")
            .bind(sid)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes the transition visible and releases the lock.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
