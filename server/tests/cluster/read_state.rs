//! Read state across nodes: `conversation:read` reaches the reader's other devices and
//! the other participants on every node, and the live list (messages of conversations a
//! socket never joined) reaches sockets on the other node, each message once.

use crate::on_both_adapters;
use chat_test_support::socket::SioClient;
use chat_test_support::{new_id, send_args, users_in_conversation};
use serde_json::json;

on_both_adapters! {
    async fn a_read_reaches_the_readers_devices_and_the_others_on_every_node(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let (alice, bob) = (&users[0], &users[1]);
        let mut phone = SioClient::connect(&nodes.a.address, &alice.token).await;
        let mut laptop = SioClient::connect(&nodes.b.address, &alice.token).await;
        let mut b = SioClient::connect(&nodes.b.address, &bob.token).await;
        let sent = b.call("message:send", send_args(conversation, &new_id(), "read me")).await;
        assert_eq!(sent["seq"], 1);
        // None of them joined.
        let ack = phone.call("conversation:read", vec![json!(conversation), json!(1)]).await;
        assert_eq!(ack, json!({ "success": true, "lastReadSeq": 1 }));
        let expected = json!({ "conversationId": conversation, "userId": alice.id, "lastReadSeq": 1 });
        assert_eq!(laptop.recv("conversation:read").await, expected);
        assert_eq!(b.recv("conversation:read").await, expected);
        assert_eq!(phone.recv("conversation:read").await, expected);
    }

    async fn an_unjoined_conversations_messages_reach_the_other_node_once(nodes: Nodes) {
        let (users, conversation) = users_in_conversation(&nodes.a, &["alice", "bob"]).await;
        let mut alice = SioClient::connect(&nodes.a.address, &users[0].token).await;
        let mut bob = SioClient::connect(&nodes.b.address, &users[1].token).await;
        let first = alice.call("message:send", send_args(conversation, &new_id(), "unjoined")).await;
        assert_eq!(bob.recv("message:new").await["id"], first["messageId"]);
        // Joined on node B: in the conversation's room and the user room, still once.
        bob.call("conversation:join", vec![json!(conversation)]).await;
        let second = alice.call("message:send", send_args(conversation, &new_id(), "joined")).await;
        let third = alice.call("message:send", send_args(conversation, &new_id(), "again")).await;
        assert_eq!(bob.recv("message:new").await["id"], second["messageId"]);
        assert_eq!(bob.recv("message:new").await["id"], third["messageId"], "no second copy");
    }
}
