//! The max-rate ramp: steady windows at rising rates until delivery p99 passes the limit.

use super::{send_window, senders, setup};
use crate::report::{RampStep, Report};
use crate::{Common, Shape, verify};
use std::time::Duration;

#[derive(Debug)]
pub struct Ramp {
    pub start_rate: f64,
    pub step: f64,
    pub max_rate: f64,
    pub step_duration: Duration,
    pub p99_limit_ms: f64,
}

pub async fn run(common: &Common, shape: &Shape, ramp: &Ramp) -> anyhow::Result<Report> {
    let setup = setup(common, shape, "ramp").await?;
    let mut report = setup.report;
    let senders = senders(&setup.fleet);
    let mut rate = ramp.start_rate;
    let mut first_message = 0;
    while rate <= ramp.max_rate && ramp.step > 0.0 {
        let window = send_window(
            common,
            &setup.fleet,
            &senders,
            first_message,
            rate,
            ramp.step_duration,
        )
        .await;
        first_message += window.sent;
        let integrity = verify::integrity(&setup.fleet);
        let within = window.delivery.p99_ms < ramp.p99_limit_ms
            && integrity.ok()
            && window.acked_rate >= 0.95 * rate;
        report.ramp.push(RampStep {
            offered_rate: rate,
            acked_rate: window.acked_rate,
            delivery: window.delivery,
            ack: window.ack,
            integrity,
        });
        if !within {
            break;
        }
        report.sustained_rate = Some(rate);
        rate += ramp.step;
    }
    report.integrity = Some(verify::integrity(&setup.fleet));
    Ok(report)
}
