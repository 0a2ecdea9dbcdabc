//! Joining, leaving and sending: acks, broadcast, idempotency, participation.

use chat_test_support::socket::SioClient;
use chat_test_support::{
    assert_failure, new_id, on_both_backends, send_args, users_in_conversation,
};
use serde_json::json;

on_both_backends! {
    async fn a_join_answers_with_online_participants_and_the_last_seq(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob", "carol"]).await;
        let (alice, bob) = (&users[0], &users[1]);
        app.send(alice, conversation, "before").await;
        let mut a = SioClient::connect(&app.address, &alice.token).await;
        let _b = SioClient::connect(&app.address, &bob.token).await;
        let ack = a.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_eq!(ack["lastSeq"], 1);
        let mut online: Vec<i64> = ack["onlineUserIds"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        online.sort();
        assert_eq!(online, vec![alice.id, bob.id], "carol is offline");
        let again = a.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(again["success"], true, "joining twice is fine");
        let left = a.call("conversation:leave", vec![json!(conversation)]).await;
        assert_eq!(left, json!({ "success": true }));
    }

    async fn a_sent_message_is_acked_and_broadcast_to_the_room_sender_included(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        let id = new_id();
        let ack = a.call("message:send", send_args(conversation, &id, "hello")).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_eq!(ack["seq"], 1);
        assert!(ack["messageId"].as_i64().unwrap() > 0);
        let created_at = ack["createdAt"].as_str().unwrap();
        assert!(created_at.ends_with('Z') && created_at.len() == 24, "{created_at}");
        for socket in [&mut a, &mut b] {
            let message = socket.recv("message:new").await;
            assert_eq!(message["text"], "hello");
            assert_eq!(message["seq"], 1);
            assert_eq!(message["id"], ack["messageId"]);
            assert_eq!(message["conversationId"], conversation);
            assert_eq!(message["senderId"], users[0].id);
            assert_eq!(message["clientMessageId"], id.as_str());
            assert_eq!(message["createdAt"], ack["createdAt"]);
        }
    }

    async fn a_repeated_send_acks_the_original_and_is_not_broadcast_again(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        let id = new_id();
        let first = a.call("message:send", send_args(conversation, &id, "once")).await;
        let repeat = a.call("message:send", send_args(conversation, &id, "once")).await;
        assert_eq!(first, repeat);
        assert_eq!(b.recv("message:new").await["text"], "once");
        // The next message bob sees is the next one, not a second copy.
        a.call("message:send", send_args(conversation, &new_id(), "twice")).await;
        let next = b.recv("message:new").await;
        assert_eq!(next["text"], "twice");
        assert_eq!(next["seq"], 2);
        // Another user's reuse of the same UUID is a different message.
        let bobs = b.call("message:send", send_args(conversation, &id, "mine")).await;
        assert_eq!(bobs["success"], true);
        assert_eq!(bobs["seq"], 3);
    }

    async fn sending_needs_participation_not_joining(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mallory = app.register("mallory").await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let ack = a.call("message:send", send_args(conversation, &new_id(), "no join needed")).await;
        assert_eq!(ack["success"], true, "{ack}");
        let mut m = SioClient::connect(&app.address, &mallory.token).await;
        let ack = m.call("message:send", send_args(conversation, &new_id(), "let me in")).await;
        assert_failure(&ack, "forbidden");
        let ack = m.call("conversation:join", vec![json!(conversation)]).await;
        assert_failure(&ack, "forbidden");
        // No such conversation looks the same as someone else's.
        let none = m.call("conversation:join", vec![json!(9_999_999)]).await;
        assert_eq!(none, ack);
    }

    async fn the_http_fallback_broadcasts_too(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        let response = app.send(&users[0], conversation, "over http").await;
        assert_eq!(response.status(), 201);
        assert_eq!(b.recv("message:new").await["text"], "over http");
    }

    async fn a_created_conversation_is_announced_to_every_participant(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let mut b = SioClient::connect(&app.address, &bob.token).await;
        let mut c = SioClient::connect(&app.address, &carol.token).await;
        let created = app.conversation(&alice, &[&bob], None).await;
        let announced = b.recv("conversation:new").await;
        assert_eq!(announced, created);
        assert_eq!(announced["kind"], "direct");
        // Asking again returns the same direct conversation: not announced again. The
        // group created next is the next thing bob hears; carol hears only the group.
        app.conversation(&alice, &[&bob], None).await;
        let group = app.conversation(&alice, &[&bob, &carol], Some("trio")).await;
        assert_eq!(b.recv("conversation:new").await, group);
        assert_eq!(c.recv("conversation:new").await, group);
    }
}

on_both_backends! {
    async fn leaving_a_group_stops_its_messages_and_keeps_the_rest(app: TestApp) {
        let (users, group) = users_in_conversation(&app, &["alice", "bob", "carol"]).await;
        let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
        let direct = app.conversation(alice, &[carol], None).await["id"].as_i64().unwrap();
        let mut c = SioClient::connect(&app.address, &carol.token).await;
        let mut b = SioClient::connect(&app.address, &bob.token).await;
        c.call("conversation:join", vec![json!(group)]).await;
        b.call("conversation:join", vec![json!(group)]).await;

        let leave = |user: &chat_test_support::TestUser, id: i64| {
            app.client
                .delete(app.url(&format!("/api/conversations/{id}/participants/me")))
                .bearer_auth(&user.token)
                .send()
        };
        let left = leave(carol, group).await.unwrap();
        assert_eq!(left.status(), reqwest::StatusCode::NO_CONTENT);

        // Bob still hears the group; Carol hears her direct conversation but not the group.
        app.send(alice, group, "after carol left").await;
        assert_eq!(b.recv("message:new").await["text"], "after carol left");
        app.send(alice, direct, "just for carol").await;
        let first = c.recv("message:new").await;
        assert_eq!(first["conversationId"], direct, "{first}");

        // She is out: history is refused as for any conversation she is not in, and
        // leaving again is answered as for a conversation that does not exist.
        let history = app.get(&format!("/api/conversations/{group}/messages"), Some(&carol.token)).await;
        assert_eq!(history.status(), reqwest::StatusCode::FORBIDDEN);
        let again = leave(carol, group).await.unwrap();
        let missing = leave(carol, 999_999).await.unwrap();
        assert_eq!(again.status(), reqwest::StatusCode::FORBIDDEN);
        assert_eq!(again.text().await.unwrap(), missing.text().await.unwrap());
        let listed: serde_json::Value = app.get("/api/conversations", Some(&bob.token)).await.json().await.unwrap();
        let entry = listed.as_array().unwrap().iter().find(|c| c["id"] == group).unwrap().clone();
        assert_eq!(entry["participantIds"], json!([alice.id, bob.id]));

        // A direct conversation cannot be left.
        let direct_leave = leave(carol, direct).await.unwrap();
        chat_test_support::assert_error(direct_leave, reqwest::StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
