//! What a soak is: its size (clients, conversations, rate), its faults in order, how long
//! each lasts, and on how many nodes; the short and long versions.

use super::Fault;
use crate::Shape;
use std::time::Duration;

/// How big and how long a soak is.
#[derive(Clone, Debug)]
pub struct Options {
    pub name: String,
    pub shape: Shape,
    /// Messages per second over all clients (the server allows 10 per user).
    pub rate: f64,
    /// The faults, one per round, in order.
    pub rounds: Vec<Fault>,
    /// How long each fault lasts (the server is down, connections are refused…).
    pub fault_time: Duration,
    /// How long a delayed connection waits per chunk and direction.
    pub latency: Duration,
    /// How long a frozen connection holds each chunk, per direction: twice it must exceed
    /// the engine's ack timeout plus its first retry delay (5 s + 1 s), so a retry goes out
    /// while the first try is still in flight and the server sees the send twice.
    pub freeze: Duration,
    /// Clients taken offline (disconnected by the app) during each round.
    pub offline_per_round: usize,
    /// Traffic flows this long before the first round and after the last.
    pub calm: Duration,
    /// The bound on every wait (connecting, catching up, settling).
    pub patience: Duration,
    pub seed: u64,
    /// Server nodes on PostgreSQL, in cluster mode ([`Options::adapter`]) when more than
    /// one, clients split across them. SQLite runs one node (it refuses cluster mode).
    pub nodes: usize,
    /// What carries events between the nodes (`CLUSTER_ADAPTER`) when there are several.
    pub adapter: Adapter,
    /// Messages the crashed client sends in a [`Fault::CrashClient`] round: this many are
    /// stored on the server but their acks are held back when it crashes, and this many
    /// more are queued in its outbox while its connection is cut.
    pub crash_outbox: usize,
    /// How long the `RestartPostgres` rounds last instead of `fault_time`: an outage well
    /// past the 7 s in which the engine's four tries are spent, after which no message may
    /// have ended `failed` (the server answers `unavailable`, which uses up no try). `None`
    /// on two nodes, where a 30 s outage also outlives the cluster leases (10 s).
    pub postgres_outage: Option<Duration>,
}

/// The cluster adapter of a soak on several nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// `CLUSTER_ADAPTER=postgres`: LISTEN/NOTIFY on the soak's database.
    Postgres,
    /// `CLUSTER_ADAPTER=redis`: a private `redis-server`, under a key prefix of the run's own.
    Redis,
}

impl Adapter {
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Postgres => "postgres",
            Adapter::Redis => "redis",
        }
    }
}

/// The PostgreSQL outage of the one-node soaks.
const POSTGRES_OUTAGE: Duration = Duration::from_secs(30);

/// Each fault once, in the order the short soak runs them.
/// ([`Fault::RestartRedis`] only runs on Redis: [`Options::on_two_nodes_over_redis`].)
const EVERY_FAULT: [Fault; 8] = [
    Fault::CutAndDelay,
    Fault::KillServer,
    Fault::RestartPostgres,
    Fault::TermServer,
    Fault::RefuseConnections,
    Fault::CrashClient,
    Fault::CrashPostgres,
    Fault::Freeze,
];

impl Options {
    /// The short soak, or the long one when `CHAT_SOAK` is set (what `cargo xtask test
    /// --soak` does).
    pub fn from_env() -> Options {
        if std::env::var_os("CHAT_SOAK").is_some_and(|v| v != "0") {
            Options::long()
        } else {
            Options::short()
        }
    }

    /// The version `cargo test` runs: a few dozen clients, each fault once, under two
    /// minutes.
    pub fn short() -> Options {
        Options {
            name: "short".to_owned(),
            shape: Shape {
                users: 24,
                conversations: 12,
                participants: 4,
                sockets_per_user: 1,
            },
            rate: 20.0,
            rounds: EVERY_FAULT.to_vec(),
            fault_time: Duration::from_secs(3),
            latency: Duration::from_millis(150),
            freeze: Duration::from_secs(4),
            offline_per_round: 3,
            calm: Duration::from_secs(1),
            patience: Duration::from_secs(60),
            seed: 1,
            nodes: 1,
            adapter: Adapter::Postgres,
            crash_outbox: 4,
            postgres_outage: Some(POSTGRES_OUTAGE),
        }
    }

    /// The version `CHAT_SOAK=1` runs: more clients, every fault three times, longer
    /// outages; several minutes.
    pub fn long() -> Options {
        Options {
            name: "long".to_owned(),
            shape: Shape {
                users: 120,
                conversations: 60,
                participants: 4,
                sockets_per_user: 1,
            },
            rate: 60.0,
            rounds: EVERY_FAULT.repeat(3),
            fault_time: Duration::from_secs(6),
            latency: Duration::from_millis(300),
            freeze: Duration::from_secs(5),
            offline_per_round: 12,
            calm: Duration::from_secs(5),
            patience: Duration::from_secs(120),
            seed: 2,
            nodes: 1,
            adapter: Adapter::Postgres,
            crash_outbox: 15,
            postgres_outage: Some(POSTGRES_OUTAGE),
        }
    }

    /// The same soak on two nodes in cluster mode (`CLUSTER_ADAPTER=postgres`), clients
    /// split across them through a proxy each; each node fault strikes the nodes in turn,
    /// so kill -9 is repeated until each node has been killed.
    pub fn on_two_nodes(mut self) -> Options {
        self.name = format!("{}, two nodes", self.name);
        self.nodes = 2;
        self.adapter = Adapter::Postgres;
        self.postgres_outage = None;
        let kills = self
            .rounds
            .iter()
            .filter(|f| **f == Fault::KillServer)
            .count();
        for _ in kills..2 {
            self.rounds.push(Fault::KillServer);
        }
        self
    }

    /// Two nodes on `CLUSTER_ADAPTER=redis` (a private `redis-server`) with every fault
    /// of [`Options::on_two_nodes`], and a Redis restart after each PostgreSQL restart
    /// (once in the short soak, three times in the long one): Redis is killed with SIGKILL
    /// and started again after the fault time, and cross-node delivery must come back.
    pub fn on_two_nodes_over_redis(self) -> Options {
        let mut options = self.on_two_nodes();
        options.name = options.name.replace("two nodes", "two nodes on Redis");
        options.adapter = Adapter::Redis;
        options.rounds = options
            .rounds
            .iter()
            .flat_map(|&fault| match fault {
                Fault::RestartPostgres => vec![fault, Fault::RestartRedis],
                _ => vec![fault],
            })
            .collect();
        options
    }

    /// Without the PostgreSQL faults.
    pub fn without_postgres_faults(mut self) -> Options {
        self.name = format!("{}, no PostgreSQL faults", self.name);
        self.rounds.retain(|fault| !fault.needs_postgres());
        self
    }
}
