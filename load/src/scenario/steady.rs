//! Steady chat: a fixed rate for a fixed time.

use super::{read_memory, send_window, senders, server_memory, setup};
use crate::report::Report;
use crate::{Common, Shape, verify};
use std::time::Duration;

pub async fn run(
    common: &Common,
    shape: &Shape,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Report> {
    let setup = setup(common, shape, "steady").await?;
    let mut report = setup.report;
    report.server_memory =
        server_memory(setup.memory_before, read_memory(common, report.connected));
    let window = send_window(
        common,
        &setup.fleet,
        &senders(&setup.fleet),
        0,
        rate,
        duration,
    )
    .await;
    report.offered_rate = Some(rate);
    report.duration_s = Some(
        window
            .started
            .elapsed()
            .as_secs_f64()
            .min(duration.as_secs_f64()),
    );
    report.acked_rate = Some(window.acked_rate);
    report.delivery = Some(window.delivery);
    report.ack = Some(window.ack);
    report.integrity = Some(verify::integrity(&setup.fleet));
    Ok(report)
}
