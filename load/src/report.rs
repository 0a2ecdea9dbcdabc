//! What a run prints: latency summaries, counts, and the verdict.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

/// A latency distribution, microsecond resolution, up to an hour.
#[derive(Clone, Debug)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        // 3 significant digits over 1 µs ..= 1 h: the bounds are constants that
        // `new_with_bounds` accepts.
        Latencies(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.0.saturating_record(micros);
    }

    pub fn summary(&self) -> Summary {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Summary {
            count: self.0.len(),
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p95_ms: ms(self.0.value_at_quantile(0.95)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            max_ms: ms(self.0.max()),
        }
    }
}

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    fn row(&self, name: &str) -> String {
        if self.count == 0 {
            return format!("  {name:<22} (no samples)\n");
        }
        format!(
            "  {name:<22} p50 {:>8.2}  p95 {:>8.2}  p99 {:>8.2}  max {:>8.2} ms  (n = {})\n",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

/// Message integrity after a run (see `verify`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Integrity {
    /// Messages the server acknowledged.
    pub acked: usize,
    /// Sends that ended `failed`.
    pub failed: u64,
    /// (message, participant) pairs the participant's engine never reported stored.
    pub losses: usize,
    /// Messages an engine reported stored more than once (by seq or clientMessageId).
    pub duplicates: usize,
    /// Seq gaps in what an engine stored.
    pub order_errors: usize,
}

impl Integrity {
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.losses == 0 && self.duplicates == 0 && self.order_errors == 0
    }
}

/// Server memory before and after the clients connected.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ServerMemory {
    /// Resident memory with `before_connections` clients caught up.
    pub before_bytes: u64,
    pub before_connections: usize,
    /// Resident memory with `after_connections` clients caught up.
    pub after_bytes: u64,
    pub after_connections: usize,
    /// The growth between the two readings per connection added.
    pub per_connection_bytes: f64,
}

/// The server's CPU while messages were sent (the big-group scenario).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ServerCpu {
    /// CPU seconds (user + system, all threads) the server process used in the window.
    pub cpu_seconds: f64,
    /// The window: from the first send until every message was acked and delivered.
    pub window_seconds: f64,
    /// `cpu_seconds / window_seconds`: 1.0 is one core busy all the time.
    pub cores: f64,
    /// CPU microseconds per acked message (each fanned out to a whole group).
    pub per_message_us: f64,
}

/// One step of a ramp.
#[derive(Clone, Debug, Serialize)]
pub struct RampStep {
    pub offered_rate: f64,
    pub acked_rate: f64,
    pub delivery: Summary,
    pub ack: Summary,
    pub integrity: Integrity,
}

/// Everything a run reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub scenario: String,
    pub users: usize,
    pub conversations: usize,
    pub participants: usize,
    pub sockets_per_user: usize,
    /// Sockets (engines) in all: users × sockets per user.
    pub connections: usize,
    pub connected: usize,
    pub connect: Summary,
    pub offered_rate: Option<f64>,
    pub duration_s: Option<f64>,
    pub acked_rate: Option<f64>,
    pub delivery: Option<Summary>,
    pub ack: Option<Summary>,
    pub reconnect: Option<Summary>,
    /// Clients back and caught up after a storm.
    pub recovered: Option<usize>,
    pub integrity: Option<Integrity>,
    pub server_memory: Option<ServerMemory>,
    pub server_cpu: Option<ServerCpu>,
    pub ramp: Vec<RampStep>,
    /// The highest ramp rate whose delivery p99 stayed under the limit without loss.
    pub sustained_rate: Option<f64>,
    /// Logins flooded beside the chat (`steady --login-flood`).
    pub login_flood: Option<LoginFlood>,
}

/// What a login flood sent and how the server answered.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LoginFlood {
    pub offered_rate: f64,
    pub sent: u64,
    /// Hashed and refused (wrong password).
    pub unauthorized: u64,
    /// Refused before hashing: the hashing queue full, or a sign-in limit.
    pub rate_limited: u64,
    pub other: u64,
}

impl Report {
    /// Every client connected, and nothing was lost, doubled or failed.
    pub fn ok(&self) -> bool {
        let recovered = self.recovered.is_none_or(|n| n == self.connections);
        self.connected == self.connections && recovered && self.integrity.is_none_or(|i| i.ok())
    }

    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {}: {} users ({} sockets each), {} conversations of {}",
            self.scenario, self.users, self.sockets_per_user, self.conversations, self.participants
        );
        let _ = writeln!(
            out,
            "  connected              {}/{} ({:.1}%)",
            self.connected,
            self.connections,
            100.0 * self.connected as f64 / self.connections.max(1) as f64
        );
        out.push_str(&self.connect.row("connect to caught-up"));
        if let (Some(offered), Some(duration), Some(acked)) =
            (self.offered_rate, self.duration_s, self.acked_rate)
        {
            let _ = writeln!(
                out,
                "  offered                {offered:.0} msgs/s for {duration:.1} s; acked {acked:.1} msgs/s"
            );
        }
        if let Some(delivery) = &self.delivery {
            out.push_str(&delivery.row("delivery (send→recv)"));
        }
        if let Some(ack) = &self.ack {
            out.push_str(&ack.row("ack (send→ack)"));
        }
        if let Some(reconnect) = &self.reconnect {
            out.push_str(&reconnect.row("reconnect→caught-up"));
        }
        if let Some(recovered) = self.recovered {
            let _ = writeln!(
                out,
                "  recovered              {recovered}/{}",
                self.connections
            );
        }
        for step in &self.ramp {
            let _ = writeln!(
                out,
                "  ramp {:>7.0} msgs/s: acked {:>8.1}/s, delivery p50 {:>7.2} p99 {:>8.2} max {:>8.2} ms, losses {}, duplicates {}",
                step.offered_rate,
                step.acked_rate,
                step.delivery.p50_ms,
                step.delivery.p99_ms,
                step.delivery.max_ms,
                step.integrity.losses,
                step.integrity.duplicates
            );
        }
        if let Some(f) = &self.login_flood {
            let _ = writeln!(
                out,
                "  login flood            {:.0}/s: {} sent, {} hashed (401), {} refused (429), {} other",
                f.offered_rate, f.sent, f.unauthorized, f.rate_limited, f.other
            );
        }
        if let Some(rate) = self.sustained_rate {
            let _ = writeln!(out, "  sustained rate         {rate:.0} msgs/s");
        }
        if let Some(i) = &self.integrity {
            let _ = writeln!(
                out,
                "  integrity              acked {}, failed {}, losses {}, duplicates {}, order errors {}",
                i.acked, i.failed, i.losses, i.duplicates, i.order_errors
            );
        }
        if let Some(m) = &self.server_memory {
            let _ = writeln!(
                out,
                "  server memory          {:.1} MiB at {} → {:.1} MiB at {} connections: {:.1} KiB per connection",
                m.before_bytes as f64 / 1048576.0,
                m.before_connections,
                m.after_bytes as f64 / 1048576.0,
                m.after_connections,
                m.per_connection_bytes / 1024.0
            );
        }
        if let Some(c) = &self.server_cpu {
            let _ = writeln!(
                out,
                "  server CPU             {:.2} s in {:.1} s ({:.0}% of a core): {:.0} µs per message",
                c.cpu_seconds,
                c.window_seconds,
                100.0 * c.cores,
                c.per_message_us
            );
        }
        out
    }
}
