//! `chat-load`: drives a chat server with real client engines and reports what users feel.
//!
//! Every simulated user is a `client-native` engine (the same core as the browser's
//! wasm engine), so load clients behave as real ones: acks, retries, dedup, backfill.
//! The `chat-load` binary is the command line over this library; the chaos soak
//! (`tests/chaos.rs`) reuses the same pieces.
//!
//! # Layout
//!
//! - [`population`]: registers users and creates conversations through REST.
//! - [`fleet`]: one engine per user, its event pump, and the shared [`fleet::Recorder`].
//! - [`verify`]: every acked message stored by every participant's engine exactly once,
//!   without gaps, counted from the engines' events as they come.
//! - [`scenario`]: steady chat, max-rate ramp, idle connections, reconnect storm, big
//!   groups.
//! - [`report`]: latency summaries, the human table and `--json`.
//! - [`memory`]: a server process's resident memory and CPU time.
//! - [`chaos`]: the chaos soak: real `chat-server` processes, a private PostgreSQL and a
//!   fault-injecting TCP proxy, and the end-to-end checks after healing.

pub mod chaos;
pub mod fleet;
pub mod memory;
pub mod population;
pub mod report;
pub mod scenario;
pub mod verify;

use clap::Args;
use std::time::Duration;

/// Options every scenario takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The server's base URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Print the report as JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The server's process id, to report its memory per connection.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Seeds the engines and the choice of senders.
    #[arg(long, global = true, default_value_t = 1)]
    pub seed: u64,
    /// How many REST calls (registrations, conversation creations) run at once.
    #[arg(long, global = true, default_value_t = 8)]
    pub setup_concurrency: usize,
    /// How long to wait for connections, catch-up and quiescence.
    #[arg(long, global = true, default_value = "60", value_parser = seconds)]
    pub patience: Duration,
}

/// The shape of the chat: who talks in which conversation.
#[derive(Clone, Debug, Args)]
pub struct Shape {
    /// Users (one engine and one socket each, unless `--sockets-per-user`).
    #[arg(long, default_value_t = 400)]
    pub users: usize,
    /// Conversations.
    #[arg(long, default_value_t = 100)]
    pub conversations: usize,
    /// Participants per conversation.
    #[arg(long, default_value_t = 4)]
    pub participants: usize,
    /// Engines (sockets) per user, as one person on several devices: many connections
    /// without as many sign-ups, whose password hashing dominates set-up. The server
    /// allows 16 sockets per user.
    #[arg(long, default_value_t = 1, value_parser = sockets_per_user)]
    pub sockets_per_user: usize,
}

impl Shape {
    /// Sockets in all: one engine per socket.
    pub fn connections(&self) -> usize {
        self.users * self.sockets_per_user
    }
}

/// Parses `--sockets-per-user`: 1 to 16 (the server's per-user cap).
pub fn sockets_per_user(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=16) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of sockets per user from 1 to 16 (the server's cap)"
        )),
    }
}

/// Parses a non-negative number of seconds (`1.5`).
pub fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!("`{text}` is not a number of seconds"))
    }
}
