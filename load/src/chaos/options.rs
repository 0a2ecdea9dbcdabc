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
    /// Server nodes on PostgreSQL, in cluster mode (`CLUSTER_ADAPTER=postgres`) when more
    /// than one, clients split across them. SQLite runs one node (it refuses cluster mode).
    pub nodes: usize,
    /// How long the `RestartPostgres` rounds last instead of `fault_time`: an outage well
    /// past the 7 s in which the engine's four tries are spent, after which no message may
    /// have ended `failed` (the server answers `unavailable`, which uses up no try). `None`
    /// on two nodes, where a 30 s outage also outlives the cluster leases (10 s).
    pub postgres_outage: Option<Duration>,
}

/// The PostgreSQL outage of the one-node soaks.
const POSTGRES_OUTAGE: Duration = Duration::from_secs(30);

/// Each fault once, in the order the short soak runs them.
const EVERY_FAULT: [Fault; 6] = [
    Fault::CutAndDelay,
    Fault::KillServer,
    Fault::RestartPostgres,
    Fault::RefuseConnections,
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

    /// The version `cargo test` runs: a few dozen clients, each fault once, well under two
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
            postgres_outage: Some(POSTGRES_OUTAGE),
        }
    }

    /// The same soak on two nodes in cluster mode (`CLUSTER_ADAPTER=postgres`), clients
    /// split across them through a proxy each; node faults strike the nodes in turn, so
    /// every kill -9 is repeated until each node has been killed.
    pub fn on_two_nodes(mut self) -> Options {
        self.name = format!("{}, two nodes", self.name);
        self.nodes = 2;
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

    /// Without the PostgreSQL faults.
    pub fn without_postgres_faults(mut self) -> Options {
        self.name = format!("{}, no PostgreSQL faults", self.name);
        self.rounds.retain(|fault| !fault.needs_postgres());
        self
    }
}
