//! Closing this node's sockets so that their clients catch up, spread over a window.
//!
//! When a cluster adapter loses its subscription (PostgreSQL's LISTEN connection, see
//! [`super::pg_driver`]), broadcasts from other nodes may have been missed; each client
//! then reconnects, rejoins and fetches what it missed with `afterSeq` (SPEC.md section
//! 4). Closing every socket in the same instant would make the whole node's population do
//! that at once, on every node that lost its subscription together: a storm of handshakes,
//! joins and history reads that hits the database just as it comes back. Each socket is
//! closed instead after its own random delay within [`Config::resync_spread`].
//!
//! [`Config::resync_spread`]: crate::config::Config::resync_spread

use super::root;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use std::time::Duration;

/// A delay for each of `count` sockets, uniform in `[0, spread)`.
pub fn delays(count: usize, spread: Duration, rng: &mut fastrand::Rng) -> Vec<Duration> {
    let window = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX);
    (0..count)
        .map(|_| Duration::from_millis(if window == 0 { 0 } else { rng.u64(0..window) }))
        .collect()
}

/// Closes every socket of this node once, each after its own delay within `spread`.
pub fn close_staggered<A: Adapter>(io: &SocketIo<A>, spread: Duration) {
    let Some(ns) = root(io) else {
        return;
    };
    let sockets = ns.local().sockets();
    tracing::warn!(
        sockets = sockets.len(),
        ?spread,
        "cluster: broadcasts may have been missed; closing this node's sockets, spread out, so that clients catch up"
    );
    let mut rng = fastrand::Rng::new();
    let delays = delays(sockets.len(), spread, &mut rng);
    for (socket, delay) in sockets.into_iter().zip(delays) {
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // Already gone (its client left meanwhile): nothing to do.
            let _ = socket.disconnect();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_spread_over_the_window() {
        let mut rng = fastrand::Rng::with_seed(7);
        let spread = Duration::from_secs(5);
        let delays = delays(1000, spread, &mut rng);
        assert!(delays.iter().all(|d| *d < spread));
        // Spread out, not bunched: every second of the window gets a share.
        for second in 0..5 {
            let within = delays.iter().filter(|d| d.as_secs() == second).count();
            assert!((100..=300).contains(&within), "{within} in second {second}");
        }
    }

    #[test]
    fn no_window_means_at_once() {
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(
            delays(3, Duration::ZERO, &mut rng),
            [Duration::ZERO; 3].to_vec()
        );
    }
}
