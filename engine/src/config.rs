//! Every number the engine uses, in one place (SPEC.md section 4 defaults).

use crate::text;

/// The engine's configuration. [`Config::new`] gives the defaults of SPEC.md section 4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The server's base URL, `http(s)://host[:port]`; the socket URL and API routes
    /// derive from it (`http` → `ws`, `https` → `wss`).
    pub url: String,
    /// How long a send waits for its ack before the try counts as lost.
    pub ack_timeout_ms: u64,
    /// Waits before the second, third… try of a send; one try plus one per entry.
    pub send_retry_delays_ms: Vec<u64>,
    /// Waits before reconnection attempts; the last one repeats (the cap).
    pub reconnect_delays_ms: Vec<u64>,
    /// Each reconnection wait is shortened by up to this percentage, at random, so that
    /// clients cut off together do not come back together (never lengthened: the cap holds).
    pub reconnect_jitter_percent: u8,
    /// From asking for a socket to the Socket.IO CONNECT ack; beyond it the attempt fails.
    pub connect_timeout_ms: u64,
    /// After the last keystroke, `typing:stop` is sent this much later.
    pub typing_stop_ms: u64,
    /// At most one `typing:start` per this window.
    pub typing_coalesce_ms: u64,
    /// Someone else's typing indicator is dropped this long after their last `typing:start`.
    pub typing_expiry_ms: u64,
    /// Messages kept in memory per conversation (oldest dropped); `load_older` widens it.
    pub timeline_capacity: usize,
    /// `limit` of history requests.
    pub history_page_limit: u32,
    /// A join ack or HTTP response not seen by then is given up on and asked again.
    pub request_timeout_ms: u64,
    /// Wait before asking again after a failed history request.
    pub request_retry_ms: u64,
    /// `Some(ms)`: the HTTP-only mode (DESIGN.md section 9's rollback flag). No socket:
    /// sends go through `POST /api/conversations/:id/messages` (same outbox, same
    /// idempotent `clientMessageId`s) and history is polled every `ms` for what came after
    /// the highest seq seen. `None` (the default): Socket.IO over a WebSocket.
    pub http_poll_ms: Option<u64>,
}

impl Config {
    /// The defaults, for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Config {
            url: url.into(),
            ack_timeout_ms: 5000,
            send_retry_delays_ms: vec![1000, 2000, 4000],
            reconnect_delays_ms: vec![1000, 2000, 4000, 8000, 16000, 30000],
            reconnect_jitter_percent: 20,
            connect_timeout_ms: 20_000,
            typing_stop_ms: 2000,
            typing_coalesce_ms: 100,
            typing_expiry_ms: chat_wire::limits::TYPING_EXPIRY_MS,
            timeline_capacity: 100,
            history_page_limit: chat_wire::limits::HISTORY_DEFAULT_LIMIT,
            request_timeout_ms: 10_000,
            request_retry_ms: 2000,
            http_poll_ms: None,
        }
    }

    /// Tries a send gets before it is `failed`.
    pub fn send_tries(&self) -> u32 {
        u32::try_from(self.send_retry_delays_ms.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// `ws(s)://…/socket.io/?EIO=4&transport=websocket`.
    pub fn socket_url(&self) -> String {
        let base = self.base();
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            text!("wss://", rest)
        } else if let Some(rest) = base.strip_prefix("http://") {
            text!("ws://", rest)
        } else {
            base.to_owned()
        };
        text!(ws, "/socket.io/?EIO=4&transport=websocket")
    }

    /// The URL of an API route (`path` starts with `/api/`).
    pub fn api_url(&self, path: &str) -> String {
        text!(self.base(), path)
    }

    fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new("http://127.0.0.1:3000")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_url_switches_the_scheme_and_adds_the_engine_io_path() {
        assert_eq!(
            Config::new("https://chat.example/").socket_url(),
            "wss://chat.example/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            Config::new("http://localhost:3000").socket_url(),
            "ws://localhost:3000/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(Config::new("http://h/").api_url("/api/x"), "http://h/api/x");
    }

    #[test]
    fn defaults_follow_the_spec() {
        let config = Config::default();
        assert_eq!(config.send_tries(), 4);
        assert_eq!(config.ack_timeout_ms, 5000);
        assert_eq!(config.reconnect_delays_ms.last(), Some(&30000));
    }
}
