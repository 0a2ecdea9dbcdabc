//! A node that dies without a goodbye (kill -9): its sockets stop counting once its lease
//! runs out, and a surviving node announces its users offline, unless they still have a
//! socket elsewhere. A node that stops gracefully says goodbye itself, at once.

use crate::client::SioClient;
use crate::{new_id, on_both_adapters_with_lease, send_args, users_in_conversation};
use serde_json::json;
use server::cluster::DEFAULT_LEASE;
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
        // Bob's only socket was on the dead node; carol still has one on node A.
        assert_eq!(on_a.recv("user:offline").await, json!(bob.id));
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
