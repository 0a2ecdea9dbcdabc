//! The chat client engine: a sans-IO core for SPEC.md section 4.
//!
//! The [`Engine`] never touches a socket, a timer, a clock or the OS's randomness. A
//! driver (the wasm-bindgen layer in the browser, a tokio task natively, a simulated
//! network in tests) feeds it inputs with the current time and carries out what it asks.
//!
//! **Inputs** (`handle_*`, each taking `now`): a socket opened, a text frame, a socket
//! closed or failed, a token (answering [`Output::RequestToken`]), an HTTP response or
//! failure, a network online/offline change, and a timeout.
//!
//! **Commands** (verbs, each taking `now`): `connect`, `disconnect`, `set_token`, `join`,
//! `leave`, `send` (returns the `clientMessageId` at once), `retry`, `typing`,
//! `mark_read`, `load_older`, `restore_outbox`.
//!
//! **Outputs**: [`Engine::poll_output`] yields [`Output`]s in the order they were made:
//! open/close a socket, send a frame, make an HTTP request, ask for a token, and
//! [`Event`]s for the app. [`Engine::poll_timeout`] is the next deadline.
//! [`Engine::snapshot`] is the immutable view the UI reads.
//!
//! # The run loop
//!
//! 1. Create the engine with [`Engine::new`] (a [`Config`] and a random seed), call
//!    [`Engine::restore_outbox`] with what was stored, then [`Engine::connect`].
//! 2. Drain [`Engine::poll_output`] until it returns `None`, carrying out each output:
//!    - `OpenSocket { socket, url }`: open a WebSocket; later report
//!      `handle_socket_open`, every text frame with `handle_frame`, and its end (close or
//!      error) with `handle_socket_closed`, each naming `socket`.
//!    - `SendFrame` / `CloseSocket`: on that socket (ignore it if the socket is gone).
//!    - `RequestToken`: get a fresh token (maybe asynchronously), answer `handle_token`.
//!    - `Http(request)`: make it; answer `handle_http_response(id, status, body)` or
//!      `handle_http_failed(id)`.
//!    - `Event(event)`: tell the app; on `OutboxChanged` store `save_outbox()`; log
//!      `Warning`s.
//! 3. Arm one timer for [`Engine::poll_timeout`] (none if `None`), replacing the last.
//! 4. Wait for whichever comes first: the timer (call `handle_timeout(now)`), a socket
//!    or HTTP event, an app command, an online/offline change (`handle_network`).
//! 5. Feed it in with the current monotonic time in milliseconds, and go to 2.
//!
//! Every input and command may produce outputs, so step 2 follows each of them; the
//! snapshot is up to date as soon as the call returns.
//!
//! # Layout
//!
//! - [`engine`]: the [`Engine`] (inputs, commands, outputs), which owns its parts and
//!   routes between them, each in its own file under `src/engine/`:
//!   - `link`: token, WebSocket handshake, heartbeat, backoff (the connection state);
//!   - `http_mode`: the HTTP-only mode's polling and `POST`ed sends;
//!   - `conversation`: one conversation's sync state, typing, presence and timeline;
//!   - `history`: catch-up and older-page requests, and merging their pages;
//!   - `sends`: the send pipeline over the outbox (flush, acks, timeouts, retries);
//!   - `lifecycle`, `joins`, `incoming`, `publish`: the steps that span parts (the
//!     connection up and down, following a conversation, events and acks, the snapshot);
//!   - `ctx`: what the parts share (clock, config, RNG, output queue, acks awaited).
//! - [`protocol`]: the Engine.IO v4 / Socket.IO v5 text codec.
//! - [`json`]: the engine's JSON [`json::Value`], its reader and writer, the wire shapes.
//! - [`connection`]: the public connection state and the reconnection backoff.
//! - [`outbox`]: unacknowledged sends, their ordering policy and their storage format.
//! - [`timeline`]: one conversation's deduplicated, sorted messages.
//! - [`snapshot`]: immutable views that change identity only when something changed.
//! - [`config`]: every number, with the defaults of SPEC.md.
//! - [`ids`]: `clientMessageId`s (from the seeded RNG), socket and request ids.
//! - [`time`]: [`Millis`], the monotonic time the driver passes in.
//! - `timer`: the connection's timer table; [`token`]: reads the JWT's `userId`.
//! - [`vecmap`]: small sorted maps and sets (no hasher in the wasm).
//!
//! The drivers live in other crates: `client-wasm` (the wasm-bindgen bindings the JS
//! package loads), `client-native` (tokio), and the simulated network of the tests.

pub mod config;
pub mod connection;
pub mod engine;
pub mod ids;
pub mod json;
pub mod outbox;
pub mod protocol;
pub mod snapshot;
pub mod text;
pub mod time;
pub mod timeline;
mod timer;
pub mod token;
pub mod vecmap;

pub use config::Config;
pub use connection::{ConnectionError, ConnectionState, ErrorKind};
pub use engine::{Engine, Event, HttpRequest, Output, SendError};
pub use ids::{ClientMessageId, RequestId, SocketId};
pub use outbox::StorageError;
pub use snapshot::{ConnectionView, ConversationView, Conversations, Messages, Snapshot};
pub use time::Millis;
pub use timeline::{MessageStatus, MessageView};

/// The engine's version, as the JS package reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
