//! A private `redis-server` for the two-node soak on `CLUSTER_ADAPTER=redis`: started on a
//! free loopback port, killed with SIGKILL and started again on the same port, so the nodes
//! really lose Redis and must reconnect and resubscribe. Never the machine's shared Redis
//! (other tests use that one, and it cannot be restarted safely).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// From spawning to the first `PONG`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The `redis-server` binary: `CHAT_REDIS_SERVER`, else `redis-server` on the `PATH`.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHAT_REDIS_SERVER") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    })
}

/// A running (or stopped) private Redis; dropping it kills the process.
#[derive(Debug)]
pub struct PrivateRedis {
    binary: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts `binary` on a free loopback port, without persistence, and waits until it
    /// answers `PING`.
    pub async fn start(binary: &Path) -> anyhow::Result<PrivateRedis> {
        // redis-server cannot be told to pick a port and report it: take one the OS picked
        // and free it again at once (the same port is reused on every restart).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut redis = PrivateRedis {
            binary: binary.to_owned(),
            port,
            dir: tempfile::Builder::new()
                .prefix("chat-chaos-redis")
                .tempdir()?,
            child: None,
        };
        redis.start_server().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Starts it (again) on its port and waits until it answers `PING`.
    pub async fn start_server(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("Redis is still running");
        }
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.ping().await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "redis-server on port {} did not answer PING within {} s:\n{}",
                    self.port,
                    START_TIMEOUT.as_secs(),
                    self.log_tail(10)
                );
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "redis-server on port {} exited ({status}):\n{}",
                    self.port,
                    self.log_tail(10)
                );
            }
            // Polling a port that has nothing to notify us with.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL (a crash: every client connection drops at once), and wait until it is gone.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            bail!("Redis is not running");
        };
        child.start_kill()?;
        tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .context("redis-server did not die within 10 s of SIGKILL")??;
        Ok(())
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// One `PING` over a fresh connection; true on `+PONG`.
    async fn ping(&self) -> bool {
        let ping = async {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.write_all(b"PING\r\n").await?;
            let mut answer = [0_u8; 7];
            stream.read_exact(&mut answer).await?;
            Ok::<bool, std::io::Error>(&answer == b"+PONG\r\n")
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), ping).await,
            Ok(Ok(true))
        )
    }
}
