//! Redis restarted under two nodes (`CLUSTER_ADAPTER=redis`): each node reconnects and
//! resubscribes (`server/src/realtime/redis_driver.rs`), `/healthz` answers 503 while it
//! cannot, and a node's clients catch up on what they missed. The Redis is a private
//! `redis-server` on a free port, started, killed and started again by the test.

use crate::ping_redis;
use chat_test_support::socket::{SioClient, WAIT};
use chat_test_support::{TestApp, new_id, send_args, users_in_conversation};
use serde_json::json;
use server::cluster::DEFAULT_LEASE;
use server::config::ClusterAdapter;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// How soon cross-node delivery must be back after Redis is.
const BACK_WITHIN: Duration = Duration::from_secs(5);

/// A private `redis-server`, killed when dropped.
struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.run().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (on the same port each time) and waits until it answers.
    async fn run(&mut self) {
        let child = Command::new(REDIS_SERVER)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + WAIT;
        while ping_redis(&self.url()).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn healthz(app_address: &str) -> u16 {
    reqwest::get(format!("{app_address}/healthz"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Polls `/healthz` of `address` until it answers `status`, within `patience`.
async fn health_becomes(address: &str, status: u16, patience: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if healthz(address).await == status {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_nodes_reconnect_and_clients_catch_up() {
    if !Path::new(REDIS_SERVER).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{REDIS_SERVER} is required in CI"
        );
        eprintln!("skipped: no {REDIS_SERVER}");
        return;
    }
    let mut redis = PrivateRedis::start().await;
    let adapter = ClusterAdapter::Redis {
        url: redis.url(),
        prefix: format!("chat_test_{}", uuid::Uuid::new_v4().simple()),
    };
    let Some(mut nodes) = TestApp::spawn_cluster(1, adapter.clone(), DEFAULT_LEASE).await else {
        return;
    };
    let first = nodes.pop().unwrap();
    // The two nodes under test, like the first (which only serves REST) but with a short
    // resync window, so that the test waits for the resync less than the default 5 s.
    let node = || {
        let adapter = adapter.clone();
        first.spawn_killable(move |c| {
            c.cluster_adapter = adapter;
            c.resync_spread = Duration::from_millis(500);
        })
    };
    let (a, b) = (node(), node());
    let (users, conversation) = users_in_conversation(&first, &["alice", "bob"]).await;
    let mut alice = SioClient::connect(&a.address, &users[0].token).await;
    let mut bob = SioClient::connect(&b.address, &users[1].token).await;
    alice
        .call("conversation:join", vec![json!(conversation)])
        .await;
    bob.call("conversation:join", vec![json!(conversation)])
        .await;
    let sent = alice
        .call("message:send", send_args(conversation, &new_id(), "before"))
        .await;
    assert_eq!(sent["success"], true, "{sent}");
    assert_eq!(bob.recv("message:new").await["text"], "before");

    redis.kill();
    assert!(
        health_becomes(&a.address, 503, WAIT).await,
        "node A still reports healthy"
    );
    assert!(
        health_becomes(&b.address, 503, WAIT).await,
        "node B still reports healthy"
    );
    // Stored, and announced on node A; node B cannot hear it now.
    let during = alice
        .call("message:send", send_args(conversation, &new_id(), "during"))
        .await;
    assert_eq!(during["success"], true, "{during}");

    redis.run().await;
    assert!(
        health_becomes(&a.address, 200, BACK_WITHIN).await,
        "node A did not reconnect"
    );
    assert!(
        health_becomes(&b.address, 200, BACK_WITHIN).await,
        "node B did not reconnect"
    );
    // Each node closes its sockets once, so that their clients catch up.
    alice.closed().await;
    bob.closed().await;
    let mut alice = SioClient::connect(&a.address, &users[0].token).await;
    alice
        .call("conversation:join", vec![json!(conversation)])
        .await;
    let mut bob = SioClient::connect(&b.address, &users[1].token).await;
    let joined = bob
        .call("conversation:join", vec![json!(conversation)])
        .await;
    assert_eq!(joined["lastSeq"], during["seq"], "{joined}");
    let history = first
        .get(
            &format!("/api/conversations/{conversation}/messages?afterSeq=1"),
            Some(&users[1].token),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        history["messages"][0]["text"], "during",
        "nothing lost: {history}"
    );
    // Cross-node delivery is back, live.
    let after = alice
        .call("message:send", send_args(conversation, &new_id(), "after"))
        .await;
    assert_eq!(after["success"], true, "{after}");
    assert_eq!(
        bob.recv_within("message:new", BACK_WITHIN).await["text"],
        "after"
    );
}
