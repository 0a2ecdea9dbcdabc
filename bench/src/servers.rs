//! The two servers under test, each started on a fresh PostgreSQL database.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The same secret for both servers: chat-load only needs the tokens they issue.
const JWT_SECRET: &str = "benchmark-secret-benchmark-secret-0123456789";
/// How long a server may take to migrate and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// chat-server (release build) on PostgreSQL.
    Rust,
    /// The Node.js Socket.IO + pg peer.
    Peer,
}

impl Target {
    pub fn key(self) -> &'static str {
        match self {
            Target::Rust => "rust",
            Target::Peer => "peer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Target::Rust => "chat-server (Rust)",
            Target::Peer => "Node.js peer",
        }
    }
}

/// A running server under test.
#[derive(Debug)]
pub struct Server {
    pub url: String,
    /// Its process id (for memory figures); a restart writes the new one to `pid_file`.
    pub pid: u32,
    pub pid_file: PathBuf,
    /// A shell command that kills the server (-9) and starts it again on the same port
    /// and database, returning once it listens.
    pub restart_command: String,
    child: Child,
}

/// Copies the peer next to the build output and installs its packages (`npm ci`).
pub fn prepare_peer(root: &Path, source: &Path) -> anyhow::Result<()> {
    let dir = peer_dir(root);
    if !source.join("server.mjs").is_file() {
        bail!("no Node.js peer at {} (pass --peer)", source.display());
    }
    std::fs::create_dir_all(&dir)?;
    for file in [
        "server.mjs",
        "schema.sql",
        "package.json",
        "package-lock.json",
    ] {
        std::fs::copy(source.join(file), dir.join(file))
            .with_context(|| format!("copying the peer's {file}"))?;
    }
    if !dir.join("node_modules").is_dir() {
        println!("==> npm ci for the Node.js peer");
        let status = Command::new("npm")
            .current_dir(&dir)
            .args(["ci", "--no-audit", "--no-fund"])
            .status()?;
        if !status.success() {
            bail!("npm ci failed for the peer in {}", dir.display());
        }
    }
    Ok(())
}

fn peer_dir(root: &Path) -> PathBuf {
    root.join("target/bench/peer")
}

impl Server {
    /// Creates `database` afresh and starts `target` on it, on a free port.
    pub fn start(
        root: &Path,
        target: Target,
        admin_url: &str,
        database: &str,
    ) -> anyhow::Result<Server> {
        fresh_database(admin_url, database)?;
        let port = free_port()?;
        let database_url = database_url(admin_url, database);
        let (program, args, env, dir) = command_line(root, target, port, &database_url);
        let run_dir = root.join("target/bench/run");
        std::fs::create_dir_all(&run_dir)?;
        let pid_file = run_dir.join(format!("{}.pid", target.key()));
        let log = run_dir.join(format!("{}.log", target.key()));

        let mut command = Command::new(&program);
        command
            .args(&args)
            .envs(env.iter().cloned())
            .current_dir(&dir)
            .stdout(Stdio::piped())
            // The server's errors, and after a restart the new process's output too
            // (the restart script appends): what to read when a run goes wrong.
            .stderr(
                std::fs::File::create(&log)
                    .with_context(|| format!("creating {}", log.display()))?,
            );
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        wait_for_listening(&mut child, target)?;
        std::fs::write(&pid_file, child.id().to_string())?;

        let exports: String = env.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
        let script = run_dir.join(format!("restart-{}.sh", target.key()));
        std::fs::write(
            &script,
            format!(
                "#!/bin/bash\n\
                 # Kills the server under test (-9) and starts it again on the same port and\n\
                 # database; returns once it accepts connections.\n\
                 kill -9 \"$(cat '{pid}')\" 2>/dev/null\n\
                 # kill returns before the process is gone: wait until the port is let go.\n\
                 for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null || break; sleep 0.01; done\n\
                 cd '{dir}' || exit 1\n\
                 {exports}nohup '{program}' {args} >> '{log}' 2>&1 &\n\
                 new=$!\n\
                 echo $new > '{pid}'\n\
                 for _ in $(seq 1 600); do\n\
                 \x20 kill -0 $new 2>/dev/null || {{ echo \"the restarted server exited; see {log}\" >&2; exit 1; }}\n\
                 \x20 (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && exit 0\n\
                 \x20 sleep 0.05\n\
                 done\n\
                 exit 1\n",
                pid = pid_file.display(),
                dir = dir.display(),
                program = program.display(),
                args = args.join(" "),
                log = log.display(),
            ),
        )?;
        let restart_command = format!("bash '{}'", script.display());
        Ok(Server {
            url: format!("http://127.0.0.1:{port}"),
            pid: child.id(),
            pid_file,
            restart_command,
            child,
        })
    }

    /// The current process id (a restart replaces it).
    pub fn current_pid(&self) -> u32 {
        std::fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(self.pid)
    }

    /// Stops the server (and whatever a restart started in its place).
    pub fn stop(mut self) {
        let current = self.current_pid();
        let _ = Command::new("kill")
            .arg("-9")
            .arg(current.to_string())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type CommandLine = (PathBuf, Vec<String>, Vec<(String, String)>, PathBuf);

fn command_line(root: &Path, target: Target, port: u16, database_url: &str) -> CommandLine {
    match target {
        Target::Rust => (
            release_binary(root, "chat-server"),
            Vec::new(),
            vec![
                ("BIND_ADDR".into(), format!("127.0.0.1:{port}")),
                ("DATABASE_URL".into(), database_url.into()),
                ("JWT_SECRET".into(), JWT_SECRET.into()),
                ("RUST_LOG".into(), "warn".into()),
                // The scenarios sign in every user from one address; the peer has no
                // such limits either.
                ("AUTH_ATTEMPTS_PER_ADDRESS".into(), "1000000".into()),
                ("AUTH_ATTEMPTS_PER_USERNAME".into(), "1000000".into()),
                ("PASSWORD_HASH_QUEUE".into(), "1000000".into()),
                ("REST_REQUESTS_PER_USER".into(), "1000000".into()),
                ("CONVERSATIONS_PER_USER".into(), "1000000".into()),
                // The big-group scenario's groups of 500 (the peer takes up to 1,000).
                ("MAX_PARTICIPANTS".into(), "1000".into()),
                ("MAX_UNAUTHENTICATED_SESSIONS".into(), "1000000".into()),
                ("HANDSHAKES_PER_USER_PER_SEC".into(), "1000000".into()),
            ],
            root.to_path_buf(),
        ),
        Target::Peer => (
            PathBuf::from("node"),
            vec!["server.mjs".into()],
            vec![
                ("PORT".into(), port.to_string()),
                ("DATABASE_URL".into(), database_url.into()),
                ("JWT_SECRET".into(), JWT_SECRET.into()),
            ],
            peer_dir(root),
        ),
    }
}

fn wait_for_listening(child: &mut Child, target: Target) -> anyhow::Result<()> {
    let stdout = child
        .stdout
        .take()
        .context("the server's stdout is piped")?;
    let (sender, receiver) = mpsc::channel();
    // Keep reading after the line so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening") {
                let _ = sender.send(());
            }
        }
    });
    match receiver.recv_timeout(START_TIMEOUT) {
        Ok(()) => Ok(()),
        Err(_) => bail!(
            "{} did not start listening within {START_TIMEOUT:?}",
            target.label()
        ),
    }
}

/// A binary of the release build: under `CARGO_TARGET_DIR` when set (as cargo resolves
/// it, from the current directory), else the workspace's `target/`.
pub fn release_binary(root: &Path, name: &str) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir().unwrap_or_default().join(dir),
        None => root.join("target"),
    };
    target.join("release").join(name)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `admin_url` with its database name replaced by `database`.
fn database_url(admin_url: &str, database: &str) -> String {
    match admin_url.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && !base.ends_with('/') => {
            format!("{base}/{database}")
        }
        _ => format!("{}/{database}", admin_url.trim_end_matches('/')),
    }
}

fn fresh_database(admin_url: &str, database: &str) -> anyhow::Result<()> {
    for sql in [
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        format!("CREATE DATABASE {database}"),
    ] {
        let status = Command::new("psql")
            .args([admin_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", &sql])
            .stdout(Stdio::null())
            .status()
            .context("running psql (PostgreSQL's client)")?;
        if !status.success() {
            bail!("psql could not run `{sql}` at {admin_url}");
        }
    }
    Ok(())
}

/// Open files each process may hold, for this process and so for the servers and the load
/// tool it starts (they inherit it). 10,000 clients each hold a WebSocket and a REST
/// connection, so the server and the load tool each need some 20,000 descriptors and a
/// bit more; at the limit the server can neither accept nor open database connections, and
/// a run measures that instead (issue 17's big-group at a 20,000 limit). Raised to
/// 65,536 where this process may (root, or `CAP_SYS_RESOURCE`), else to the hard
/// limit; returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    use rlimit::Resource;
    const OPEN_FILES: u64 = 1 << 16;
    if let Ok((soft, hard)) = Resource::NOFILE.get() {
        let wanted = OPEN_FILES.max(soft);
        if Resource::NOFILE.set(wanted, wanted.max(hard)).is_err() {
            let _ = Resource::NOFILE.set(hard, hard);
        }
    }
    Resource::NOFILE.get().map_or(0, |(soft, _)| soft)
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn swaps_the_database_name_of_an_admin_url() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "bench_x"),
            "postgres://postgres@127.0.0.1:5432/bench_x"
        );
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
    }
}
