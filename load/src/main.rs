//! `chat-load`: drives a chat server with real client engines and reports what users feel.
//!
//! Every simulated user is a `client-native` engine (the same core as the browser's
//! wasm engine), so load clients behave as real ones: acks, retries, dedup, backfill.
//!
//! # Layout
//!
//! - `population`: registers users and creates conversations through REST.
//! - `fleet`: one engine per user, its event pump, and the shared [`fleet::Recorder`].
//! - `verify`: after a run, every acked message in every participant's timeline exactly
//!   once, in seq order, without gaps.
//! - `scenario`: steady chat, max-rate ramp, idle connections, reconnect storm.
//! - `report`: latency summaries, the human table and `--json`.
//! - `memory`: a server process's resident memory.

// A command-line tool talks on stdout.
#![allow(clippy::print_stdout)]

mod fleet;
mod memory;
mod population;
mod report;
mod scenario;
mod verify;

use clap::{Args, Parser, Subcommand};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "chat-load",
    about = "Load a chat server with real client engines"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

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
    /// Users (one engine and one socket each).
    #[arg(long, default_value_t = 400)]
    pub users: usize,
    /// Conversations.
    #[arg(long, default_value_t = 100)]
    pub conversations: usize,
    /// Participants per conversation.
    #[arg(long, default_value_t = 4)]
    pub participants: usize,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// R messages per second for D seconds; delivery and ack latency, losses, duplicates.
    Steady {
        #[command(flatten)]
        shape: Shape,
        /// Messages per second, over all users.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        /// How long to send.
        #[arg(long, default_value = "30", value_parser = seconds)]
        duration: Duration,
    },
    /// Raises the rate step by step until delivery p99 passes the limit; the highest
    /// rate below it is the sustained rate.
    Ramp {
        #[command(flatten)]
        shape: Shape,
        #[arg(long, default_value_t = 500.0)]
        start_rate: f64,
        #[arg(long, default_value_t = 500.0)]
        step: f64,
        #[arg(long, default_value_t = 20_000.0)]
        max_rate: f64,
        /// Seconds per step.
        #[arg(long, default_value = "10", value_parser = seconds)]
        step_duration: Duration,
        /// The delivery p99 a step must stay under, in milliseconds.
        #[arg(long, default_value_t = 100.0)]
        p99_limit_ms: f64,
    },
    /// Connects and joins, then holds the connections idle: server memory per connection.
    Idle {
        #[command(flatten)]
        shape: Shape,
        /// How long to hold the connections (longer than a heartbeat interval proves they
        /// stay up).
        #[arg(long, default_value = "30", value_parser = seconds)]
        hold: Duration,
    },
    /// Breaks every connection at once (or runs `--restart` to restart the server) and
    /// measures the time from disconnect to caught-up.
    Storm {
        #[command(flatten)]
        shape: Shape,
        /// A shell command that restarts the server (e.g. kills it and starts it again in
        /// the background). Without it, the clients' connections are cut instead.
        #[arg(long)]
        restart: Option<String>,
    },
}

fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!("`{text}` is not a number of seconds"))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    memory::raise_open_file_limit();
    let report = match cli.scenario {
        Scenario::Steady {
            shape,
            rate,
            duration,
        } => scenario::steady::run(&cli.common, &shape, rate, duration).await?,
        Scenario::Ramp {
            shape,
            start_rate,
            step,
            max_rate,
            step_duration,
            p99_limit_ms,
        } => {
            let ramp = scenario::ramp::Ramp {
                start_rate,
                step,
                max_rate,
                step_duration,
                p99_limit_ms,
            };
            scenario::ramp::run(&cli.common, &shape, &ramp).await?
        }
        Scenario::Idle { shape, hold } => scenario::idle::run(&cli.common, &shape, hold).await?,
        Scenario::Storm { shape, restart } => {
            scenario::storm::run(&cli.common, &shape, restart.as_deref()).await?
        }
    };
    if cli.common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    if report.ok() {
        Ok(())
    } else {
        anyhow::bail!("the run lost, doubled or failed messages, or clients did not connect")
    }
}
