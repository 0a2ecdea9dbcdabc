//! Limits across nodes: the send rate and the socket cap are per user over the cluster,
//! not per node.

use crate::on_both_adapters;
use chat_test_support::socket::{Connect, ConnectFailure, SioClient, WAIT};
use chat_test_support::{new_id, send_args, users_in_conversation};
use serde_json::{Value, json};

on_both_adapters! {
    async fn the_rate_limit_holds_across_nodes(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let mut on_a = SioClient::connect(&nodes.a.address, &users[0].token).await;
        let mut on_b = SioClient::connect(&nodes.b.address, &users[0].token).await;
        let mut pending = Vec::new();
        for i in 0..10 {
            pending.push(on_a.start_call("message:send", send_args(conversation, &new_id(), &format!("a {i}"))));
            pending.push(on_b.start_call("message:send", send_args(conversation, &new_id(), &format!("b {i}"))));
        }
        let mut answers: Vec<Value> = Vec::new();
        for rx in pending {
            answers.push(tokio::time::timeout(WAIT, rx).await.expect("an ack in time").unwrap());
        }
        let sent = answers.iter().filter(|a| a["success"] == true).count();
        let limited: Vec<&Value> = answers.iter().filter(|a| a["code"] == "rate_limited").collect();
        assert_eq!(sent + limited.len(), 20, "{answers:?}");
        // One bucket for both nodes: a burst of 10 plus what refilled meanwhile, not 20.
        assert!((10..=15).contains(&sent), "{sent} sent: {answers:?}");
        for refused in limited {
            let wait = refused["retryAfterMs"].as_u64().unwrap();
            assert!((1..=100).contains(&wait), "{refused}");
        }
        // Bob has a bucket of his own.
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        let ack = bob.call("message:send", send_args(conversation, &new_id(), "mine")).await;
        assert_eq!(ack["success"], true, "{ack}");
    }

    async fn the_socket_cap_holds_across_nodes(nodes: Nodes) {
        let alice = nodes.a.register("alice").await;
        let mut held = Vec::new();
        for i in 0..16 {
            let node = if i % 2 == 0 { &nodes.a } else { &nodes.b };
            held.push(SioClient::connect(&node.address, &alice.token).await);
        }
        for node in [&nodes.a, &nodes.b] {
            match SioClient::connect_with(&node.address, Connect::token(&alice.token)).await {
                Err(ConnectFailure::Refused(message)) => {
                    assert_eq!(message, "Too many connections for this user");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
        // A socket that leaves frees a place, on any node.
        let mut gone = held.pop().unwrap();
        gone.close();
        gone.closed().await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match SioClient::connect_with(&nodes.a.address, Connect::token(&alice.token)).await {
                Ok(_) => break,
                // The other node records the close asynchronously: try again until it has.
                Err(ConnectFailure::Refused(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::task::yield_now().await;
                }
                other => panic!("expected a free place, got {other:?}"),
            }
        }
        // Another user is not affected.
        let bob = nodes.b.register("bob").await;
        let mut b = SioClient::connect(&nodes.a.address, &bob.token).await;
        assert_eq!(b.call("conversation:join", vec![json!(1)]).await["success"], false);
    }

    async fn the_http_fallback_shares_the_bucket_across_nodes(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let alice = &users[0];
        let posts = (0..16).map(|i| {
            let node = if i % 2 == 0 { &nodes.a } else { &nodes.b };
            node.send(alice, conversation, "by HTTP")
        });
        let statuses: Vec<u16> = futures_util::future::join_all(posts)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        let created = statuses.iter().filter(|s| **s == 201).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(created + limited, 16, "{statuses:?}");
        assert!((10..=13).contains(&created), "one bucket over both nodes: {statuses:?}");
    }
}
