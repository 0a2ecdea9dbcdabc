//! Integration tests: one binary (faster to link), one module per area. Every test in an
//! `on_both_backends!` block runs twice, as `…::sqlite` and `…::postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Shared with the realtime and cluster suites: not every helper is used here.
#[allow(dead_code)]
mod helpers;

mod auth;
mod bad_input;
mod conversations;
mod messages;
mod ops;
