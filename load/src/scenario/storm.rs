//! The reconnect storm: every client loses its connection at once (the server restarts, or
//! the network cuts them) and comes back; time from disconnect to caught-up.

use super::setup;
use crate::report::Report;
use crate::{Common, Shape};
use anyhow::{Context, bail};

pub async fn run(common: &Common, shape: &Shape, restart: Option<&str>) -> anyhow::Result<Report> {
    let setup = setup(common, shape, "storm").await?;
    let fleet = &setup.fleet;
    let mut report = setup.report;
    fleet.recorder.lock().recoveries = 0;
    fleet.mark_lost();
    match restart {
        Some(command) => {
            let status = tokio::process::Command::new("sh")
                .args(["-c", command])
                .status()
                .await
                .with_context(|| format!("running the restart command `{command}`"))?;
            if !status.success() {
                bail!("the restart command `{command}` failed ({status})");
            }
        }
        None => {
            for fleet_client in &fleet.clients {
                fleet_client.client.drop_connection();
            }
        }
    }
    let everyone = fleet.clients.len();
    let recorder = &fleet.recorder;
    recorder
        .wait_until(common.patience, || recorder.lock().recoveries >= everyone)
        .await;
    let recorded = recorder.lock();
    report.recovered = Some(recorded.recoveries);
    report.reconnect = Some(recorded.reconnect.summary());
    Ok(report)
}
