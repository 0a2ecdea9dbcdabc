//! Idle connections: connect and join, then hold; server memory per connection.
//!
//! Memory per connection is the slope between half the fleet and all of it, not the
//! growth from zero: the first reading would otherwise include what sign-ups left behind
//! (an allocator keeps Argon2's work areas) and one-off warm-up (pools, caches, JIT).
//!
//! Both readings are taken after the same hold. Each engine's REST calls (history, the
//! conversation list) leave an idle keep-alive HTTP connection that the server closes
//! after its idle timeout (chat-server 10 s, Node 5 s): a reading taken sooner counts
//! those connections for the first half and not for the second, and the slope comes out
//! near zero.

use super::{base_report, read_memory, server_memory, start_fleet};
use crate::report::Report;
use crate::{Common, Shape};
use std::time::Duration;

pub async fn run(common: &Common, shape: &Shape, hold: Duration) -> anyhow::Result<Report> {
    let fleet = start_fleet(common, shape).await?;
    let everyone = fleet.clients.len();
    let half = everyone / 2;
    let first = fleet.connect_range(0..half, common.patience).await;
    // Holding is part of the measurement: idle sockets must survive heartbeats, and
    // memory is read once the connects' transient allocations and idle HTTP connections
    // are gone, after the same hold as the second reading.
    tokio::time::sleep(hold).await;
    let at_half = read_memory(common, first);
    fleet.connect_range(half..everyone, common.patience).await;
    tokio::time::sleep(hold).await;
    // A socket dropped while holding counts as not connected: the report fails.
    let connected = fleet.caught_up();
    let mut report = base_report(shape, "idle", &fleet, connected);
    let at_end = read_memory(common, connected);
    report.server_memory = server_memory(at_half, at_end);
    Ok(report)
}
