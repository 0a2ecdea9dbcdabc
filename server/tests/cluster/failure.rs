//! A node that dies without a goodbye (kill -9): its sockets stop counting once its lease
//! runs out, and a surviving node announces its users offline, unless they still have a
//! socket elsewhere. A node that stops gracefully says goodbye itself, at once.

use crate::{Adapter, on_both_adapters_with_lease};
use chat_test_support::socket::{SioClient, WAIT};
use chat_test_support::{TestApp, new_id, send_args, users_in_conversation};
use serde_json::json;
use server::cluster::DEFAULT_LEASE;
use server::config::ClusterAdapter;
use sqlx::Connection;
use std::time::Duration;

/// Short, so that the test waits seconds, not the production lease's ten.
const LEASE: Duration = Duration::from_secs(2);

on_both_adapters_with_lease! {
    async fn a_killed_nodes_users_go_offline_when_its_lease_runs_out(a: TestApp, LEASE) {
        let adapter = a.cluster_adapter.clone();
        let mut b = a.spawn_killable(move |c| {
            c.cluster_adapter = adapter;
            c.cluster_lease = LEASE;
        });
        let (users, conversation) = users_in_conversation(&a, &["alice", "bob", "carol"]).await;
        let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
        let mut on_a = SioClient::connect(&a.address, &alice.token).await;
        on_a.call("conversation:join", vec![json!(conversation)]).await;
        let _bob_on_b = SioClient::connect(&b.address, &bob.token).await;
        assert_eq!(on_a.recv("user:online").await, json!(bob.id));
        let _carol_on_a = SioClient::connect(&a.address, &carol.token).await;
        assert_eq!(on_a.recv("user:online").await, json!(carol.id));
        let _carol_on_b = SioClient::connect(&b.address, &carol.token).await;

        b.kill();
        // Bob's only socket was on the dead node; carol still has one on node A. The lease
        // runs out within 2 s and the next heartbeat reaps it; the rest is slack for a
        // loaded machine (CI once took longer than the usual 5 s wait).
        assert_eq!(on_a.recv_within("user:offline", LEASE + WAIT * 2).await, json!(bob.id));
        let mut again = SioClient::connect(&a.address, &alice.token).await;
        let ack = again.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([alice.id, carol.id]), "{ack}");

        // The survivor carries on: bob comes back through it and chats.
        let mut bob_on_a = SioClient::connect(&a.address, &bob.token).await;
        assert_eq!(on_a.recv("user:online").await, json!(bob.id));
        let sent = bob_on_a.call("message:send", send_args(conversation, &new_id(), "back")).await;
        assert_eq!(sent["success"], true, "{sent}");
        assert_eq!(on_a.recv("message:new").await["id"], sent["messageId"]);
    }

    async fn a_node_whose_rows_were_lost_registers_its_sockets_again(a: TestApp, LEASE) {
        let (users, conversation) = users_in_conversation(&a, &["alice", "bob"]).await;
        let mut alice = SioClient::connect(&a.address, &users[0].token).await;
        alice.call("conversation:join", vec![json!(conversation)]).await;
        let _bob = SioClient::connect(&a.address, &users[1].token).await;
        assert_eq!(alice.recv("user:online").await, json!(users[1].id));

        // What a PostgreSQL restart does to the unlogged tables.
        let mut admin = sqlx::PgConnection::connect(a.database_url()).await.unwrap();
        sqlx::query("TRUNCATE chat_cluster_nodes, chat_cluster_sockets")
            .execute(&mut admin)
            .await
            .unwrap();
        // The next heartbeat finds the lease gone and records both sockets again.
        assert_eq!(alice.recv_within("user:online", LEASE + WAIT * 2).await, json!(users[1].id));
        let ack = alice.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id, users[1].id]), "{ack}");
    }

    async fn a_node_stopping_gracefully_announces_its_users_offline_at_once(a: TestApp, DEFAULT_LEASE) {
        let adapter = a.cluster_adapter.clone();
        let mut b = a.spawn_killable(move |c| c.cluster_adapter = adapter);
        let (users, conversation) = users_in_conversation(&a, &["alice", "bob"]).await;
        let mut on_a = SioClient::connect(&a.address, &users[0].token).await;
        on_a.call("conversation:join", vec![json!(conversation)]).await;
        let mut bob_on_b = SioClient::connect(&b.address, &users[1].token).await;
        assert_eq!(on_a.recv("user:online").await, json!(users[1].id));

        b.stop().await;
        bob_on_b.closed().await;
        // Well before the 10 s lease could run out.
        assert_eq!(on_a.recv("user:offline").await, json!(users[1].id));
        let ack = on_a.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id]), "{ack}");
    }
}

/// A TCP proxy in front of Redis that can cut every connection through it.
struct CuttableProxy {
    url: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl CuttableProxy {
    async fn start(upstream: std::net::SocketAddr) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let pipe = tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                registry.lock().unwrap().push(pipe.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        CuttableProxy { url, tasks }
    }

    /// Closes every connection and stops accepting.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// When a node cannot publish (its Redis connection is gone), its own sockets still get
/// what it emits, and the send is still stored and acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_from_redis_still_delivers_to_its_own_sockets() {
    let Some(ClusterAdapter::Redis { url, prefix }) = crate::adapter_settings(Adapter::Redis).await
    else {
        return;
    };
    let upstream = url.trim_start_matches("redis://").trim_end_matches('/');
    let upstream = tokio::net::lookup_host(upstream)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = CuttableProxy::start(upstream).await;
    let adapter = ClusterAdapter::Redis {
        url,
        prefix: prefix.clone(),
    };
    let Some(mut nodes) = TestApp::spawn_cluster(1, adapter, DEFAULT_LEASE).await else {
        return;
    };
    let a = nodes.pop().unwrap();
    let through_proxy = ClusterAdapter::Redis {
        url: proxy.url.clone(),
        prefix,
    };
    let b = a.spawn_killable(move |c| c.cluster_adapter = through_proxy);

    let (users, conversation) = users_in_conversation(&a, &["alice", "bob", "carol"]).await;
    let mut alice = SioClient::connect(&a.address, &users[0].token).await;
    let mut bob = SioClient::connect(&b.address, &users[1].token).await;
    let mut carol = SioClient::connect(&b.address, &users[2].token).await;
    for socket in [&mut alice, &mut bob, &mut carol] {
        socket
            .call("conversation:join", vec![json!(conversation)])
            .await;
    }
    let first = bob
        .call("message:send", send_args(conversation, &new_id(), "before"))
        .await;
    assert_eq!(alice.recv("message:new").await["id"], first["messageId"]);
    assert_eq!(carol.recv("message:new").await["id"], first["messageId"]);

    proxy.cut();
    let second = bob
        .call("message:send", send_args(conversation, &new_id(), "after"))
        .await;
    assert_eq!(second["success"], true, "stored and acked: {second}");
    assert_eq!(second["seq"], 2);
    assert_eq!(
        carol.recv("message:new").await["id"],
        second["messageId"],
        "delivered on node B"
    );
}
