//! Steady chat: a fixed rate for a fixed time.

use super::{read_memory, record_window, send_window, senders, server_memory, setup};
use crate::report::Report;
use crate::{Common, Shape};
use std::time::Duration;

/// With `login_flood` > 0, that many logins per second (wrong passwords) run beside the
/// chat for the same time ([`super::login_flood`]).
pub async fn run(
    common: &Common,
    shape: &Shape,
    rate: f64,
    duration: Duration,
    login_flood: f64,
) -> anyhow::Result<Report> {
    let setup = setup(common, shape, "steady").await?;
    let mut report = setup.report;
    report.server_memory =
        server_memory(setup.memory_before, read_memory(common, report.connected));
    let flood = (login_flood > 0.0).then(|| {
        let url = common.url.clone();
        tokio::spawn(async move { super::login_flood::run(&url, login_flood, duration).await })
    });
    let window = send_window(
        common,
        &setup.fleet,
        &senders(&setup.fleet),
        0,
        rate,
        duration,
    )
    .await;
    if let Some(flood) = flood {
        report.login_flood = flood.await.ok();
    }
    record_window(&mut report, &setup.fleet, &window, rate, duration);
    Ok(report)
}
