//! The chaos soak on one node (see `chat_load::chaos` and docs/CHAOS.md): clients chat
//! through a fault-injecting proxy while a real `chat-server` process is killed -9 and
//! restarted and a private PostgreSQL is stopped, crashed and restarted; afterwards
//! nothing acked is lost or doubled anywhere. `tests/chaos_cluster.rs` runs it on two nodes.
//!
//! The short version runs in every `cargo test`; `CHAT_SOAK=1` (`cargo xtask test
//! --soak`) runs the long one instead.

use chat_load::chaos::{self, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_on_one_node_loses_and_doubles_nothing_acked() {
    if let Err(e) = chaos::run(&Options::from_env()).await {
        panic!("{e:#}");
    }
}
