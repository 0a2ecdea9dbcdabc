//! The chat engine in a browser: the wasm-bindgen bindings over `chat-engine`'s sans-IO
//! core, which the JS package (js/client) loads as `client_wasm`.
//!
//! Everything lives in [`web`], compiled for wasm32 only: natively this crate is empty
//! (the engine's own tests, the native driver and the load tool use `chat-engine`).

#[cfg(target_arch = "wasm32")]
pub mod web;
