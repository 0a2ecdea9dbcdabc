//! Big groups: a few large conversations at a low message rate, so that each message fans
//! out to hundreds of sockets (issue 17: 20 groups of 500 members, 10,000 sockets, 20
//! msgs/s, which is 10,000 deliveries a second). Reports delivery latency at that fan-out,
//! integrity, and the server's CPU time while sending.

use super::{record_window, send_window, senders, setup};
use crate::report::{Report, ServerCpu};
use crate::{Common, Shape, memory};
use std::time::Duration;
use tokio::time::Instant;

/// The groups of a run.
#[derive(Clone, Copy, Debug)]
pub struct Groups {
    pub groups: usize,
    /// Members (users) per group; every user is in exactly one group.
    pub members: usize,
    /// Sockets per user: each message reaches `members × sockets_per_user` sockets.
    pub sockets_per_user: usize,
}

impl Groups {
    /// Disjoint groups: `groups × members` users, group `g` holding users
    /// `g × members .. (g + 1) × members` ([`crate::population::populate`]'s layout).
    pub fn shape(&self) -> Shape {
        Shape {
            users: self.groups * self.members,
            conversations: self.groups,
            participants: self.members,
            sockets_per_user: self.sockets_per_user,
        }
    }
}

pub async fn run(
    common: &Common,
    groups: Groups,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Report> {
    let shape = groups.shape();
    let setup = setup(common, &shape, "big-group").await?;
    let fleet = &setup.fleet;
    let mut report = setup.report;
    let senders = senders(fleet);
    let cpu_before = common.server_pid.and_then(memory::cpu_time);
    let started = Instant::now();
    let window = send_window(common, fleet, &senders, 0, rate, duration).await;
    let window_seconds = started.elapsed().as_secs_f64();
    let cpu_after = common.server_pid.and_then(memory::cpu_time);
    record_window(&mut report, fleet, &window, rate, duration);
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let cpu_seconds = after.saturating_sub(before).as_secs_f64();
        let acked = report.integrity.map_or(0, |i| i.acked);
        report.server_cpu = Some(ServerCpu {
            cpu_seconds,
            window_seconds,
            cores: cpu_seconds / window_seconds.max(1e-9),
            per_message_us: cpu_seconds * 1e6 / acked.max(1) as f64,
        });
    }
    Ok(report)
}
