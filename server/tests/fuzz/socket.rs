//! Every Socket.IO event with hostile arguments.

use crate::fuzz;
use crate::strategies::{edge_number, json_value, or_hostile, send_payload};
use chat_test_support::socket::SioClient;
use chat_test_support::{on_both_backends, users_in_conversation};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The events of SPEC.md section 2, and one the server does not know.
const EVENTS: [&str; 8] = [
    "conversation:join",
    "conversation:leave",
    "message:send",
    "typing:start",
    "typing:stop",
    "message:read",
    "conversation:read",
    "no:such:event",
];

/// Codes of a refusal: the input's fault, or a limit. Never `internal`.
const REFUSALS: [&str; 4] = ["bad_request", "forbidden", "too_long", "rate_limited"];

/// An event and its arguments, built around a real conversation and message so the
/// handlers get past their first checks.
fn call(conversation: i64, message: i64, seq: i64) -> impl Strategy<Value = (String, Vec<Value>)> {
    let arg = prop_oneof![
        2 => or_hostile(json!(conversation)),
        2 => send_payload(),
        1 => or_hostile(json!(message)),
        1 => or_hostile(json!(seq)),
        1 => edge_number(),
        1 => json_value(),
    ];
    (
        prop::sample::select(EVENTS.to_vec()),
        prop::collection::vec(arg, 0..4),
    )
        .prop_map(|(event, args)| (event.to_owned(), args))
}

fn assert_well_formed(ack: &Value, event: &str, args: &[Value]) {
    let context = || format!("{event} {} -> {ack}", Value::Array(args.to_vec()));
    assert!(ack.is_object(), "{}", context());
    match ack["success"].as_bool() {
        Some(true) => {}
        Some(false) => {
            let code = ack["code"].as_str().unwrap_or_default();
            assert!(REFUSALS.contains(&code), "{}", context());
            assert!(
                ack["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{}",
                context()
            );
        }
        None => panic!("no success flag: {}", context()),
    }
}

on_both_backends! {
    async fn hostile_event_arguments_get_well_formed_acks(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let message = app.store(&users[1], conversation, "hello").await;
        let mut socket = SioClient::connect(&app.address, &users[0].token).await;
        fuzz(call(conversation, message.id.0, message.seq), async |(event, args)| {
            let ack = socket.call(&event, args.clone()).await;
            assert_well_formed(&ack, &event, &args);
        })
        .await;
        // Still serving: a fresh connection works and a plain send is stored.
        let mut again = SioClient::connect(&app.address, &users[1].token).await;
        let ack = again.call("conversation:join", vec![json!(conversation)]).await;
        assert_eq!(ack["success"], true, "{ack}");
    }
}
