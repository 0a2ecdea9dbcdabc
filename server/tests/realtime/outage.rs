//! A database that cannot store now: sends are answered `unavailable` with `retryAfterMs`
//! within a bound, and the node carries on once the database does.

use chat_test_support::socket::SioClient;
use chat_test_support::{Backend, TestApp, new_id, send_args, users_in_conversation};
use serde_json::json;
use sqlx::Connection;
use std::time::{Duration, Instant};

/// The writer's bounds: a 2 s statement timeout (SQLite: busy timeout), plus slack for a
/// loaded machine; under the clients' 5 s ack timeout.
const BOUND: Duration = Duration::from_millis(4500);

/// Another connection holding the lock every send of `conversation` needs.
enum Holder {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

async fn hold_lock(app: &TestApp, conversation: i64) -> Holder {
    match app.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(app.database_url())
                .await
                .unwrap();
            sqlx::query("BEGIN").execute(&mut c).await.unwrap();
            sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
                .bind(conversation)
                .execute(&mut c)
                .await
                .unwrap();
            Holder::Postgres(c)
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(app.database_url())
                .await
                .unwrap();
            // The write lock of the whole file, as another process's long write would.
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .unwrap();
            Holder::Sqlite(c)
        }
    }
}

impl Holder {
    async fn release(self) {
        match self {
            Holder::Postgres(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
            Holder::Sqlite(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    }
}

chat_test_support::on_both_backends! {
    async fn a_hung_write_answers_unavailable_within_the_bound_and_the_node_recovers(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        a.call("conversation:join", vec![json!(conversation)]).await;
        b.call("conversation:join", vec![json!(conversation)]).await;

        let holder = hold_lock(&app, conversation).await;
        let id = new_id();
        let started = Instant::now();
        let ack = a.call("message:send", send_args(conversation, &id, "stuck")).await;
        let waited = started.elapsed();
        assert_eq!(ack["code"], "unavailable", "{ack}");
        assert!(ack["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0), "{ack}");
        assert!(waited < BOUND, "answered after {waited:?}");
        // REST answers the same way, 503 with Retry-After.
        let response = app.send(&users[1], conversation, "stuck too").await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(body["error"]["retryAfterMs"].as_u64().is_some(), "{body}");

        holder.release().await;
        // The same message again, as the client retries it: stored once and announced.
        let ack = a.call("message:send", send_args(conversation, &id, "stuck")).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_eq!(ack["seq"], 1, "nothing was stored by the refused tries: {ack}");
        let message = b.recv("message:new").await;
        assert_eq!(message["clientMessageId"], id.as_str());
    }
}
