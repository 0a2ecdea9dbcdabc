//! What one client can make the Socket.IO server do. The contract's numbers (payload
//! size, send rate, typing expiry) live in `chat_wire::limits`; these are the server's
//! own bounds, documented in `docs/REALTIME.md`.

use std::time::Duration;

/// Sockets one user may hold on a node at once (tabs, devices). A few per device is
/// normal; hundreds is a script holding connections (and presence work) open.
pub const MAX_SOCKETS_PER_USER: usize = 16;
/// Conversations one socket may have joined at once. A client joins the conversations
/// on screen; this bounds the rooms (and broadcast fan-out) a single socket can claim.
pub const MAX_JOINED_PER_SOCKET: usize = 200;
/// `typing:start`/`typing:stop` per second per user (token bucket). Clients coalesce
/// keystrokes (SPEC.md section 4), so a person never comes near this.
pub const TYPING_EVENTS_PER_SECOND: u32 = 10;
/// `conversation:join`/`conversation:leave` per second per user. A reconnect rejoins
/// every open conversation at once, so the burst is generous; a flood of thousands of
/// ids is answered `rate_limited` after it, without touching the database.
pub const JOIN_EVENTS_PER_SECOND: u32 = 50;
/// `message:read` per second per user: opening a conversation may mark a page read.
pub const READ_EVENTS_PER_SECOND: u32 = 100;
/// How long shutdown waits for running sends to finish before closing the sockets.
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
