//! `chat-test-support`: the harness of chat-server's integration tests, shared by the
//! server's three suites (`api`, `realtime`, `cluster`) and by the tests of the crates
//! that drive a real server (client-native, chat-load). A dev-dependency only.
//!
//! # Layout
//!
//! - [`app`]: [`TestApp`], a server in-process on `127.0.0.1:0` over a database of its
//!   own, alone, as cluster nodes, or on a runtime a test can kill ([`KillableNode`]).
//! - [`database`]: that database, a fresh SQLite file or PostgreSQL database, dropped
//!   with the test (and the `CHAT_TEST_POSTGRES_URL` skip-or-fail contract).
//! - [`socket`]: [`socket::SioClient`], a Socket.IO client speaking the text protocol
//!   over a real WebSocket, so tests can also send what a real client never would.
//! - here: [`on_both_backends!`], which runs a test body on SQLite and on PostgreSQL,
//!   and the small helpers the suites share (users in a conversation, `message:send`
//!   arguments, failed-ack assertions, [`spawn_sqlite`] for other crates).

// Test code: a panic is how a helper fails the test that called it.
#![allow(clippy::unwrap_used)]

pub mod app;
pub mod database;
pub mod socket;

pub use app::{
    Backend, JWT_SECRET, KillableNode, TestApp, TestUser, assert_error, test_config,
    with_default_limits,
};
pub use database::TestDatabase;

use serde_json::{Value, json};

/// Expands each `async fn name(app: TestApp) { … }` into a module `name` with two tests,
/// `sqlite` and `postgres`, running the same body on each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($app: $crate::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    body(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await {
                        body(app).await;
                    }
                }
            }
        )*
    };
}

/// A fresh clientMessageId.
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
    let id = conversation["id"].as_i64().expect("a conversation id");
    (users, id)
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

/// A server on a fresh SQLite file, for the tests of other crates (the engine driver,
/// the load tool), which need only its URL.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The server and its database, which live as long as this does.
    _app: TestApp,
}

/// Starts a [`TestServer`] on the test's runtime; panics (a test's failure) if it cannot.
pub async fn spawn_sqlite() -> TestServer {
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    TestServer {
        url: app.address.clone(),
        _app: app,
    }
}
