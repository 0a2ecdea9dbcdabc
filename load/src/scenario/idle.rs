//! Idle connections: connect and join, then hold; server memory per connection.

use super::{server_memory, setup};
use crate::report::Report;
use crate::{Common, Shape};
use std::time::Duration;

pub async fn run(common: &Common, shape: &Shape, hold: Duration) -> anyhow::Result<Report> {
    let setup = setup(common, shape, "idle").await?;
    let mut report = setup.report;
    // Holding is the measurement itself: idle sockets must survive heartbeats.
    tokio::time::sleep(hold).await;
    report.connected = setup.fleet.caught_up();
    report.server_memory = server_memory(common, setup.memory_before, report.connected);
    Ok(report)
}
