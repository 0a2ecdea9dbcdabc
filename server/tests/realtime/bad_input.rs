//! Bad input of every shape gets a `bad_request`/`forbidden` ack or a closed socket;
//! the server never panics and other sockets never notice.

use chat_test_support::socket::SioClient;
use chat_test_support::{
    assert_failure, new_id, on_both_backends, send_args, users_in_conversation,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

/// Values that are not a positive integer id.
fn not_ids() -> Vec<Value> {
    vec![
        json!("1"),
        json!(1.5),
        json!(-3),
        json!(0),
        json!(null),
        json!([1]),
        json!({ "id": 1 }),
        json!(true),
        json!(18_446_744_073_709_551_615u64),
    ]
}

/// Bob's socket in the conversation keeps working: he sends and hears his message.
async fn still_works(b: &mut SioClient, conversation: i64) {
    let ack = b
        .call(
            "message:send",
            send_args(conversation, &new_id(), "still here"),
        )
        .await;
    assert_eq!(ack["success"], true, "{ack}");
    assert_eq!(b.recv("message:new").await["text"], "still here");
}

on_both_backends! {
    async fn wrong_typed_or_missing_arguments_get_bad_request(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        for event in ["conversation:join", "conversation:leave", "typing:start", "typing:stop", "message:read"] {
            assert_failure(&a.call(event, vec![]).await, "bad_request");
            for bad in not_ids() {
                let ack = a.call(event, vec![bad.clone()]).await;
                assert_failure(&ack, "bad_request");
            }
        }
        for bad in not_ids() {
            let ack = a.call("message:send", vec![bad, json!({ "clientMessageId": new_id(), "text": "x" })]).await;
            assert_failure(&ack, "bad_request");
        }
        for body in [
            json!(null),
            json!("hello"),
            json!([new_id(), "hello"]),
            json!({ "text": "no id" }),
            json!({ "clientMessageId": new_id() }),
            json!({ "clientMessageId": 12, "text": "x" }),
            json!({ "clientMessageId": new_id(), "text": 12 }),
            json!({ "clientMessageId": new_id(), "text": ["x"] }),
            json!({ "clientMessageId": "not-a-uuid", "text": "x" }),
            json!({ "clientMessageId": "", "text": "x" }),
        ] {
            let ack = a.call("message:send", vec![json!(conversation), body.clone()]).await;
            assert_failure(&ack, "bad_request");
        }
        assert_failure(&a.call("message:send", vec![json!(conversation)]).await, "bad_request");
        // The events still work without an ack callback, and wrong ones are just dropped.
        a.emit("message:send", vec![json!("x")]);
        a.emit("conversation:join", vec![json!({})]);
        still_works(&mut b, conversation).await;
    }

    async fn text_rules_are_enforced(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let too_long = "é".repeat(1001);
        assert_failure(&a.call("message:send", send_args(conversation, &new_id(), &too_long)).await, "too_long");
        let longest = "é".repeat(1000);
        assert_eq!(a.call("message:send", send_args(conversation, &new_id(), &longest)).await["success"], true);
        // One character padded with spaces past 4096 bytes: short after trimming, but
        // stored as given, so refused.
        let padded = format!("x{}", " ".repeat(60 * 1024));
        assert_failure(&a.call("message:send", send_args(conversation, &new_id(), &padded)).await, "too_long");
        for text in ["", "   ", "\n\t ", "bell\u{7}", "nul\u{0}byte", "esc\u{1b}[31m"] {
            let ack = a.call("message:send", send_args(conversation, &new_id(), text)).await;
            assert_failure(&ack, "bad_request");
        }
        let ok = a.call("message:send", send_args(conversation, &new_id(), "line one\n\tline two")).await;
        assert_eq!(ok["success"], true, "newline and tab are allowed");
    }

    async fn markup_is_stored_and_echoed_as_plain_text(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;
        for text in ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&lt;b&gt; \"quoted\" 'single'"] {
            let ack = a.call("message:send", send_args(conversation, &new_id(), text)).await;
            assert_eq!(ack["success"], true);
            assert_eq!(a.recv("message:new").await["text"], text);
        }
        let history = app.get(&format!("/api/conversations/{conversation}/messages"), Some(&users[1].token)).await;
        let page: Value = history.json().await.unwrap();
        assert_eq!(page["messages"][0]["text"], "<script>alert(1)</script>");
        assert_eq!(page["messages"][1]["text"], "<img src=x onerror=alert(1)>");
    }

    async fn unknown_events_are_answered_or_ignored(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        assert_failure(&a.call("admin:drop_tables", vec![json!(1)]).await, "bad_request");
        a.emit("no:ack", vec![]);
        // A non-string event name is not an event at all.
        a.send_raw("42[5,1]");
        still_works(&mut b, conversation).await;
    }

    async fn a_garbage_frame_closes_only_that_socket(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        for garbage in ["42{not json", "4", "xyz", "42[", "9999", "43abc[]", "4\u{0}\u{ff}"] {
            let mut a = SioClient::connect(&app.address, &users[0].token).await;
            a.send_raw(garbage);
            a.closed().await;
        }
        let a = SioClient::connect(&app.address, &users[0].token).await;
        a.send_frame(Ws::binary(vec![0xde, 0xad, 0xbe, 0xef]));
        still_works(&mut b, conversation).await;
    }

    async fn a_non_participant_can_do_nothing_in_a_conversation(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mallory = app.register("mallory").await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;
        let sent = a.call("message:send", send_args(conversation, &new_id(), "private")).await;
        a.recv("message:new").await;
        let mut m = SioClient::connect(&app.address, &mallory.token).await;
        assert_failure(&m.call("conversation:join", vec![json!(conversation)]).await, "forbidden");
        assert_failure(&m.call("message:send", send_args(conversation, &new_id(), "hi")).await, "forbidden");
        assert_failure(&m.call("typing:start", vec![json!(conversation)]).await, "forbidden");
        m.emit("typing:start", vec![json!(conversation)]);
        assert_failure(&m.call("message:read", vec![sent["messageId"].clone()]).await, "forbidden");
        // Alice heard none of it: her next event is her own next message.
        a.call("message:send", send_args(conversation, &new_id(), "next")).await;
        let next = a.recv_without("message:new", &["typing:start", "message:read", "user:online"]).await;
        assert_eq!(next["text"], "next");
    }
}
