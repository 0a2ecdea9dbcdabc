//! The numbers of the contract. Both ends read them from here.

/// Longest message text, in Unicode scalar values after trimming.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest message text in UTF-8 bytes as sent, before trimming: 1000 four-byte
/// characters and some surrounding whitespace, so that no text is stored or fanned out
/// much larger than the limit allows (the character limit applies after trimming).
pub const MAX_TEXT_BYTES: usize = 4096;
/// Engine.IO `maxPayload`, and the bound on a WebSocket frame and on a REST body.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Messages per second per user, across all the user's sockets (token bucket).
pub const MESSAGES_PER_SECOND: u32 = 10;
/// History page size when `limit` is not given.
pub const HISTORY_DEFAULT_LIMIT: u32 = 100;
/// Largest `limit` a history request may ask for.
pub const HISTORY_MAX_LIMIT: u32 = 500;
/// After this long without a new `typing:start`, the server sends `typing:stop` itself
/// and the client drops the indicator.
pub const TYPING_EXPIRY_MS: u64 = 5000;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;
/// `GET /api/conversations`: items per page unless `limit` says otherwise, and the most.
pub const CONVERSATIONS_DEFAULT_LIMIT: u32 = 500;
pub const CONVERSATIONS_MAX_LIMIT: u32 = 500;
