//! The scenarios. Each sets up users and conversations, connects a fleet, drives it, and
//! returns a [`Report`](crate::report::Report).

pub mod big_group;
pub mod idle;
pub mod login_flood;
pub mod ramp;
pub mod steady;
pub mod storm;

use crate::fleet::Fleet;
use crate::population::populate;
use crate::report::{Latencies, Report, ServerMemory, Summary};
use crate::{Common, Shape, memory, verify};
use chat_wire::ConversationId;
use std::time::Duration;
use tokio::time::Instant;

/// A connected fleet and what connecting it measured.
#[derive(Debug)]
pub struct Setup {
    pub fleet: Fleet,
    pub report: Report,
    /// Server memory after sign-ups, before any client connected.
    pub memory_before: Option<MemoryReading>,
}

/// The server's resident memory with this many clients caught up.
#[derive(Clone, Copy, Debug)]
pub struct MemoryReading {
    pub bytes: u64,
    pub connections: usize,
}

/// Registers users, creates conversations, connects and joins everyone.
pub async fn setup(common: &Common, shape: &Shape, scenario: &str) -> anyhow::Result<Setup> {
    let fleet = start_fleet(common, shape).await?;
    let memory_before = read_memory(common, 0);
    let connected = fleet.connect_all(common.patience).await;
    let report = base_report(shape, scenario, &fleet, connected);
    Ok(Setup {
        fleet,
        report,
        memory_before,
    })
}

/// Registers users, creates conversations, and starts an engine per socket (not connected).
pub async fn start_fleet(common: &Common, shape: &Shape) -> anyhow::Result<Fleet> {
    let population = populate(common, shape).await?;
    Ok(Fleet::start(&common.url, population, common.seed))
}

/// The report's shape and connect figures, once the fleet has connected.
pub fn base_report(shape: &Shape, scenario: &str, fleet: &Fleet, connected: usize) -> Report {
    // Connecting counted as "lost → caught up": that is the connect time.
    let connect = std::mem::take(&mut fleet.recorder.lock().reconnect).summary();
    Report {
        scenario: scenario.to_owned(),
        users: shape.users,
        conversations: shape.conversations,
        participants: shape.participants,
        sockets_per_user: shape.sockets_per_user,
        connections: shape.connections(),
        connected,
        connect,
        ..Report::default()
    }
}

/// The server's memory now, if `--server-pid` names a live process.
pub fn read_memory(common: &Common, connections: usize) -> Option<MemoryReading> {
    let bytes = memory::resident_bytes(common.server_pid?)?;
    Some(MemoryReading { bytes, connections })
}

/// Server memory growth from `before` to `after`, per connection added.
pub fn server_memory(
    before: Option<MemoryReading>,
    after: Option<MemoryReading>,
) -> Option<ServerMemory> {
    let (before, after) = (before?, after?);
    let added = after.connections.saturating_sub(before.connections);
    Some(ServerMemory {
        before_bytes: before.bytes,
        before_connections: before.connections,
        after_bytes: after.bytes,
        after_connections: after.connections,
        per_connection_bytes: after.bytes.saturating_sub(before.bytes) as f64 / added.max(1) as f64,
    })
}

/// Who sends next: every (client, conversation) membership, interleaved so consecutive
/// sends go to different users and conversations.
pub fn senders(fleet: &Fleet) -> Vec<(usize, ConversationId)> {
    let widest = fleet
        .conversations
        .iter()
        .map(|(_, members)| members.len())
        .max()
        .unwrap_or(0);
    (0..widest)
        .flat_map(|k| {
            fleet
                .conversations
                .iter()
                .filter_map(move |(id, members)| members.get(k).map(|&m| (m, *id)))
        })
        .collect()
}

/// What a sending window measured.
#[derive(Debug)]
pub struct Window {
    pub sent: usize,
    pub started: Instant,
    pub delivery: Summary,
    pub ack: Summary,
    pub acked_rate: f64,
}

/// Puts what a sending window of `rate` msgs/s for `duration` measured into `report`, with
/// the fleet's integrity check.
pub fn record_window(
    report: &mut Report,
    fleet: &Fleet,
    window: &Window,
    rate: f64,
    duration: Duration,
) {
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
    report.integrity = Some(verify::integrity(fleet));
}

/// Sends `rate` messages per second for `duration`, then waits until every send is settled
/// and delivered (or `patience` runs out).
pub async fn send_window(
    common: &Common,
    fleet: &Fleet,
    senders: &[(usize, ConversationId)],
    first_message: usize,
    rate: f64,
    duration: Duration,
) -> Window {
    {
        let mut recorded = fleet.recorder.lock();
        recorded.delivery = Latencies::default();
        recorded.ack = Latencies::default();
        recorded.last_ack = None;
    }
    let acked_before = fleet.recorder.lock().acked.len();
    let started = Instant::now();
    let mut last = started;
    let mut owed = 0.0_f64;
    let mut sent = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < duration && !senders.is_empty() {
        tick.tick().await;
        let now = Instant::now();
        owed += rate * (now - last).as_secs_f64();
        last = now;
        while owed >= 1.0 {
            owed -= 1.0;
            let (client, conversation) = senders[(first_message + sent) % senders.len()];
            let text = format!("load message {}", first_message + sent);
            let at = Instant::now();
            if let Ok(id) = fleet.clients[client].client.send(conversation, &text) {
                fleet.recorder.lock().sent_at.insert(id.to_string(), at);
                sent += 1;
            }
        }
    }
    let recorder = &fleet.recorder;
    let settled = || {
        recorder.lock().acked.len() - acked_before
            + recorder.failed.load(std::sync::atomic::Ordering::Relaxed) as usize
            >= sent
    };
    recorder.wait_until(common.patience, settled).await;
    recorder
        .wait_until(common.patience, || {
            crate::verify::integrity(fleet).losses == 0
        })
        .await;
    let recorded = recorder.lock();
    let acked = recorded.acked.len() - acked_before;
    let span = recorded
        .last_ack
        .map_or(duration, |last| last - started)
        .max(duration);
    Window {
        sent,
        started,
        delivery: recorded.delivery.summary(),
        ack: recorded.ack.summary(),
        acked_rate: acked as f64 / span.as_secs_f64().max(1e-9),
    }
}
