//! The chat client engine.
//!
//! # Layout
//!
//! - [`web`] (wasm32 only): the wasm-bindgen bindings the JS package loads.

#[cfg(target_arch = "wasm32")]
pub mod web;

/// The engine's version, as the JS package reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
