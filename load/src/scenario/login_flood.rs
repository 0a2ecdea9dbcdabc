//! A flood of logins beside the chat (issue 16): `rate` login attempts per second with
//! wrong passwords, for usernames that exist or not, while the fleet chats. What it
//! measures is the delivery latency of the connected users meanwhile; the flood's own
//! answers are only counted (accepted hashes answer 401, a full hashing queue or a
//! sign-in limit 429).

use crate::report::LoginFlood;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Answers by kind.
#[derive(Debug, Default)]
struct Tally {
    unauthorized: AtomicU64,
    rate_limited: AtomicU64,
    other: AtomicU64,
}

/// Sends `rate` logins per second to `url` for `duration`, each on its own task (a slow
/// answer does not slow the flood), then waits for the answers.
pub async fn run(url: &str, rate: f64, duration: Duration) -> LoginFlood {
    let client = reqwest::Client::new();
    let endpoint = format!("{}/api/auth/login", url.trim_end_matches('/'));
    let tally = Arc::new(Tally::default());
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let mut last = started;
    let mut owed = 0.0_f64;
    let mut sent: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < duration {
        tick.tick().await;
        let now = Instant::now();
        owed += rate * (now - last).as_secs_f64();
        last = now;
        while owed >= 1.0 {
            owed -= 1.0;
            sent += 1;
            let (client, endpoint, tally) = (client.clone(), endpoint.clone(), tally.clone());
            let body = serde_json::json!({
                "username": format!("flood-{}", sent % 1000),
                "password": "not the password",
            });
            tasks.spawn(async move {
                let counter = match client.post(&endpoint).json(&body).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED => &tally.unauthorized,
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        &tally.rate_limited
                    }
                    _ => &tally.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
    while tasks.join_next().await.is_some() {}
    LoginFlood {
        offered_rate: rate,
        sent,
        unauthorized: tally.unauthorized.load(Ordering::Relaxed),
        rate_limited: tally.rate_limited.load(Ordering::Relaxed),
        other: tally.other.load(Ordering::Relaxed),
    }
}
