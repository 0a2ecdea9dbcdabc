//! A native driver for the chat client engine.
//!
//! `chat-engine`'s [`Engine`] is sans-IO: it never opens a socket or reads a clock. In
//! the browser its wasm bindings drive it; here a tokio task does, over
//! `tokio-tungstenite` WebSockets and `reqwest` HTTP. Integration tests run real clients
//! against a real `chat-server` with it, and the load tool runs thousands of them, so
//! load clients behave as real ones: acks, retries, dedup, backfill.
//!
//! # Layout
//!
//! - [`NativeClient`] (in `driver`): spawns the run loop of the engine's crate doc and
//!   exposes the engine's commands; [`ClientOptions`] configures it.
//! - `socket`: one WebSocket connection task per engine socket.
//! - [`api`]: typed REST calls the engine does not make itself (register, log in,
//!   create a conversation), for tests and the load tool.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(token: String) {
//! use client_native::{ClientOptions, NativeClient};
//! let (client, mut events) = NativeClient::spawn(ClientOptions::new("http://127.0.0.1:3000", move || Some(token.clone())));
//! client.connect();
//! client.join(chat_wire::ConversationId(1));
//! let id = client.send(chat_wire::ConversationId(1), "hello").expect("valid text");
//! while let Some(event) = events.recv().await { /* … */ }
//! # }
//! ```
//!
//! [`Engine`]: chat_engine::Engine

pub mod api;
mod driver;
mod socket;

pub use driver::{ClientOptions, NativeClient, TokenSource};
