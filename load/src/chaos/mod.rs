//! The chaos soak: clients chat while the harness breaks what is under them, then checks
//! that nothing was lost or doubled.
//!
//! Real `chat-server` processes run on a private PostgreSQL (or SQLite when PostgreSQL's
//! binaries are missing, said visibly), and every client connects through a
//! [`Proxy`](proxy::Proxy). While traffic flows, each round takes a few clients offline
//! and injects one [`Fault`]: cut every connection and add latency, refuse new
//! connections, freeze connections, kill -9 a server node and restart it on the same port,
//! database and secret, SIGTERM a node under load (it must drain and exit 0) and restart
//! it, crash a client with a non-empty stored outbox and start it again from it, stop (or
//! crash) PostgreSQL and start it again, or (two nodes on `CLUSTER_ADAPTER=redis`) kill -9
//! a private Redis and start it again. After each round every client must be back and
//! caught up, and sends that ended `failed` are retried (as their users would). At the end
//! the checks in [`check`] compare what was sent (text and sender included), what was
//! acknowledged, what the database holds (REST history) and every participant's timeline.
//!
//! Every fault and every check result is logged to stderr as it happens, bypassing the
//! test harness's capture, so a CI log shows what happened even when the soak passes.
//!
//! # Layout
//!
//! - `options`: what a soak is (size, rate, faults, lengths): the short and long soaks.
//! - `harness`: [`run`]: picks the database, starts and stops the processes, the verdict.
//! - `soak`: the scenario: set-up, traffic through the rounds, settling, the checks.
//! - `fault`: each [`Fault`], which node or proxy it strikes, injecting and healing it.
//! - `traffic`: the senders, round-robin at a fixed rate through every fault.
//! - `report`: the soak's [`Log`], check verdicts, slowest waits, node-log scan, [`Outcome`].
//! - [`proxy`]: the fault-injecting TCP proxy.
//! - [`node`]: a `chat-server` process that can be killed and restarted.
//! - [`postgres`]: a private PostgreSQL in a temporary directory.
//! - [`redis`]: a private `redis-server` on a free port.
//! - `device`: a second device of a user that stores its outbox: the crash client, and
//!   the Redis soak's listeners.
//! - [`check`]: the checks after healing.

pub mod check;
mod device;
mod fault;
mod harness;
pub mod node;
mod options;
pub mod postgres;
pub mod proxy;
pub mod redis;
mod report;
mod soak;
mod traffic;

pub use fault::Fault;
pub use harness::{Backend, backend, run};
pub use options::{Adapter, Options};
pub use report::{Log, Outcome};
