//! The chat engine in a browser: the wasm-bindgen bindings over `chat-engine`'s sans-IO
//! core, which the JS package (js/client) loads as `client_wasm`.
//!
//! # Layout
//!
//! - [`commands`]: the engine's JS methods, one list: numbers, parameters and their
//!   checks, TypeScript types, docs, and the body each runs on the driver.
//! - [`refusals`]: every refusal (`WebError`), its code and its message template.
//! - [`ts`] (native only): renders both lists as js/client/src/generated/bindings.ts
//!   (`tests/bindings_ts.rs` fails when the committed file differs).
//! - [`web`] (wasm32 only): the exported class `ChatEngine` and its driver on
//!   `WebSocket`, `fetch`, timers and `localStorage`.
//!
//! Natively the crate holds only the lists and the generator: the engine's own tests, the
//! native driver and the load tool use `chat-engine`.

pub mod commands;
pub mod refusals;
#[cfg(not(target_arch = "wasm32"))]
pub mod ts;
#[cfg(target_arch = "wasm32")]
pub mod web;
