//! Socket.IO integration tests: the server runs in-process on `127.0.0.1:0`, and
//! `chat_test_support::socket::SioClient` speaks the Engine.IO / Socket.IO text protocol
//! over a real WebSocket. Every test in an `on_both_backends!` block runs on SQLite and
//! on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod disconnect;
mod handshake;
mod limits;
mod messaging;
mod outage;
mod presence;
mod read_state;
mod receipts;
mod typing;
