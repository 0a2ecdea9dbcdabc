//! Fuzzers of the server's inputs (issue 16, item 7), against a real server on each
//! backend: every Socket.IO event with hostile arguments, and the REST routes with
//! hostile bodies and query strings. Whatever comes in, the answer is well formed: an
//! ack `{ success: true, … }` or `{ success: false, code, error }` with a refusal's code,
//! an HTTP status under 500 with `{ "error": { code, message } }` when it fails. A panic
//! in a handler shows as a missing ack or a dropped connection; a database error as
//! `internal` or 500. Each fuzzer runs `CHAT_FUZZ_SECS` seconds (3 by default; `cargo
//! xtask test --soak` gives 60); a failure prints the input that caused it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rest;
mod socket;
mod strategies;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use std::time::{Duration, Instant};

/// How long each fuzzer runs: `CHAT_FUZZ_SECS` (fractions allowed), 3 s by default.
fn budget() -> Duration {
    std::env::var("CHAT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(3), Duration::from_secs_f64)
}

/// Feeds values of `strategy` to `check` until the budget is spent (at least once).
/// Async checks rule out proptest's shrinking runner; `check` names the failing input.
async fn fuzz<S: Strategy>(strategy: S, mut check: impl AsyncFnMut(S::Value)) {
    let deadline = Instant::now() + budget();
    let mut runner = TestRunner::new(Config::default());
    let mut cases = 0u64;
    while cases == 0 || Instant::now() < deadline {
        let value = strategy
            .new_tree(&mut runner)
            .expect("the strategies never reject")
            .current();
        check(value).await;
        cases += 1;
    }
    eprintln!("fuzzed {cases} cases");
}
