//! Presence across nodes: a user is online from their first socket on any node to the
//! end of their last one on any node, and the join ack counts every node's sockets.

use crate::on_both_adapters;
use chat_test_support::socket::SioClient;
use chat_test_support::{new_id, send_args, users_in_conversation};
use serde_json::json;

on_both_adapters! {
    async fn presence_crosses_nodes(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob", "carol"]).await;
        let mut alice = SioClient::connect(&nodes.a.address, &users[0].token).await;
        alice.call("conversation:join", vec![json!(conversation)]).await;
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        assert_eq!(alice.recv("user:online").await, json!(users[1].id));
        // Alice's socket is on node A, bob's on node B: both count.
        let ack = bob.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id, users[1].id]), "{ack}");
        bob.close();
        assert_eq!(alice.recv("user:offline").await, json!(users[1].id));
        let mut carol = SioClient::connect(&nodes.b.address, &users[2].token).await;
        let ack = carol.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id, users[2].id]), "bob is gone: {ack}");
    }

    async fn a_user_with_sockets_on_both_nodes_goes_offline_only_when_both_are_gone(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let mut alice = SioClient::connect(&nodes.a.address, &users[0].token).await;
        alice.call("conversation:join", vec![json!(conversation)]).await;

        let b1 = SioClient::connect(&nodes.a.address, &users[1].token).await;
        assert_eq!(alice.recv("user:online").await, json!(users[1].id));
        let mut b2 = SioClient::connect(&nodes.b.address, &users[1].token).await;
        b1.close();
        // Bob still has a socket on node B: alice hears his message, no presence before it.
        b2.call("message:send", send_args(conversation, &new_id(), "still here")).await;
        alice.recv_without("message:new", &["user:offline", "user:online"]).await;
        let mut c = SioClient::connect(&nodes.b.address, &users[0].token).await;
        let ack = c.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id, users[1].id]), "{ack}");

        b2.close();
        assert_eq!(alice.recv("user:offline").await, json!(users[1].id));
        let ack = c.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["onlineUserIds"], json!([users[0].id]), "{ack}");
    }
}
