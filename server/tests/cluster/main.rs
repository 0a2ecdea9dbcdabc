//! Cluster mode: two nodes on one fresh PostgreSQL database, clients split across them.
//! Every test in an `on_both_adapters!` block runs with `CLUSTER_ADAPTER=postgres` and
//! with `CLUSTER_ADAPTER=redis` (channels under a prefix of the test's own, so tests
//! sharing one Redis never hear each other).
//!
//! The harness is `chat-test-support` (`server/test-support/`). PostgreSQL follows its
//! contract (`CHAT_TEST_POSTGRES_URL`; skipped with a line on stderr outside CI, a
//! failure in CI). Redis is `CHAT_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`),
//! with the same rule: `skipped: Redis not reachable at …`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broadcast;
mod failure;
mod limits;
mod presence;
mod read_state;
mod redis_restart;
mod refusal;
mod tls;

use chat_test_support::TestApp;
use server::cluster::DEFAULT_LEASE;
use server::config::ClusterAdapter;
use socketioxide_redis::drivers::redis::redis_client;
use std::time::Duration;

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Two nodes of one cluster.
#[derive(Debug)]
pub struct Nodes {
    pub a: TestApp,
    pub b: TestApp,
}

/// Two nodes with `CLUSTER_ADAPTER=postgres`, or `None` (skipped) without PostgreSQL.
pub async fn postgres_nodes() -> Option<Nodes> {
    nodes(Adapter::Postgres).await
}

/// Two nodes with `CLUSTER_ADAPTER=redis` under a fresh channel prefix, or `None`
/// (skipped) without Redis or PostgreSQL.
pub async fn redis_nodes() -> Option<Nodes> {
    nodes(Adapter::Redis).await
}

async fn ping_redis(url: &str) -> Result<(), String> {
    let client = redis_client::Client::open(url).map_err(|e| e.to_string())?;
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis_client::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

async fn nodes(adapter: Adapter) -> Option<Nodes> {
    let settings = adapter_settings(adapter).await?;
    let mut nodes = TestApp::spawn_cluster(2, settings, DEFAULT_LEASE).await?;
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    Some(Nodes { a, b })
}

/// Expands each `async fn name(nodes: Nodes) { … }` into a module `name` with two tests,
/// `postgres` and `redis`, one per adapter.
macro_rules! on_both_adapters {
    ($(async fn $name:ident($nodes:ident: Nodes) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($nodes: $crate::Nodes) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(nodes) = $crate::postgres_nodes().await {
                        body(nodes).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn redis() {
                    if let Some(nodes) = $crate::redis_nodes().await {
                        body(nodes).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_adapters;

/// Like [`on_both_adapters!`] for tests that start their own nodes: each body gets one
/// node `$app` with the given lease, and spawns the others it needs like it.
macro_rules! on_both_adapters_with_lease {
    ($(async fn $name:ident($app:ident: TestApp, $lease:expr) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($app: chat_test_support::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::one_node($crate::Adapter::Postgres, $lease).await {
                        body(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn redis() {
                    if let Some(app) = $crate::one_node($crate::Adapter::Redis, $lease).await {
                        body(app).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_adapters_with_lease;

/// Which adapter a test runs with.
#[derive(Clone, Copy, Debug)]
pub enum Adapter {
    Postgres,
    Redis,
}

/// The adapter settings of a test: a fresh Redis prefix, or `None` (skipped) without
/// Redis.
pub async fn adapter_settings(adapter: Adapter) -> Option<ClusterAdapter> {
    match adapter {
        Adapter::Postgres => Some(ClusterAdapter::Postgres),
        Adapter::Redis => {
            let url = std::env::var("CHAT_TEST_REDIS_URL")
                .unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
            if let Err(why) = ping_redis(&url).await {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "Redis not reachable at {url} ({why}); CI requires it (set CHAT_TEST_REDIS_URL)"
                );
                eprintln!("skipped: Redis not reachable at {url}");
                return None;
            }
            let prefix = format!("chat_test_{}", uuid::Uuid::new_v4().simple());
            Some(ClusterAdapter::Redis { url, prefix })
        }
    }
}

/// One cluster node with `adapter` and `lease`, or `None` (skipped).
pub async fn one_node(adapter: Adapter, lease: Duration) -> Option<TestApp> {
    // The nodes' warnings and errors, shown with a failing test's output (`RUST_LOG`
    // for more): what a node logged is most of what explains a cluster test's failure.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let settings = adapter_settings(adapter).await?;
    TestApp::spawn_cluster(1, settings, lease).await?.pop()
}
