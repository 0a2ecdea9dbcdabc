//! Socket.IO integration tests: the server runs in-process on `127.0.0.1:0` (the REST
//! suite's harness, shared by path), and [`client::SioClient`] speaks the Engine.IO /
//! Socket.IO text protocol over a real WebSocket. Every test in an `on_both_backends!`
//! block runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;

// A test helper: not every test uses every method.
#[allow(dead_code)]
mod client;

mod bad_input;
mod disconnect;
mod handshake;
mod limits;
mod messaging;
mod presence;
mod receipts;
mod typing;

use helpers::{TestApp, TestUser};
use serde_json::{Value, json};

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Registers `names` and creates one conversation between all of them (a group when
/// more than two), returning the users and the conversation id.
pub async fn users_in_conversation(app: &TestApp, names: &[&str]) -> (Vec<TestUser>, i64) {
    let mut users = Vec::new();
    for name in names {
        users.push(app.register(name).await);
    }
    let others: Vec<&TestUser> = users[1..].iter().collect();
    let conversation = app.conversation(&users[0], &others, None).await;
    (users, conversation["id"].as_i64().unwrap())
}

/// `message:send` arguments.
pub fn send_args(conversation: i64, client_message_id: &str, text: &str) -> Vec<Value> {
    vec![
        json!(conversation),
        json!({ "clientMessageId": client_message_id, "text": text }),
    ]
}

/// Asserts a failed ack with `code`.
pub fn assert_failure(ack: &Value, code: &str) {
    assert_eq!(ack["success"], false, "{ack}");
    assert_eq!(ack["code"], code, "{ack}");
    assert!(ack["error"].is_string(), "{ack}");
}
