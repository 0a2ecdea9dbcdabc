//! The connection's public state and the reconnection backoff.
//!
//! The state machine itself (which input moves which state) is the engine's link
//! (`engine/link.rs`); this module holds the pieces the app sees and the backoff.

use crate::config::Config;
use std::fmt;

/// The connection state the app shows (SPEC.md section 4).
///
/// It always matches the socket: `Connected` only between the Socket.IO CONNECT ack and
/// the socket's end; `Connecting` while a token is asked for or a socket is opening
/// and handshaking; otherwise there is no socket at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// No socket. After a lost connection the engine waits for its backoff here
    /// (`ConnectionView::reconnect_at` says until when).
    Disconnected,
    Connecting,
    Connected,
    /// No socket and no retrying on its own: see [`ConnectionError`].
    Error(ConnectionError),
}

impl ConnectionState {
    /// The state's name as the JS API spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Error(_) => "error",
        }
    }
}

/// Why the connection is in `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionError {
    pub code: ErrorKind,
    /// The server's words (CONNECT_ERROR `message`) or the engine's.
    pub message: String,
}

/// The kind of a connection error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The token was missing, invalid or expired: no reconnecting until a new token.
    Auth,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The reconnection backoff: `delays[attempt]`, the last delay repeating, shortened by
/// a random jitter of up to `jitter_percent`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Backoff {
    attempt: usize,
}

impl Backoff {
    /// The wait before the next attempt; counts the attempt.
    pub(crate) fn next_delay(&mut self, config: &Config, rng: &mut fastrand::Rng) -> u64 {
        let base = reconnect_delay(config, self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        let jitter = base * u64::from(config.reconnect_jitter_percent.min(100)) / 100;
        base - rng.u64(0..=jitter)
    }

    /// A connection succeeded: the next failure starts from the first delay again.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failed attempts since the last success.
    pub(crate) fn attempts(&self) -> usize {
        self.attempt
    }
}

/// The un-jittered delay before reconnection attempt `attempt` (0-based).
pub fn reconnect_delay(config: &Config, attempt: usize) -> u64 {
    let delays = &config.reconnect_delays_ms;
    delays
        .get(attempt)
        .or(delays.last())
        .copied()
        .unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_downward_jitter_and_reset_on_success() {
        let config = Config::default();
        let mut rng = fastrand::Rng::with_seed(1);
        let mut backoff = Backoff::default();
        for base in [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000] {
            let delay = backoff.next_delay(&config, &mut rng);
            assert!(delay <= base && delay >= base * 8 / 10, "{delay} vs {base}");
        }
        backoff.reset();
        assert!(backoff.next_delay(&config, &mut rng) <= 1000);
    }

    #[test]
    fn without_jitter_the_delays_are_exact() {
        let config = Config {
            reconnect_jitter_percent: 0,
            ..Config::default()
        };
        let mut rng = fastrand::Rng::with_seed(1);
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..7)
            .map(|_| backoff.next_delay(&config, &mut rng))
            .collect();
        assert_eq!(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(backoff.attempts(), 7);
    }
}
