//! Read state over Socket.IO (SPEC.md section 9): `conversation:read` both ways,
//! `message:read` moving the watermark, the join ack's watermarks, and the live list
//! (messages and reads of conversations a socket never joined).

use chat_test_support::socket::{Incoming, SioClient, WAIT};
use chat_test_support::{
    TestUser, assert_failure, new_id, on_both_backends, send_args, users_in_conversation,
};
use serde_json::{Value, json};

/// Stores `count` messages from `sender` without the send rate limit or announcements.
async fn store(
    app: &chat_test_support::TestApp,
    sender: &TestUser,
    conversation: i64,
    count: usize,
) {
    for i in 0..count {
        app.store(sender, conversation, &format!("m{i}")).await;
    }
}

fn read(conversation: i64, seq: Value) -> Vec<Value> {
    vec![json!(conversation), seq]
}

/// The list item of `conversation` as `user` sees it.
async fn listed(app: &chat_test_support::TestApp, user: &TestUser, conversation: i64) -> Value {
    let list: Value = app
        .get("/api/conversations", Some(&user.token))
        .await
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == conversation)
        .cloned()
        .unwrap()
}

on_both_backends! {
    async fn a_read_moves_the_watermark_and_reaches_the_readers_other_devices_and_the_others(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let (alice, bob) = (&users[0], &users[1]);
        store(&app, bob, conversation, 3).await;
        let mut phone = SioClient::connect(&app.address, &alice.token).await;
        let mut laptop = SioClient::connect(&app.address, &alice.token).await;
        let mut b = SioClient::connect(&app.address, &bob.token).await;
        phone.call("conversation:join", vec![json!(conversation)]).await;
        // Neither the laptop nor bob joined: they hear it through their user rooms.

        let ack = phone.call("conversation:read", read(conversation, json!(2))).await;
        assert_eq!(ack, json!({ "success": true, "lastReadSeq": 2 }));
        let expected = json!({ "conversationId": conversation, "userId": alice.id, "lastReadSeq": 2 });
        assert_eq!(laptop.recv("conversation:read").await, expected);
        assert_eq!(b.recv("conversation:read").await, expected);
        assert_eq!(phone.recv("conversation:read").await, expected, "the reader's own socket too, once");
        assert_eq!(listed(&app, alice, conversation).await["unreadCount"], 1);

        // Never back: a lower seq answers the current watermark, and nothing is announced.
        let lower = laptop.call("conversation:read", read(conversation, json!(1))).await;
        assert_eq!(lower, json!({ "success": true, "lastReadSeq": 2 }));
        // Past lastSeq: clamped to it.
        let past = laptop.call("conversation:read", read(conversation, json!(99))).await;
        assert_eq!(past, json!({ "success": true, "lastReadSeq": 3 }));
        // So the next announcement the phone hears is 3 (none for the lower seq).
        let next = phone.recv("conversation:read").await;
        assert_eq!(next["lastReadSeq"], 3);
        assert_eq!(listed(&app, alice, conversation).await["unreadCount"], 0);
        let join = b.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(join["readSeqs"], json!({ alice.id.to_string(): 3, bob.id.to_string(): 3 }));
        assert_eq!(join["lastReadSeq"], 3, "bob's own messages are read");
    }

    async fn the_watermark_only_moves_up_under_concurrent_reads_from_two_devices(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let (alice, bob) = (&users[0], &users[1]);
        store(&app, bob, conversation, 40).await;
        let mut phone = SioClient::connect(&app.address, &alice.token).await;
        let mut laptop = SioClient::connect(&app.address, &alice.token).await;
        let mut watcher = SioClient::connect(&app.address, &bob.token).await;
        // The phone reads upwards, the laptop downwards, at the same time.
        let mut pending = Vec::new();
        for seq in 1..=40 {
            pending.push((seq, phone.start_call("conversation:read", read(conversation, json!(seq)))));
            pending.push((41 - seq, laptop.start_call("conversation:read", read(conversation, json!(41 - seq)))));
        }
        for (seq, ack) in pending {
            let ack = tokio::time::timeout(WAIT, ack).await.expect("an ack in time").unwrap();
            assert_eq!(ack["success"], true, "{ack}");
            assert!(ack["lastReadSeq"].as_i64().unwrap() >= seq, "read {seq}, answered {ack}");
        }
        // Each move was announced once, up to 40. (Moves committed together may be
        // announced in either order; clients keep the highest.)
        let mut heard = std::collections::HashSet::new();
        while !heard.contains(&40) {
            let moved = watcher.recv("conversation:read").await["lastReadSeq"].as_i64().unwrap();
            assert!((1..=40).contains(&moved), "{moved}");
            assert!(heard.insert(moved), "{moved} announced twice");
        }
        let item = listed(&app, alice, conversation).await;
        assert_eq!((item["lastReadSeq"].clone(), item["unreadCount"].clone()), (json!(40), json!(0)));
    }

    async fn unread_counts_are_exact_after_sends_from_several_users(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob", "carol"]).await;
        let mut sockets = Vec::new();
        for user in &users {
            sockets.push(SioClient::connect(&app.address, &user.token).await);
        }
        // Interleaved sends from everyone, and reads at various points.
        let script: &[(usize, Option<i64>)] = &[
            (0, None), (1, None), (1, None), (2, Some(1)), (0, None), (2, None),
            (1, Some(5)), (0, None), (2, Some(7)), (1, None),
        ];
        for &(who, read_to) in script {
            let ack = sockets[who].call("message:send", send_args(conversation, &new_id(), "hi")).await;
            assert_eq!(ack["success"], true, "{ack}");
            if let Some(seq) = read_to {
                let reader = (who + 1) % 3;
                sockets[reader].call("conversation:read", read(conversation, json!(seq))).await;
            }
        }
        let history: Value = app
            .get(&format!("/api/conversations/{conversation}/messages?limit=500"), Some(&users[0].token))
            .await.json().await.unwrap();
        let messages = history["messages"].as_array().unwrap();
        for user in &users {
            let item = listed(&app, user, conversation).await;
            let watermark = item["lastReadSeq"].as_i64().unwrap();
            let unread = messages.iter()
                .filter(|m| m["seq"].as_i64().unwrap() > watermark && m["senderId"] != user.id)
                .count();
            assert_eq!(item["unreadCount"], unread, "{item}");
            assert_eq!(item["lastMessage"], *messages.last().unwrap());
        }
    }

    async fn message_read_still_sends_its_receipt_and_moves_the_watermark(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let (alice, bob) = (&users[0], &users[1]);
        let mut a = SioClient::connect(&app.address, &alice.token).await;
        let mut b = SioClient::connect(&app.address, &bob.token).await;
        let mut ids = Vec::new();
        for text in ["one", "two"] {
            ids.push(a.call("message:send", send_args(conversation, &new_id(), text)).await["messageId"].clone());
        }
        assert_eq!(b.call("message:read", vec![ids[1].clone()]).await, json!({ "success": true }));
        let (before, receipt) = a.recv_after("message:read").await;
        assert_eq!(receipt[0]["messageId"], ids[1]);
        let moved = if before.iter().any(|i| i.name() == "conversation:read") {
            before.into_iter().find_map(|i| match i {
                Incoming::Event(name, args) if name == "conversation:read" => Some(args[0].clone()),
                _ => None,
            }).unwrap()
        } else {
            a.recv("conversation:read").await
        };
        assert_eq!(moved, json!({ "conversationId": conversation, "userId": bob.id, "lastReadSeq": 2 }));
        // Reading the older message: a receipt, and the watermark stays at 2.
        assert_eq!(b.call("message:read", vec![ids[0].clone()]).await["success"], true);
        assert_eq!(a.recv_without("message:read", &["conversation:read"]).await["messageId"], ids[0]);
        let join = b.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!((join["lastReadSeq"].clone(), join["lastSeq"].clone()), (json!(2), json!(2)));
    }

    async fn bad_reads_are_refused_and_floods_are_rate_limited(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mallory = app.register("mallory").await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        for bad in [json!(-1), json!(1.5), json!("3"), json!(null), json!([1]), json!({ "seq": 1 })] {
            let ack = a.call("conversation:read", read(conversation, bad.clone())).await;
            assert_failure(&ack, "bad_request");
        }
        assert_failure(&a.call("conversation:read", vec![json!(conversation)]).await, "bad_request");
        assert_failure(&a.call("conversation:read", vec![json!("x"), json!(1)]).await, "bad_request");
        let mut m = SioClient::connect(&app.address, &mallory.token).await;
        let theirs = m.call("conversation:read", read(conversation, json!(1))).await;
        assert_failure(&theirs, "forbidden");
        let none = m.call("conversation:read", read(987_654, json!(1))).await;
        assert_eq!(none, theirs, "no such conversation looks the same");

        // 1,000 reads as fast as a client reading its acks can send them (windows of 100,
        // as the join flood test does): the bucket (100 a second, burst 100) lets about
        // 100 plus 100 a second through, and answers the rest rate_limited.
        let started = std::time::Instant::now();
        let mut limited = 0;
        for _ in 0..10 {
            let pending: Vec<_> = (0..100).map(|_| a.start_call("conversation:read", read(conversation, json!(0)))).collect();
            for ack in pending {
                let ack = tokio::time::timeout(WAIT, ack).await.expect("an ack in time").unwrap();
                if ack["success"] == false {
                    assert_failure(&ack, "rate_limited");
                    assert!(ack["retryAfterMs"].as_u64().unwrap() > 0, "{ack}");
                    limited += 1;
                } else {
                    assert_eq!(ack["lastReadSeq"], 0);
                }
            }
        }
        let allowed = 100.0 + 100.0 * started.elapsed().as_secs_f64() + 1.0;
        assert!(f64::from(1000 - limited) <= allowed, "{} passed, at most {allowed} allowed", 1000 - limited);
    }

    async fn a_connected_client_hears_of_conversations_it_never_joined_each_message_once(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mallory = app.register("mallory").await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        let mut m = SioClient::connect(&app.address, &mallory.token).await;
        let first = b.call("message:send", send_args(conversation, &new_id(), "unjoined")).await;
        let got = a.recv("message:new").await;
        assert_eq!((got["id"].clone(), got["text"].clone()), (first["messageId"].clone(), json!("unjoined")));
        assert_eq!(b.recv("message:new").await["id"], first["messageId"], "the sender's echo, unjoined");

        // Joined now (in the conversation's room and its user room): still once.
        a.call("conversation:join", vec![json!(conversation)]).await;
        let second = b.call("message:send", send_args(conversation, &new_id(), "joined")).await;
        let third = b.call("message:send", send_args(conversation, &new_id(), "again")).await;
        assert_eq!(a.recv("message:new").await["id"], second["messageId"]);
        assert_eq!(a.recv("message:new").await["id"], third["messageId"], "no second copy of the second");

        // Mallory, connected but not a participant, heard nothing of it: the first thing
        // she hears is her own conversation's message.
        let with_her = app.conversation(&mallory, &[&users[0]], Some("hers")).await["id"].as_i64().unwrap();
        m.call("message:send", send_args(with_her, &new_id(), "mine")).await;
        let (before, heard) = m.recv_after("message:new").await;
        assert_eq!(heard[0]["conversationId"], with_her);
        assert!(
            !before.iter().any(|i| matches!(i, Incoming::Event(_, args) if args.first().is_some_and(|p| p["conversationId"] == conversation))),
            "{before:?}"
        );
    }
}
