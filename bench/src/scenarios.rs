//! The scenarios of issue 8 (steady, ramp, idle, storm) and issue 17 (big-group,
//! storm-5000), at full size or `--quick`, as `chat-load` arguments.

use crate::servers::Server;
use anyhow::{Context, bail};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    /// `chat-load` subcommand and its options.
    args: Vec<String>,
    /// Restart the server mid-run (the reconnect storm).
    restarts: bool,
    /// How long chat-load waits for every socket to connect, join and catch up.
    patience_s: u32,
}

/// Every scenario, in the order a run and its summary list them.
pub const NAMES: [&str; 7] = [
    "steady",
    "ramp",
    "ramp-fine",
    "idle",
    "storm",
    "storm-5000",
    "big-group",
];

/// What a run without `--scenarios` runs: issue 8's four. The two of issue 17 take longer
/// to set up (big-group signs up 10,000 users) and are asked for by name.
const DEFAULT: [&str; 4] = ["steady", "ramp", "idle", "storm"];

impl Scenario {
    pub fn all(quick: bool) -> Vec<Scenario> {
        DEFAULT
            .into_iter()
            .map(|name| Scenario::named(name, quick))
            .collect::<anyhow::Result<_>>()
            .unwrap_or_default()
    }

    pub fn named(name: &str, quick: bool) -> anyhow::Result<Scenario> {
        let (name, args, restarts): (&'static str, &[&str], bool) = match (name, quick) {
            // Issue 8's sizes: 400 users in 100 conversations of 4 at 1,000 msgs/s.
            ("steady", false) => (
                "steady",
                &[
                    "steady",
                    "--users",
                    "400",
                    "--conversations",
                    "100",
                    "--participants",
                    "4",
                    "--rate",
                    "1000",
                    "--duration",
                    "30",
                ],
                false,
            ),
            ("steady", true) => (
                "steady",
                &[
                    "steady",
                    "--users",
                    "20",
                    "--conversations",
                    "5",
                    "--participants",
                    "4",
                    "--rate",
                    "50",
                    "--duration",
                    "3",
                ],
                false,
            ),
            // 1,500 users: at the top step (12,000 msgs/s) each sends 8 msgs/s, under the
            // per-user limit of 10.
            ("ramp", false) => (
                "ramp",
                &[
                    "ramp",
                    "--users",
                    "1500",
                    "--conversations",
                    "375",
                    "--participants",
                    "4",
                    "--start-rate",
                    "1000",
                    "--step",
                    "1000",
                    "--max-rate",
                    "12000",
                    "--step-duration",
                    "10",
                ],
                false,
            ),
            ("ramp", true) => (
                "ramp",
                &[
                    "ramp",
                    "--users",
                    "40",
                    "--conversations",
                    "10",
                    "--participants",
                    "4",
                    "--start-rate",
                    "100",
                    "--step",
                    "100",
                    "--max-rate",
                    "300",
                    "--step-duration",
                    "2",
                ],
                false,
            ),
            // The same ramp in steps of 250 from 250 (issue 17): a server that keeps up with
            // less than 1,000 msgs/s, where "ramp" starts, still gets a sustained rate.
            ("ramp-fine", false) => (
                "ramp-fine",
                &[
                    "ramp",
                    "--users",
                    "1500",
                    "--conversations",
                    "375",
                    "--participants",
                    "4",
                    "--start-rate",
                    "250",
                    "--step",
                    "250",
                    "--max-rate",
                    "12000",
                    "--step-duration",
                    "10",
                ],
                false,
            ),
            ("ramp-fine", true) => (
                "ramp-fine",
                &[
                    "ramp",
                    "--users",
                    "40",
                    "--conversations",
                    "10",
                    "--participants",
                    "4",
                    "--start-rate",
                    "25",
                    "--step",
                    "25",
                    "--max-rate",
                    "75",
                    "--step-duration",
                    "2",
                ],
                false,
            ),
            // 10,000 sockets, each joined to one conversation: 1,000 users on 10 devices
            // each, so set-up is 1,000 sign-ups (the peer hashes with 64 MiB Argon2).
            ("idle", false) => (
                "idle",
                &[
                    "idle",
                    "--users",
                    "1000",
                    "--sockets-per-user",
                    "10",
                    "--conversations",
                    "250",
                    "--participants",
                    "4",
                    "--hold",
                    "30",
                ],
                false,
            ),
            ("idle", true) => (
                "idle",
                &[
                    "idle",
                    "--users",
                    "50",
                    "--sockets-per-user",
                    "2",
                    "--conversations",
                    "12",
                    "--participants",
                    "4",
                    "--hold",
                    "2",
                ],
                false,
            ),
            // 2,000 clients: 500 users on 4 devices each.
            ("storm", false) => (
                "storm",
                &[
                    "storm",
                    "--users",
                    "500",
                    "--sockets-per-user",
                    "4",
                    "--conversations",
                    "125",
                    "--participants",
                    "4",
                ],
                true,
            ),
            ("storm", true) => (
                "storm",
                &[
                    "storm",
                    "--users",
                    "40",
                    "--conversations",
                    "10",
                    "--participants",
                    "4",
                ],
                true,
            ),
            // Issue 17's storm: 5,000 clients, 1,250 users on 4 devices each, every user in
            // one conversation as in the 2,000 storm above (which stays as it was, so that
            // its figure can be reproduced).
            ("storm-5000", false) => (
                "storm-5000",
                &[
                    "storm",
                    "--users",
                    "1250",
                    "--sockets-per-user",
                    "4",
                    "--conversations",
                    "250",
                    "--participants",
                    "5",
                ],
                true,
            ),
            ("storm-5000", true) => (
                "storm-5000",
                &[
                    "storm",
                    "--users",
                    "50",
                    "--sockets-per-user",
                    "4",
                    "--conversations",
                    "10",
                    "--participants",
                    "5",
                ],
                true,
            ),
            // Issue 17's big groups: 20 groups of 500 members, one socket each (10,000
            // sockets, 10,000 sign-ups), 20 msgs/s in all: 10,000 deliveries a second.
            ("big-group", false) => (
                "big-group",
                &[
                    "big-group",
                    "--groups",
                    "20",
                    "--members",
                    "500",
                    "--rate",
                    "20",
                    "--duration",
                    "30",
                ],
                false,
            ),
            ("big-group", true) => (
                "big-group",
                &[
                    "big-group",
                    "--groups",
                    "4",
                    "--members",
                    "25",
                    "--rate",
                    "8",
                    "--duration",
                    "3",
                ],
                false,
            ),
            (other, _) => bail!("no scenario `{other}` ({})", NAMES.join(", ")),
        };
        // Connecting big-group's 10,000 sockets is a presence storm: each user's first
        // socket announces `user:online` to its group's room and its join does again
        // (SPEC.md section 2, the same in both servers), up to 499 deliveries each, some
        // 5 million in all; at full size that takes minutes on two cores, and sending
        // must start only once every socket is in.
        let patience_s = if name == "big-group" && !quick {
            900
        } else {
            120
        };
        Ok(Scenario {
            name,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            restarts,
            patience_s,
        })
    }

    /// Runs `chat-load` against `server`; its JSON report (also when it found losses: the
    /// report says so, and the summary shows it).
    pub fn run(&self, root: &Path, server: &Server) -> anyhow::Result<Value> {
        let mut command = Command::new(crate::servers::release_binary(root, "chat-load"));
        command
            .args([
                "--url",
                &server.url,
                "--json",
                "--setup-concurrency",
                "4",
                "--patience",
                &self.patience_s.to_string(),
            ])
            .args(["--server-pid", &server.pid.to_string()])
            .args(&self.args);
        if self.restarts {
            command.args(["--restart", &server.restart_command]);
        }
        let output = command.output().context("running chat-load")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(&stdout).with_context(|| {
            format!(
                "chat-load printed no report: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }
}
