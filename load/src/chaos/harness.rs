//! Sets the stage and clears it: picks the database, starts the private PostgreSQL, the
//! server nodes and a proxy in front of each, runs the soak, prints the logs when it
//! failed, and gives the verdict. The processes stop when this returns, even on failure.

use super::node::{self, ServerNode};
use super::postgres::{self, PrivatePostgres};
use super::proxy::Proxy;
use super::redis::{self, PrivateRedis};
use super::report::{Log, Outcome};
use super::soak::Soak;
use super::{Adapter, Fault, Options};
use anyhow::{Context, bail};
use std::path::PathBuf;
use tokio::time::Instant;

/// The database the soak runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The database of a run, kept alive (and removed) with it.
pub(super) enum Database {
    Postgres(PrivatePostgres),
    Sqlite(PathBuf),
}

impl Database {
    pub(super) fn url(&self) -> String {
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
    let mut rounds = rounds;
    let mut redis = None;
    let mut adapter_env = Vec::new();
    if node_count > 1 {
        adapter_env.push(("CLUSTER_ADAPTER", options.adapter.name().to_owned()));
    }
    if node_count > 1 && options.adapter == Adapter::Redis {
        let binary = redis::binary().context(
            "redis-server was not found (install Redis or set CHAT_REDIS_SERVER): the Redis soak needs a private one",
        )?;
        let private = PrivateRedis::start(&binary).await?;
        // A prefix of the run's own: nothing else on this Redis hears the nodes (it is
        // private anyway, but a CHAT_REDIS_SERVER shared by parallel runs would not be).
        let prefix = format!("chaos_{:016x}", fastrand::u64(..));
        log.line(format!(
            "started a private Redis on 127.0.0.1:{} (not the shared one), key prefix {prefix}",
            private.port()
        ));
        adapter_env.push(("REDIS_URL", private.url()));
        adapter_env.push(("REDIS_PREFIX", prefix));
        redis = Some(private);
    } else {
        rounds.retain(|fault| !fault.needs_redis());
    }
    for index in 0..node_count {
        let mut env = vec![
            ("DATABASE_URL".to_owned(), database.url()),
            ("JWT_SECRET".to_owned(), secret.clone()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
            // The logs go to files: no colour codes in them.
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        // The soak signs in every client from one address: lift the abuse limits.
        env.extend(
            super::node::server_limits_lifted()
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env.extend(
            adapter_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
        );
        let name = format!("node-{}", index + 1);
        let node = ServerNode::start(&name, &binary, env, dir.path()).await?;
        let proxy = Proxy::start(node.addr()).await?;
        log.line(format!(
            "started {name} (pid {}) on {}{}, clients reach it through the proxy {}",
            node.pid().unwrap_or(0),
            node.url(),
            if node_count > 1 {
                format!(
                    " in cluster mode (CLUSTER_ADAPTER={})",
                    options.adapter.name()
                )
            } else {
                String::new()
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
        redis,
        device: None,
        listeners: Vec::new(),
        burst: Vec::new(),
        probes: Vec::new(),
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
        if let Some(redis) = &soak.redis {
            soak.log
                .line(format!("Redis log, last lines:\n{}", redis.log_tail(10)));
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
