//! `chat-load`: the command line over the `chat_load` library (see its crate doc).

// A command-line tool talks on stdout.
#![allow(clippy::print_stdout)]

use chat_load::{Common, Shape, memory, scenario, seconds, sockets_per_user};
use clap::{Parser, Subcommand};
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
        /// Login attempts per second (wrong passwords) beside the chat, as an attacker's
        /// flood; run the server with `AUTH_ATTEMPTS_PER_ADDRESS` lifted so that they
        /// reach the password hashing.
        #[arg(long, default_value_t = 0.0)]
        login_flood: f64,
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
    /// A few large groups (every user in one) at a low rate: each message fans out to a
    /// whole group. Delivery latency, losses, duplicates, and the server's CPU time while
    /// sending (with `--server-pid`).
    BigGroup {
        /// Groups (conversations).
        #[arg(long, default_value_t = 20)]
        groups: usize,
        /// Members (users) per group. The server must allow groups this large
        /// (`MAX_PARTICIPANTS`, 256 by default, counts the members but the creator).
        #[arg(long, default_value_t = 500)]
        members: usize,
        /// Engines (sockets) per user.
        #[arg(long, default_value_t = 1, value_parser = sockets_per_user)]
        sockets_per_user: usize,
        /// Messages per second, over all groups.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// How long to send.
        #[arg(long, default_value = "30", value_parser = seconds)]
        duration: Duration,
    },
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
            login_flood,
        } => scenario::steady::run(&cli.common, &shape, rate, duration, login_flood).await?,
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
        Scenario::BigGroup {
            groups,
            members,
            sockets_per_user,
            rate,
            duration,
        } => {
            let groups = scenario::big_group::Groups {
                groups,
                members,
                sockets_per_user,
            };
            scenario::big_group::run(&cli.common, groups, rate, duration).await?
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
