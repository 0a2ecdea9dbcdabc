//! A real `chat-server` process the harness can kill -9 (or SIGTERM) and start again on the
//! same port, database and secret.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// From spawning to the `listening` line (migrations included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `chat-server` binary: `CHAT_SERVER_BIN`, else `target/debug/chat-server` of this
/// workspace (or of `CARGO_TARGET_DIR`), built first with
/// `cargo build -p server --bin chat-server` so it is never stale.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHAT_SERVER_BIN") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("CHAT_SERVER_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the load crate lives inside the workspace")?
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let path = target.join("debug").join("chat-server");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(&workspace)
        .args(["build", "-j", "2", "-p", "server", "--bin", "chat-server"])
        .stdout(Stdio::null())
        .status()
        .context("running cargo build -p server --bin chat-server")?;
    if !status.success() {
        bail!("cargo build -p server --bin chat-server failed ({status})");
    }
    if !path.is_file() {
        bail!("{} is missing after building it", path.display());
    }
    Ok(path)
}

/// One server node; dropping it kills the process.
#[derive(Debug)]
pub struct ServerNode {
    pub name: String,
    binary: PathBuf,
    env: Vec<(String, String)>,
    /// Its working directory (nothing is written there unless the server needs a default).
    dir: PathBuf,
    log: PathBuf,
    addr: SocketAddr,
    child: Option<Child>,
}

impl ServerNode {
    /// Starts `binary` on a free loopback port with `env` (`DATABASE_URL`, `JWT_SECRET`…),
    /// its stderr appended to `dir/<name>.log`.
    pub async fn start(
        name: &str,
        binary: &Path,
        env: Vec<(String, String)>,
        dir: &Path,
    ) -> anyhow::Result<ServerNode> {
        let mut node = ServerNode {
            name: name.to_owned(),
            binary: binary.to_owned(),
            env,
            dir: dir.to_owned(),
            log: dir.join(format!("{name}.log")),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child: None,
        };
        node.spawn().await?;
        Ok(node)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("{} is not running", self.name);
        };
        child.start_kill()?;
        tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .with_context(|| format!("{} did not die within 10 s of SIGKILL", self.name))??;
        Ok(())
    }

    /// SIGTERM (what a service manager sends to stop it), and wait up to `within` for the
    /// process to exit: its exit status, or `None` if it was still running then (it is
    /// killed with SIGKILL in that case).
    pub async fn terminate(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<Option<std::process::ExitStatus>> {
        let Some(mut child) = self.child.take() else {
            bail!("{} is not running", self.name);
        };
        let pid = child.id().context("a running child has a pid")?;
        let signalled = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .context("running kill -TERM")?;
        if !signalled.success() {
            bail!("kill -TERM {pid} failed ({signalled})");
        }
        if let Ok(status) = tokio::time::timeout(within, child.wait()).await {
            return Ok(Some(status?));
        }
        child.start_kill()?;
        tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .with_context(|| format!("{} did not die within 10 s of SIGKILL", self.name))??;
        Ok(None)
    }

    /// How long its log is now (a later [`ServerNode::log_since`] reads what came after).
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// What it logged after the log was `offset` bytes long.
    pub fn log_since(&self, offset: u64) -> String {
        let log = std::fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(log.len());
        String::from_utf8_lossy(&log[start..]).into_owned()
    }

    /// Starts it again on the same port (after [`ServerNode::kill9`]).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("{} is still running", self.name);
        }
        // The old process's sockets may linger for a moment; the port is ours again soon.
        let mut last_error = None;
        for _ in 0..5 {
            match self.spawn().await {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
            // A short pause between tries of a bind that failed: nothing to wait on.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("{} did not restart", self.name)))
    }

    /// The process is still running (it did not crash or exit on its own).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("BIND_ADDR", self.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("chat-server listening on http://") {
                    return url.trim().parse::<SocketAddr>().ok();
                }
            }
            None
        })
        .await;
        let addr = match listening {
            Ok(Some(addr)) => addr,
            Ok(None) | Err(_) => {
                let _ = child.start_kill();
                bail!(
                    "{} did not report its address (log {}):\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail(20)
                );
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.addr = addr;
        self.child = Some(child);
        Ok(())
    }
}

/// The abuse limits (docs/SECURITY.md) lifted, for a server that a test or the load tool
/// drives with many users from one address.
pub fn server_limits_lifted() -> &'static [(&'static str, &'static str)] {
    &[
        ("AUTH_ATTEMPTS_PER_ADDRESS", "1000000"),
        ("AUTH_ATTEMPTS_PER_USERNAME", "1000000"),
        ("PASSWORD_HASH_QUEUE", "1000000"),
        ("REST_REQUESTS_PER_USER", "1000000"),
        ("CONVERSATIONS_PER_USER", "1000000"),
        ("MAX_UNAUTHENTICATED_SESSIONS", "1000000"),
        ("HANDSHAKES_PER_USER_PER_SEC", "1000000"),
    ]
}
