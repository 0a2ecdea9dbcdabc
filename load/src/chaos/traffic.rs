//! The senders that keep traffic flowing through every fault.

use super::check::Sent;
use crate::fleet::Fleet;
use crate::scenario;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The senders: `rate` messages per second, round-robin over every (client,
/// conversation), whether the client is connected or not (offline sends queue).
pub(super) struct Traffic {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Vec<Sent>>,
}

impl Traffic {
    pub(super) fn start(fleet: Arc<Fleet>, rate: f64) -> Traffic {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let senders = scenario::senders(&fleet);
            let mut sent = Vec::new();
            if senders.is_empty() || rate <= 0.0 {
                return sent;
            }
            let every = Duration::from_secs_f64(1.0 / rate);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut next = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return sent,
                }
                let (client, conversation) = senders[next % senders.len()];
                let text = format!("chaos message {next}");
                next += 1;
                let at = Instant::now();
                if let Ok(id) = fleet.clients[client].client.send(conversation, &text) {
                    fleet.recorder.lock().sent_at.insert(id.to_string(), at);
                    sent.push(Sent {
                        client,
                        conversation,
                        id,
                        text,
                    });
                }
            }
        });
        Traffic { stop, task }
    }

    pub(super) async fn stop(self) -> Vec<Sent> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}
