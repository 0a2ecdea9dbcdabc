//! What the soak tells: its log, each check's verdict and problems, the slowest waits,
//! what the nodes logged, and the figures of a passing run.

use super::Backend;
use super::check::Sent;
use super::soak::Soak;
use crate::fleet::Fleet;
use std::fmt;
use std::io::Write as _;
use std::time::Duration;
use tokio::time::Instant;

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
    pub(super) started: Instant,
}

impl Log {
    pub(super) fn new() -> Log {
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

impl Soak<'_> {
    /// The slowest acks and deliveries, with when they were sent, so a long wait can be
    /// matched with the rounds above.
    pub(super) fn slowest(&self, fleet: &Fleet, sent: &[Sent]) {
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
    pub(super) fn scan_logs(&mut self) {
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

    pub(super) fn report(&mut self, what: String, problems: Vec<String>) {
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

    pub(super) fn problem(&mut self, problem: String) {
        self.log.line(format!("  problem: {problem}"));
        self.problems.push(problem);
    }
}

/// A counter from a node's `/metrics` (summed over its labels), if it answers.
pub(super) async fn metric(base: &str, name: &str) -> Option<u64> {
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
