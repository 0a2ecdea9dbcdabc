//! Test support shared by the engine's integration tests: a model of the server and a
//! seeded network that drives an engine in simulated time.
#![allow(dead_code, clippy::unwrap_used)]

pub mod server;
pub mod sim;
