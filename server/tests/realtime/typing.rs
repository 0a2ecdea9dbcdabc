//! Typing: relayed to the room without the typist, and always ended by the server.

use chat_test_support::socket::SioClient;
use chat_test_support::{new_id, on_both_backends, send_args, users_in_conversation};
use serde_json::json;
use std::time::{Duration, Instant};

on_both_backends! {
    async fn typing_is_relayed_to_the_room_without_the_typist(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob", "carol"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut a2 = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        let mut c = SioClient::connect(&app.address, &users[2].token).await;
        for s in [&mut a, &mut a2, &mut b, &mut c] {
            s.call("conversation:join", vec![json!(conversation)]).await;
        }
        a.emit("typing:start", vec![json!(conversation)]);
        let expected = json!({ "conversationId": conversation, "userId": users[0].id });
        assert_eq!(b.recv("typing:start").await, expected);
        assert_eq!(c.recv("typing:start").await, expected);
        a.emit("typing:stop", vec![json!(conversation)]);
        assert_eq!(b.recv("typing:stop").await, expected);
        // Neither of alice's sockets heard her own typing.
        a.call("message:send", send_args(conversation, &new_id(), "done")).await;
        for s in [&mut a, &mut a2] {
            s.recv_without("message:new", &["typing:start", "typing:stop"]).await;
        }
    }

    async fn typing_ends_by_itself_after_five_seconds(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        let ack = a.call("typing:start", vec![json!(conversation)]).await;
        assert_eq!(ack, json!({ "success": true }));
        let started = Instant::now();
        b.recv("typing:start").await;
        let args = tokio::time::timeout(Duration::from_secs(8), async {
            loop {
                if let chat_test_support::socket::Incoming::Event(name, args) = b.next_patient().await
                    && name == "typing:stop"
                {
                    return args;
                }
            }
        })
        .await
        .expect("typing:stop within 8 s");
        assert_eq!(args[0]["userId"], users[0].id);
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(4500), "{elapsed:?}");
    }

    async fn typing_ends_when_the_typist_disconnects_leaves_or_sends(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;

        let a = SioClient::connect(&app.address, &users[0].token).await;
        a.emit("typing:start", vec![json!(conversation)]);
        b.recv("typing:start").await;
        a.close();
        b.recv("typing:stop").await;

        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;
        a.emit("typing:start", vec![json!(conversation)]);
        b.recv("typing:start").await;
        a.call("conversation:leave", vec![json!(conversation)]).await;
        b.recv("typing:stop").await;

        a.emit("typing:start", vec![json!(conversation)]);
        b.recv("typing:start").await;
        a.call("message:send", send_args(conversation, &new_id(), "sent")).await;
        let (before, _) = b.recv_after("message:new").await;
        assert!(before.iter().any(|e| e.name() == "typing:stop"), "{before:?}");
    }
}
