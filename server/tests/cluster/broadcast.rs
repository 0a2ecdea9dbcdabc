//! Broadcasts cross nodes: messages (socket and HTTP fallback), typing, read receipts and
//! new conversations reach sockets on the other node, exactly once.

use crate::on_both_adapters;
use chat_test_support::socket::SioClient;
use chat_test_support::{new_id, send_args, users_in_conversation};
use serde_json::json;

on_both_adapters! {
    async fn a_message_sent_on_one_node_reaches_the_other_exactly_once(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let mut alice = SioClient::connect(&nodes.a.address, &users[0].token).await;
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        alice.call("conversation:join", vec![json!(conversation)]).await;
        bob.call("conversation:join", vec![json!(conversation)]).await;

        let first = alice.call("message:send", send_args(conversation, &new_id(), "over there")).await;
        assert_eq!(first["success"], true, "{first}");
        let got = bob.recv("message:new").await;
        assert_eq!(got["id"], first["messageId"]);
        assert_eq!(got["text"], "over there");
        assert_eq!(got["seq"], 1);
        assert_eq!(alice.recv("message:new").await["id"], first["messageId"], "the sender's echo");

        // The next message:new each one hears is the second message: no copy of the first.
        let second = bob.call("message:send", send_args(conversation, &new_id(), "and back")).await;
        assert_eq!(second["seq"], 2);
        assert_eq!(alice.recv("message:new").await["id"], second["messageId"]);
        assert_eq!(bob.recv("message:new").await["id"], second["messageId"]);

        // The HTTP fallback on node B reaches the socket on node A.
        let posted = nodes.b.send(&users[1], conversation, "by HTTP").await;
        assert_eq!(posted.status(), 201);
        let posted: serde_json::Value = posted.json().await.unwrap();
        assert_eq!(alice.recv("message:new").await["id"], posted["id"]);
        assert_eq!(posted["seq"], 3);
    }

    async fn a_repeated_send_on_the_other_node_is_not_broadcast_again(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let mut a1 = SioClient::connect(&nodes.a.address, &users[0].token).await;
        let mut a2 = SioClient::connect(&nodes.b.address, &users[0].token).await;
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        bob.call("conversation:join", vec![json!(conversation)]).await;
        let id = new_id();
        let first = a1.call("message:send", send_args(conversation, &id, "once")).await;
        // The same clientMessageId retried through the other node: same ack, no broadcast.
        let again = a2.call("message:send", send_args(conversation, &id, "once")).await;
        assert_eq!(again["messageId"], first["messageId"]);
        assert_eq!(again["seq"], first["seq"]);
        assert_eq!(bob.recv("message:new").await["id"], first["messageId"]);
        let next = a1.call("message:send", send_args(conversation, &new_id(), "twice")).await;
        assert_eq!(bob.recv("message:new").await["id"], next["messageId"], "no second copy");
    }

    async fn typing_crosses_nodes(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let alice = SioClient::connect(&nodes.a.address, &users[0].token).await;
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        bob.call("conversation:join", vec![json!(conversation)]).await;
        alice.emit("typing:start", vec![json!(conversation)]);
        let typing = bob.recv("typing:start").await;
        assert_eq!(typing, json!({ "conversationId": conversation, "userId": users[0].id }));
        alice.emit("typing:stop", vec![json!(conversation)]);
        let stopped = bob.recv("typing:stop").await;
        assert_eq!(stopped, json!({ "conversationId": conversation, "userId": users[0].id }));
    }

    async fn read_receipts_and_new_conversations_cross_nodes(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let carol = nodes.b.register("carol").await;
        let mut alice = SioClient::connect(&nodes.a.address, &users[0].token).await;
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        let sent = alice.call("message:send", send_args(conversation, &new_id(), "read me")).await;
        let ack = bob.call("message:read", vec![sent["messageId"].clone()]).await;
        assert_eq!(ack["success"], true, "{ack}");
        let receipt = alice.recv("message:read").await;
        assert_eq!(receipt["messageId"], sent["messageId"]);
        assert_eq!(receipt["readBy"], users[1].id);

        // Created through node A's REST API, announced to bob's socket on node B.
        let group = nodes.a.conversation(&carol, &[&users[1]], Some("group")).await;
        let announced = bob.recv("conversation:new").await;
        assert_eq!(announced["id"], group["id"]);
    }
}
