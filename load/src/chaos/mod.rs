//! The chaos soak: clients chat while the harness breaks what is under them, then checks
//! that nothing was lost or doubled.
//!
//! Real `chat-server` processes run on a private PostgreSQL (or SQLite when PostgreSQL's
//! binaries are missing, said visibly), and every client connects through a [`Proxy`].
//! While traffic flows, each round takes a few clients offline and injects one [`Fault`]:
//! cut every connection and add latency, refuse new connections, freeze connections, kill
//! -9 a server node and restart it on the same port, database and secret, or stop (or
//! crash) PostgreSQL and start it again. After each round every client must be back and
//! caught up, and sends that ended `failed` are retried (as their users would). At the end
//! the checks in [`check`] compare what was sent, what was acknowledged, what the database
//! holds (REST history) and every participant's timeline.
//!
//! Every fault and every check result is logged to stderr as it happens, bypassing the
//! test harness's capture, so a CI log shows what happened even when the soak passes.
//!
//! # Layout
//!
//! - [`proxy`]: the fault-injecting TCP proxy.
//! - [`node`]: a `chat-server` process that can be killed and restarted.
//! - [`postgres`]: a private PostgreSQL in a temporary directory.
//! - [`check`]: the checks after healing.

pub mod check;
pub mod node;
pub mod postgres;
pub mod proxy;

use crate::fleet::Fleet;
use crate::population::populate;
use crate::{Common, Shape, scenario, verify};
use anyhow::{Context, bail};
use chat_wire::ConversationId;
use check::Sent;
use node::ServerNode;
use postgres::PrivatePostgres;
use proxy::Proxy;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// One thing the harness breaks in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every client connection is cut, and bytes are delayed while the fault lasts.
    CutAndDelay,
    /// Every client connection is cut and new ones are refused while the fault lasts.
    RefuseConnections,
    /// Connections stay open but every byte is held for [`Options::freeze`] (a round trip
    /// takes longer than the engine's ack timeout, so sends are tried again while earlier
    /// tries are in flight).
    Freeze,
    /// A server node is killed with SIGKILL and started again when the fault ends.
    KillServer,
    /// PostgreSQL stops (`-m fast`) and starts again when the fault ends.
    RestartPostgres,
    /// PostgreSQL quits at once (`-m immediate`, crash recovery on start).
    CrashPostgres,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::CutAndDelay => "cut every connection and add latency",
            Fault::RefuseConnections => "cut every connection and refuse new ones",
            Fault::Freeze => "freeze every connection (bytes held, nothing closed)",
            Fault::KillServer => "kill -9 a server node and restart it",
            Fault::RestartPostgres => "restart PostgreSQL (fast shutdown)",
            Fault::CrashPostgres => "crash PostgreSQL (immediate shutdown) and restart it",
        })
    }
}

impl Fault {
    pub fn needs_postgres(self) -> bool {
        matches!(self, Fault::RestartPostgres | Fault::CrashPostgres)
    }

    /// Strikes one proxy (rather than a node or the database).
    fn at_proxy(self) -> bool {
        matches!(
            self,
            Fault::CutAndDelay | Fault::RefuseConnections | Fault::Freeze
        )
    }
}

/// The database the soak runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

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
}

const EVERY_FAULT: [Fault; 6] = [
    Fault::CutAndDelay,
    Fault::KillServer,
    Fault::RestartPostgres,
    Fault::RefuseConnections,
    Fault::CrashPostgres,
    Fault::Freeze,
];

impl Options {
    /// The version `cargo test` runs: a few dozen clients, each fault once, well under two
    /// minutes.
    /// The short soak, or the long one when `CHAT_SOAK` is set (what `cargo xtask test
    /// --soak` does).
    pub fn from_env() -> Options {
        if std::env::var_os("CHAT_SOAK").is_some_and(|v| v != "0") {
            Options::long()
        } else {
            Options::short()
        }
    }

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
        }
    }
}

impl Options {
    /// The same soak on two nodes in cluster mode (`CLUSTER_ADAPTER=postgres`), clients
    /// split across them through a proxy each; node faults strike the nodes in turn, so
    /// every kill -9 is repeated until each node has been killed.
    pub fn on_two_nodes(mut self) -> Options {
        self.name = format!("{}, two nodes", self.name);
        self.nodes = 2;
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

/// What a passing soak measured.
#[derive(Debug)]
pub struct Outcome {
    pub backend: Backend,
    pub sent: usize,
    pub acked: usize,
    /// Sends that ended `failed` during the faults and were retried (as their users would).
    pub retried: usize,
    pub stored: usize,
    pub timelines: usize,
    pub offline_clients: usize,
    pub elapsed: Duration,
}

/// The soak's log: each line to stderr at once, timed from the start, and not through the
/// test harness's capture (which hides a passing test's output).
#[derive(Debug)]
pub struct Log {
    started: Instant,
}

impl Log {
    fn new() -> Log {
        Log {
            started: Instant::now(),
        }
    }

    pub fn line(&self, text: impl fmt::Display) {
        let line = format!(
            "[chaos {:>6.1}s] {text}\n",
            self.started.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    /// A `skipped: …` line as the other suites print it (at the start of the line).
    pub fn skipped(&self, text: impl fmt::Display) {
        let _ = writeln!(std::io::stderr().lock(), "skipped: {text}");
    }
}

/// The database of a run, kept alive (and removed) with it.
enum Database {
    Postgres(PrivatePostgres),
    Sqlite(PathBuf),
}

impl Database {
    fn url(&self) -> String {
        match self {
            Database::Postgres(postgres) => postgres.url(),
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

/// Picks the backend: PostgreSQL when its binaries exist; SQLite otherwise, visibly, and
/// never in CI (where `CI` is set).
pub fn backend() -> anyhow::Result<(Backend, Option<PathBuf>)> {
    match postgres::binaries() {
        Some(bin) => Ok((Backend::Postgres, Some(bin))),
        None if std::env::var_os("CI").is_some() => {
            bail!("PostgreSQL's binaries (initdb, pg_ctl) are required in CI but were not found")
        }
        None => Ok((Backend::Sqlite, None)),
    }
}

/// Runs a soak; `Err` lists every problem found.
pub async fn run(options: &Options) -> anyhow::Result<Outcome> {
    let log = Log::new();
    crate::memory::raise_open_file_limit();
    let (backend, bin) = backend()?;
    let dir = tempfile::Builder::new().prefix("chat-chaos").tempdir()?;
    let rounds: Vec<Fault> = match backend {
        Backend::Postgres => options.rounds.clone(),
        Backend::Sqlite => {
            log.skipped(format!(
                "chaos soak ({}) on PostgreSQL: its binaries (initdb, pg_ctl) were not found \
                 (install PostgreSQL or set CHAT_PG_BIN); running the SQLite variant on one node, \
                 without the PostgreSQL faults",
                options.name
            ));
            options
                .rounds
                .iter()
                .copied()
                .filter(|f| !f.needs_postgres())
                .collect()
        }
    };
    // Before starting PostgreSQL: building the server may take minutes.
    let building = Instant::now();
    let binary = tokio::task::spawn_blocking(node::server_binary).await??;
    log.line(format!(
        "server binary {} (up to date after {:.1} s)",
        binary.display(),
        building.elapsed().as_secs_f64()
    ));
    let database = match bin {
        Some(bin) => {
            let postgres = PrivatePostgres::start(bin).await?;
            log.line(format!(
                "started a private PostgreSQL on 127.0.0.1:{} (not the shared cluster)",
                postgres.port()
            ));
            Database::Postgres(postgres)
        }
        None => Database::Sqlite(dir.path().join("chat.db")),
    };
    let secret = format!("chaos-soak-secret-{:032x}", fastrand::u128(..));
    let mut nodes = Vec::new();
    let mut proxies = Vec::new();
    let node_count = match backend {
        Backend::Postgres => options.nodes.max(1),
        Backend::Sqlite => 1,
    };
    for index in 0..node_count {
        let mut env = vec![
            ("DATABASE_URL".to_owned(), database.url()),
            ("JWT_SECRET".to_owned(), secret.clone()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
            // The logs go to files: no colour codes in them.
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        if node_count > 1 {
            env.push(("CLUSTER_ADAPTER".to_owned(), "postgres".to_owned()));
        }
        let name = format!("node-{}", index + 1);
        let node = ServerNode::start(&name, &binary, env, dir.path()).await?;
        let proxy = Proxy::start(node.addr()).await?;
        log.line(format!(
            "started {name} (pid {}) on {}{}, clients reach it through the proxy {}",
            node.pid().unwrap_or(0),
            node.url(),
            if node_count > 1 {
                " in cluster mode (CLUSTER_ADAPTER=postgres)"
            } else {
                ""
            },
            proxy.url()
        ));
        nodes.push(node);
        proxies.push(proxy);
    }
    let mut soak = Soak {
        options,
        log,
        database,
        nodes,
        proxies,
        rounds,
        problems: Vec::new(),
        offline_ever: Vec::new(),
        retried: 0,
    };
    let result = soak.chat().await;
    soak.scan_logs();
    if result.is_err() || !soak.problems.is_empty() {
        for node in &soak.nodes {
            soak.log.line(format!(
                "{} log ({}), last lines:\n{}",
                node.name,
                node.log_path().display(),
                node.log_tail(30)
            ));
        }
        if let Database::Postgres(postgres) = &soak.database {
            soak.log.line(format!(
                "PostgreSQL log, last lines:\n{}",
                postgres.log_tail(20)
            ));
        }
    }
    if std::env::var_os("CHAT_CHAOS_KEEP").is_some() {
        if let Database::Postgres(postgres) = &soak.database {
            let _ = std::fs::write(
                dir.path().join("postgres.log"),
                postgres.log_tail(usize::MAX),
            );
        }
        soak.log.line(format!(
            "kept the node logs in {} (CHAT_CHAOS_KEEP)",
            dir.keep().display()
        ));
    }
    let mut outcome = result?;
    outcome.backend = backend;
    outcome.elapsed = soak.log.started.elapsed();
    if soak.problems.is_empty() {
        soak.log.line(format!(
            "PASSED: chaos soak ({}, {backend:?}) in {:.1} s",
            options.name,
            outcome.elapsed.as_secs_f64()
        ));
        Ok(outcome)
    } else {
        let count = soak.problems.len();
        let shown: Vec<&str> = soak.problems.iter().take(50).map(String::as_str).collect();
        soak.log.line(format!("FAILED: {count} problems"));
        bail!(
            "the chaos soak found {count} problems{}:\n  {}",
            if count > 50 { " (first 50)" } else { "" },
            shown.join("\n  ")
        )
    }
}

struct Soak<'a> {
    options: &'a Options,
    log: Log,
    database: Database,
    nodes: Vec<ServerNode>,
    proxies: Vec<Proxy>,
    rounds: Vec<Fault>,
    problems: Vec<String>,
    /// Clients the app took offline in some round.
    offline_ever: Vec<bool>,
    /// Failed sends retried so far.
    retried: usize,
}

impl Soak<'_> {
    async fn chat(&mut self) -> anyhow::Result<Outcome> {
        let options = self.options;
        let started = Instant::now();
        let common = Common {
            url: self.nodes[0].url(),
            json: false,
            server_pid: None,
            seed: options.seed,
            setup_concurrency: 8,
            patience: options.patience,
        };
        let population = populate(&common, &options.shape)
            .await
            .context("setting up users and conversations")?;
        let tokens: Vec<String> = population.members.iter().map(|m| m.token.clone()).collect();
        let urls: Vec<String> = self.proxies.iter().map(Proxy::url).collect();
        let fleet = Arc::new(Fleet::start_split(&urls, population, options.seed));
        self.offline_ever = vec![false; fleet.clients.len()];
        let connected = fleet.connect_all(options.patience).await;
        self.log.line(format!(
            "{connected}/{} clients connected and joined {} conversations of {} ({} node{})",
            fleet.clients.len(),
            fleet.conversations.len(),
            options.shape.participants,
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" }
        ));
        if connected != fleet.clients.len() {
            bail!("only {connected}/{} clients connected", fleet.clients.len());
        }

        let traffic = Traffic::start(fleet.clone(), options.rate);
        self.log.line(format!(
            "traffic: {} msgs/s over {} senders",
            options.rate,
            scenario::senders(&fleet).len()
        ));
        tokio::time::sleep(options.calm).await;
        let rounds = self.rounds.clone();
        for (index, fault) in rounds.iter().enumerate() {
            self.round(&fleet, index, rounds.len(), *fault).await?;
        }
        tokio::time::sleep(options.calm).await;
        let sent = traffic.stop().await;
        self.log
            .line(format!("traffic stopped: {} messages sent", sent.len()));

        let retried = self.settle(&fleet, &sent).await;
        let acked = fleet.recorder.lock().acked.clone();
        let ack_problems = check::acks(&fleet, &sent, &acked);
        self.report(
            format!(
                "every sent message acknowledged exactly once: {} sent, {} acked ({retried} had ended failed during faults and were retried)",
                sent.len(),
                acked.len()
            ),
            ack_problems,
        );

        let stored = self.read_database(&fleet, &tokens).await?;
        for node in &self.nodes {
            let duplicates = metric(&node.url(), "chat_messages_duplicate_total").await;
            self.log.line(format!(
                "{} answered {} repeated sends from its store since its last start (idempotency)",
                node.name,
                duplicates.map_or("an unknown number of".to_owned(), |n| n.to_string())
            ));
        }
        let stored_count: usize = stored.values().map(Vec::len).sum();
        self.report(
            format!(
                "the database holds every acked message once at its acked seq, seqs gapless: {stored_count} messages in {} conversations (REST history)",
                stored.len()
            ),
            check::database(&stored, &acked),
        );
        let timelines: usize = fleet.conversations.iter().map(|(_, m)| m.len()).sum();
        self.report(
            format!(
                "every participant's timeline equals the database, once each, in seq order, no gap: {timelines} timelines"
            ),
            check::timelines(&fleet, &stored),
        );
        let offline_clients = self.offline_ever.iter().filter(|o| **o).count();
        let behind: Vec<String> = self
            .offline_ever
            .iter()
            .enumerate()
            .filter(|(index, offline)| **offline && !fleet.clients[*index].caught_up())
            .map(|(index, _)| format!("user {} is not caught up", fleet.clients[index].user.0))
            .collect();
        self.report(
            format!("the {offline_clients} clients that were offline caught up"),
            behind,
        );
        self.slowest(&fleet, &sent);
        {
            let recorded = fleet.recorder.lock();
            self.log.line(format!(
                "delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; ack p99 {:.1} ms; {} reconnections, reconnect→caught-up p95 {:.0} ms",
                recorded.delivery.summary().p50_ms,
                recorded.delivery.summary().p99_ms,
                recorded.delivery.summary().max_ms,
                recorded.ack.summary().p99_ms,
                recorded.recoveries,
                recorded.reconnect.summary().p95_ms,
            ));
        }
        Ok(Outcome {
            backend: Backend::Sqlite,
            sent: sent.len(),
            acked: acked.len(),
            retried,
            stored: stored_count,
            timelines,
            offline_clients,
            elapsed: started.elapsed(),
        })
    }

    /// One round: some clients go offline, one fault, healing, everyone back.
    async fn round(
        &mut self,
        fleet: &Fleet,
        index: usize,
        count: usize,
        fault: Fault,
    ) -> anyhow::Result<()> {
        let options = self.options;
        let users = fleet.clients.len();
        self.log
            .line(format!("round {}/{count}: {fault}", index + 1));
        let offline: Vec<usize> = (0..options.offline_per_round.min(users))
            .map(|k| (index * options.offline_per_round + k) % users)
            .collect();
        for &client in &offline {
            fleet.clients[client].client.disconnect();
            self.offline_ever[client] = true;
        }
        if !offline.is_empty() {
            self.log.line(format!(
                "  took {} clients offline (users {}); they keep sending into their outboxes",
                offline.len(),
                offline
                    .iter()
                    .map(|&c| fleet.clients[c].user.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // Proxy faults strike the proxies in turn, node faults the nodes.
        let strike = self.rounds[..index]
            .iter()
            .filter(|f| f.at_proxy() == fault.at_proxy() && !f.needs_postgres())
            .count();
        let node = strike % self.nodes.len();
        let proxy = strike % self.proxies.len();
        let fault_started = Instant::now();
        match fault {
            Fault::CutAndDelay => {
                let proxy = &self.proxies[proxy];
                proxy.set_latency(options.latency);
                let cut = proxy.cut_all();
                self.log.line(format!(
                    "  cut {cut} connections at {}; every byte now waits {} ms each way",
                    proxy.url(),
                    options.latency.as_millis()
                ));
            }
            Fault::RefuseConnections => {
                let proxy = &self.proxies[proxy];
                proxy.refuse_new(true);
                let cut = proxy.cut_all();
                self.log.line(format!(
                    "  cut {cut} connections at {} and refusing new ones",
                    proxy.url()
                ));
            }
            Fault::Freeze => {
                let proxy = &self.proxies[proxy];
                proxy.set_latency(options.freeze);
                self.log.line(format!(
                    "  froze {} connections at {}: every byte held for {:.1} s each way",
                    proxy.open_connections(),
                    proxy.url(),
                    options.freeze.as_secs_f64()
                ));
            }
            Fault::KillServer => {
                let node = &mut self.nodes[node];
                let pid = node.pid().unwrap_or(0);
                node.kill9().await?;
                self.log
                    .line(format!("  killed -9 {} (pid {pid})", node.name));
            }
            Fault::RestartPostgres | Fault::CrashPostgres => {
                let Database::Postgres(postgres) = &self.database else {
                    bail!("{fault} needs PostgreSQL");
                };
                if fault == Fault::RestartPostgres {
                    postgres.stop_fast().await?;
                    self.log.line("  stopped PostgreSQL (pg_ctl stop -m fast)");
                } else {
                    postgres.crash().await?;
                    self.log
                        .line("  crashed PostgreSQL (pg_ctl stop -m immediate)");
                }
            }
        }
        // The fault lasting is the scenario itself, not a wait for something to happen.
        // Halfway through, the offline clients come back: they reconnect, join and backfill
        // while the fault is still on.
        tokio::time::sleep(options.fault_time / 2).await;
        for &client in &offline {
            fleet.clients[client].client.connect();
        }
        if !offline.is_empty() {
            self.log.line(format!(
                "  brought the {} offline clients back while the fault lasts",
                offline.len()
            ));
        }
        tokio::time::sleep(options.fault_time - options.fault_time / 2).await;
        match fault {
            Fault::CutAndDelay | Fault::Freeze => {
                let proxy = &self.proxies[proxy];
                proxy.set_latency(Duration::ZERO);
                self.log.line(format!(
                    "  healed after {:.1} s: latency back to 0 ({} connections open)",
                    fault_started.elapsed().as_secs_f64(),
                    proxy.open_connections()
                ));
            }
            Fault::RefuseConnections => {
                let proxy = &self.proxies[proxy];
                proxy.refuse_new(false);
                let (_, refused) = proxy.counts();
                self.log.line(format!(
                    "  healed after {:.1} s: accepting again ({refused} connections refused so far)",
                    fault_started.elapsed().as_secs_f64()
                ));
            }
            Fault::KillServer => {
                let node = &mut self.nodes[node];
                node.restart().await?;
                self.log.line(format!(
                    "  restarted {} (pid {}) on {} after {:.1} s down",
                    node.name,
                    node.pid().unwrap_or(0),
                    node.url(),
                    fault_started.elapsed().as_secs_f64()
                ));
            }
            Fault::RestartPostgres | Fault::CrashPostgres => {
                if let Database::Postgres(postgres) = &self.database {
                    postgres.start_server().await?;
                    self.log.line(format!(
                        "  started PostgreSQL again after {:.1} s down",
                        fault_started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
        let healing = Instant::now();
        let everyone = fleet.clients.len();
        fleet
            .recorder
            .wait_until(options.patience, || fleet.caught_up() == everyone)
            .await;
        let caught_up = fleet.caught_up();
        if caught_up == everyone {
            self.log.line(format!(
                "  round {} healed: {everyone}/{everyone} clients connected and caught up {:.1} s after the fault ended; {} acked so far",
                index + 1,
                healing.elapsed().as_secs_f64(),
                fleet.recorder.lock().acked.len()
            ));
        } else {
            let behind: Vec<String> = fleet
                .clients
                .iter()
                .filter(|c| !c.caught_up())
                .map(|c| {
                    format!(
                        "user {} ({:?})",
                        c.user.0,
                        c.client.snapshot().connection.state
                    )
                })
                .collect();
            self.problem(format!(
                "round {} ({fault}): {} clients not caught up {} s after healing: {}",
                index + 1,
                behind.len(),
                options.patience.as_secs(),
                behind.join(", ")
            ));
        }
        let failed = self.retry_failed(fleet);
        if failed > 0 {
            self.log.line(format!(
                "  {failed} sends had ended failed (their tries ran out during the fault): retried them, as their users would"
            ));
        }
        for node in &mut self.nodes {
            if !node.running() {
                self.problems.push(format!(
                    "{} exited on its own during round {}",
                    node.name,
                    index + 1
                ));
                node.restart().await?;
            }
        }
        Ok(())
    }

    /// Waits until every sent message is acked or failed, retries the failed ones (as a
    /// user would), and waits until every timeline has every acked message. Returns how
    /// many sends were retried in the whole run.
    async fn settle(&mut self, fleet: &Fleet, sent: &[Sent]) -> usize {
        let patience = self.options.patience;
        let recorder = &fleet.recorder;
        // Every try (a send, or a retry of a failed one) ends acked or failed.
        let settled = |retried: usize| {
            recorder.lock().acked.len() + recorder.failed.load(Ordering::Relaxed) as usize
                >= sent.len() + retried
        };
        for pass in 1..=3 {
            let retried = self.retried;
            recorder.wait_until(patience, || settled(retried)).await;
            let failed = self.retry_failed(fleet);
            if failed == 0 {
                break;
            }
            self.log.line(format!(
                "settling, pass {pass}: retried {failed} sends that had ended failed"
            ));
        }
        let retried = self.retried;
        recorder.wait_until(patience, || settled(retried)).await;
        let everyone = fleet.clients.len();
        let converged = recorder
            .wait_until(patience, || {
                fleet.caught_up() == everyone && verify::integrity(fleet).losses == 0
            })
            .await;
        let pending: usize = fleet
            .clients
            .iter()
            .map(|c| c.client.inspect(|engine| engine.sending_ids().len()))
            .sum();
        self.log.line(format!(
            "settled: {} acked, {} still sending, {}",
            recorder.lock().acked.len(),
            pending,
            if converged {
                "every timeline has every acked message".to_owned()
            } else {
                format!("timelines still incomplete after {} s", patience.as_secs())
            }
        ));
        self.retried
    }

    /// Every conversation's stored messages, read from the first node's REST API.
    async fn read_database(
        &mut self,
        fleet: &Fleet,
        tokens: &[String],
    ) -> anyhow::Result<BTreeMap<ConversationId, Vec<chat_wire::socket::Message>>> {
        let http = reqwest::Client::new();
        let base = self.nodes[0].url();
        let mut stored = BTreeMap::new();
        for (conversation, members) in &fleet.conversations {
            let token = members
                .first()
                .and_then(|&m| tokens.get(m))
                .context("every conversation has participants")?;
            let messages = check::history(&http, &base, token, *conversation).await?;
            stored.insert(*conversation, messages);
        }
        Ok(stored)
    }

    /// Retries every send that ended `failed`; how many.
    fn retry_failed(&mut self, fleet: &Fleet) -> usize {
        let mut count = 0;
        for fleet_client in &fleet.clients {
            for id in fleet_client.client.inspect(|engine| engine.failed_ids()) {
                fleet_client.client.retry(&id);
                count += 1;
            }
        }
        self.retried += count;
        count
    }

    /// The slowest acks and deliveries, with when they were sent, so a long wait can be
    /// matched with the rounds above.
    fn slowest(&self, fleet: &Fleet, sent: &[Sent]) {
        let recorded = fleet.recorder.lock();
        let at = |instant: Instant| (instant - self.log.started).as_secs_f64();
        for (what, times) in [
            ("ack", &recorded.acked_at),
            ("delivery to the last participant", &recorded.received_last),
        ] {
            let mut waits: Vec<(Duration, &Sent, Instant, Instant)> = sent
                .iter()
                .filter_map(|message| {
                    let id = message.id.to_string();
                    let sent_at = *recorded.sent_at.get(&id)?;
                    let done = *times.get(&id)?;
                    Some((done - sent_at, message, sent_at, done))
                })
                .collect();
            waits.sort_by_key(|wait| std::cmp::Reverse(wait.0));
            for (wait, message, sent_at, done) in waits.iter().take(3) {
                self.log.line(format!(
                    "slowest {what}: {:.1} s, message {} of user {} in conversation {} (sent at {:.1} s, done at {:.1} s)",
                    wait.as_secs_f64(),
                    message.id,
                    fleet.clients[message.client].user.0,
                    message.conversation.0,
                    at(*sent_at),
                    at(*done)
                ));
            }
        }
    }

    /// A node that panicked is a failure even if the clients did not notice; errors are
    /// counted (a database outage is expected to log some).
    fn scan_logs(&mut self) {
        let mut panics = Vec::new();
        for node in &self.nodes {
            let log = std::fs::read_to_string(node.log_path()).unwrap_or_default();
            let errors = log.lines().filter(|l| l.contains("ERROR")).count();
            let warnings = log.lines().filter(|l| l.contains("WARN")).count();
            self.log.line(format!(
                "{} logged {errors} errors and {warnings} warnings ({})",
                node.name,
                node.log_path().display()
            ));
            panics.extend(
                log.lines()
                    .filter(|l| l.contains("panicked"))
                    .map(|l| format!("{} panicked: {l}", node.name)),
            );
        }
        self.report("no server node panicked".to_owned(), panics);
    }

    fn report(&mut self, what: String, problems: Vec<String>) {
        if problems.is_empty() {
            self.log.line(format!("verified: {what}"));
        } else {
            self.log
                .line(format!("FAILED: {what}: {} problems", problems.len()));
            for problem in problems {
                self.problem(problem);
            }
        }
    }

    fn problem(&mut self, problem: String) {
        self.log.line(format!("  problem: {problem}"));
        self.problems.push(problem);
    }
}

/// The senders: `rate` messages per second, round-robin over every (client,
/// conversation), whether the client is connected or not (offline sends queue).
struct Traffic {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Vec<Sent>>,
}

impl Traffic {
    fn start(fleet: Arc<Fleet>, rate: f64) -> Traffic {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let senders = scenario::senders(&fleet);
            let mut sent = Vec::new();
            if senders.is_empty() || rate <= 0.0 {
                return sent;
            }
            let every = Duration::from_secs_f64(1.0 / rate);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut next = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return sent,
                }
                let (client, conversation) = senders[next % senders.len()];
                let text = format!("chaos message {next}");
                next += 1;
                let at = Instant::now();
                if let Ok(id) = fleet.clients[client].client.send(conversation, &text) {
                    fleet.recorder.lock().sent_at.insert(id.to_string(), at);
                    sent.push(Sent {
                        client,
                        conversation,
                        id,
                    });
                }
            }
        });
        Traffic { stop, task }
    }

    async fn stop(self) -> Vec<Sent> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// A counter from a node's `/metrics` (summed over its labels), if it answers.
async fn metric(base: &str, name: &str) -> Option<u64> {
    let response = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let text = response.text().await.ok()?;
    let values: Vec<f64> = text
        .lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    // Counters are whole numbers printed as floats.
    // A counter never incremented is not rendered at all.
    Some(values.iter().sum::<f64>() as u64)
}
