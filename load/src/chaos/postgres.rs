//! A private PostgreSQL for the soak: its own data directory and loopback port, so the
//! harness may stop, crash and restart it without touching the machine's shared cluster.

use anyhow::{Context, bail};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// `initdb`, `pg_ctl start/stop` (with `-w`) must finish within this.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A running private PostgreSQL; dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Running as root: PostgreSQL refuses root, so its commands run as `postgres`.
    as_postgres: bool,
}

/// Where PostgreSQL's server binaries (`initdb`, `pg_ctl`) are: `CHAT_PG_BIN`, else the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian), else `pg_config --bindir`.
pub fn binaries() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("CHAT_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has_tools(&dir).then_some(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Some(dir);
    }
    let output = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    (output.status.success() && has_tools(&dir)).then_some(dir)
}

impl PrivatePostgres {
    /// `initdb` into a fresh temporary directory and start on a free loopback port.
    pub async fn start(bin: PathBuf) -> anyhow::Result<PrivatePostgres> {
        let as_postgres = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let dir = tempfile::Builder::new().prefix("chat-chaos-pg").tempdir()?;
        if as_postgres {
            run(std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))
            .await
            .context("handing the data directory to the postgres user")?;
        }
        let mut postgres = PrivatePostgres {
            bin,
            dir,
            port: 0,
            as_postgres,
        };
        let data = postgres.data_dir();
        run(postgres.tool("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .await
        .context("initdb")?;
        // A free port may be taken between asking and binding: try a few.
        let mut last_error = None;
        for _ in 0..3 {
            postgres.port = free_port()?;
            match postgres.start_server().await {
                Ok(()) => return Ok(postgres),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("PostgreSQL did not start")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database (trust authentication on loopback).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m fast`: clients are disconnected, open transactions roll back.
    pub async fn stop_fast(&self) -> anyhow::Result<()> {
        self.stop("fast").await
    }

    /// `pg_ctl stop -m immediate`: the postmaster and its backends quit at once, like a
    /// crash; the next start runs crash recovery.
    pub async fn crash(&self) -> anyhow::Result<()> {
        self.stop("immediate").await
    }

    pub async fn start_server(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        run(self
            .tool("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "30", "-o", &options]))
        .await
        .with_context(|| format!("starting PostgreSQL:\n{}", self.log_tail(20)))
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    async fn stop(&self, mode: &str) -> anyhow::Result<()> {
        run(self
            .tool("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode, "-w", "-t", "30"]))
        .await
        .with_context(|| format!("stopping PostgreSQL ({mode})"))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// A PostgreSQL tool, as `postgres` when running as root.
    fn tool(&self, name: &str) -> std::process::Command {
        let path = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            std::process::Command::new(path)
        };
        // The tools must not inherit a working directory `postgres` cannot enter.
        command.current_dir(self.dir.path());
        command
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Blocking, but short, and only at the end of a run.
        let _ = self
            .tool("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "-t", "10"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs a command to completion within [`COMMAND_TIMEOUT`]; its output is the error.
async fn run(command: &mut std::process::Command) -> anyhow::Result<()> {
    let described = format!("{command:?}");
    let mut command = Command::from(std::mem::replace(command, std::process::Command::new("")));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(COMMAND_TIMEOUT, command.output())
        .await
        .with_context(|| format!("{described} took longer than {COMMAND_TIMEOUT:?}"))?
        .with_context(|| format!("running {described}"))?;
    if !output.status.success() {
        bail!(
            "{described} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
