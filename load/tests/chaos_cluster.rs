//! The chaos soak on two nodes in cluster mode (`CLUSTER_ADAPTER=postgres`, and
//! `CLUSTER_ADAPTER=redis` on a private `redis-server` that is killed and restarted; clients
//! split across the nodes through a proxy each), and the reduced reproduction of what it
//! found.
//!
//! What it found: once PostgreSQL restarted, a node's LISTEN stream could end for good
//! (socketioxide-postgres's stock sqlx stream ends at the first error sqlx does not treat as
//! a lost connection), and the node never heard another node's broadcasts again. The server
//! now listens through its own driver, whose stream reconnects and then has the node's
//! sockets resync (server/src/realtime/pg_driver.rs); the two reproductions below keep it so.
#![allow(clippy::unwrap_used)]

use chat_load::chaos::node::{ServerNode, server_binary};
use chat_load::chaos::postgres::{self, PrivatePostgres};
use chat_load::chaos::{self, Options};
use chat_load::fleet::Fleet;
use chat_load::population::populate;
use chat_load::{Common, Shape};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_on_two_nodes_loses_and_doubles_nothing_acked() {
    if let Err(e) = chaos::run(&Options::from_env().on_two_nodes()).await {
        panic!("{e:#}");
    }
}

/// The same soak on `CLUSTER_ADAPTER=redis`, with Redis killed -9 and restarted: the nodes
/// must reconnect, and cross-node delivery must come back with nothing lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_on_two_nodes_over_redis_loses_and_doubles_nothing_acked() {
    let in_ci = std::env::var_os("CI").is_some();
    if chaos::redis::binary().is_none() {
        assert!(!in_ci, "redis-server is required in CI");
        eprintln!("skipped: chaos soak on Redis: redis-server not found (set CHAT_REDIS_SERVER)");
        return;
    }
    if postgres::binaries().is_none() {
        assert!(!in_ci, "PostgreSQL's binaries are required in CI");
        eprintln!("skipped: chaos soak on Redis: PostgreSQL binaries not found (set CHAT_PG_BIN)");
        return;
    }
    if let Err(e) = chaos::run(&Options::from_env().on_two_nodes_over_redis()).await {
        panic!("{e:#}");
    }
}

const PATIENCE: Duration = Duration::from_secs(30);

/// Reduced from the soak: two nodes, one client on each, no proxy and no traffic but the
/// two messages under test.
struct Cluster {
    postgres: PrivatePostgres,
    nodes: Vec<ServerNode>,
    fleet: Fleet,
    _dir: tempfile::TempDir,
}

/// Two nodes, two users in one conversation, user 0 on node 1 and user 1 on node 2; `None`
/// (and a skip line) without PostgreSQL's binaries.
async fn cluster() -> Option<Cluster> {
    let Some(bin) = postgres::binaries() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL's binaries are required in CI"
        );
        eprintln!("skipped: PostgreSQL binaries not found (set CHAT_PG_BIN)");
        return None;
    };
    let postgres = PrivatePostgres::start(bin).await.unwrap();
    let binary = tokio::task::spawn_blocking(server_binary)
        .await
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("DATABASE_URL".to_owned(), postgres.url()),
        (
            "JWT_SECRET".to_owned(),
            "cluster-chaos-test-secret-of-at-least-32-bytes".to_owned(),
        ),
        ("CLUSTER_ADAPTER".to_owned(), "postgres".to_owned()),
        ("NO_COLOR".to_owned(), "1".to_owned()),
    ];
    env.extend(
        chat_load::chaos::node::server_limits_lifted()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut nodes = Vec::new();
    for name in ["node-1", "node-2"] {
        nodes.push(
            ServerNode::start(name, &binary, env.clone(), dir.path())
                .await
                .unwrap(),
        );
    }
    let common = Common {
        url: nodes[0].url(),
        json: false,
        server_pid: None,
        seed: 1,
        setup_concurrency: 2,
        patience: PATIENCE,
    };
    let shape = Shape {
        users: 2,
        conversations: 1,
        participants: 2,
        sockets_per_user: 1,
    };
    let population = populate(&common, &shape).await.unwrap();
    let urls: Vec<String> = nodes.iter().map(ServerNode::url).collect();
    let fleet = Fleet::start_split(&urls, population, 1);
    assert_eq!(fleet.connect_all(PATIENCE).await, 2);
    Some(Cluster {
        postgres,
        nodes,
        fleet,
        _dir: dir,
    })
}

impl Cluster {
    /// User 0 (node 1) sends; true once user 1 (node 2) holds the message, within `wait`.
    async fn crosses_nodes(&self, text: &str, wait: Duration) -> bool {
        let conversation = self.fleet.conversations[0].0;
        let id = self.fleet.clients[0]
            .client
            .send(conversation, text)
            .unwrap()
            .to_string();
        let recorder = &self.fleet.recorder;
        let acked = recorder
            .wait_until(PATIENCE, || {
                recorder
                    .lock()
                    .acked
                    .iter()
                    .any(|(_, _, acked)| *acked == id)
            })
            .await;
        assert!(acked, "node 1 did not acknowledge {text:?}");
        let receiver = &self.fleet.clients[1].client;
        recorder
            .wait_until(wait, || {
                receiver.conversation(conversation).is_some_and(|view| {
                    view.messages
                        .iter()
                        .any(|m| m.client_message_id.as_deref() == Some(id.as_str()))
                })
            })
            .await
    }

    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("{}:\n{}", node.name, node.log_tail(15)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn broadcasts_cross_nodes_after(restart: &str) {
    let Some(cluster) = cluster().await else {
        return;
    };
    assert!(
        cluster
            .crosses_nodes("before", Duration::from_secs(10))
            .await,
        "no broadcast across nodes even before the restart:\n{}",
        cluster.logs()
    );
    match restart {
        "fast" => cluster.postgres.stop_fast().await.unwrap(),
        _ => cluster.postgres.crash().await.unwrap(),
    }
    // PostgreSQL stays down a moment, as it does in a real restart or failover: the
    // outage lasting is the scenario, not a wait for something.
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.postgres.start_server().await.unwrap();
    // Both nodes' lives after the restart: each must hear the other within 10 s.
    assert!(
        cluster
            .crosses_nodes("after", Duration::from_secs(10))
            .await,
        "after PostgreSQL restarted ({restart}), node 2 no longer hears node 1's broadcasts \
         (the client on node 2 never got the message live):\n{}",
        cluster.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_cross_nodes_after_postgresql_crashes_and_restarts() {
    broadcasts_cross_nodes_after("crash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_cross_nodes_after_a_fast_postgresql_restart() {
    broadcasts_cross_nodes_after("fast").await;
}
