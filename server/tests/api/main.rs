//! Integration tests: one binary (faster to link), one module per area. Every test in an
//! `on_both_backends!` block runs twice, as `…::sqlite` and `…::postgres`; the harness
//! is `chat-test-support` (`server/test-support/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod auth;
mod bad_input;
mod conversations;
mod edge_values;
mod list;
mod messages;
mod ops;
mod upgrade;
