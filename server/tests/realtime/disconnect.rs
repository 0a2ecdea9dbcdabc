//! A client that hangs up after sending: the message is stored and announced anyway.
//!
//! axum drops a handler's future when its client disconnects. The send must still run
//! to its end (commit, then `message:new`), or the room would never hear of a message
//! that is in the history.

use chat_test_support::socket::SioClient;
use chat_test_support::{Backend, TestApp, new_id, send_args, users_in_conversation};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the test waits for the server's insert to queue behind the row lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// PostgreSQL only: there the test can hold the conversation's row lock, so that the
/// server's insert is provably waiting when the client hangs up (SQLite's single writer
/// gives no way to see that it waits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_http_client_hung_up_is_still_announced_once() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let mut b = SioClient::connect(&app.address, &bob.token).await;
    b.call("conversation:join", vec![json!(conversation)]).await;

    // Hold the conversation's row lock: the server's insert takes it first.
    let mut locker = PgConnection::connect(app.database_url()).await.unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .bind(conversation)
        .execute(&mut *lock)
        .await
        .unwrap();

    let body = json!({ "clientMessageId": new_id(), "text": "sent, then hung up" }).to_string();
    let host = app.address.trim_start_matches("http://");
    let request = format!(
        "POST /api/conversations/{conversation}/messages HTTP/1.1\r\nhost: {host}\r\n\
         authorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        alice.token,
        body.len()
    );
    let mut http = TcpStream::connect(host).await.unwrap();
    http.write_all(request.as_bytes()).await.unwrap();
    waiting_for_row_lock(app.database_url()).await;

    // Hang up. The server closes its side once it has dropped the request (and with it
    // the handler's future): no answer comes back.
    http.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(LOCK_WAIT, http.read_to_end(&mut answer))
        .await
        .expect("the server hangs up too")
        .unwrap();
    assert!(
        answer.is_empty(),
        "no answer to a client that left: {}",
        String::from_utf8_lossy(&answer)
    );

    // Now let the insert commit: the room still hears of it, once.
    lock.commit().await.unwrap();
    let announced = b.recv("message:new").await;
    assert_eq!(announced["text"], "sent, then hung up");
    assert_eq!(announced["seq"], 1);
    let mut a = SioClient::connect(&app.address, &alice.token).await;
    let next = a
        .call("message:send", send_args(conversation, &new_id(), "next"))
        .await;
    assert_eq!(next["seq"], 2, "{next}");
    let (before, after) = b.recv_after("message:new").await;
    assert_eq!(
        after[0]["seq"], 2,
        "the next message:new is the next message"
    );
    assert!(
        !before.iter().any(|i| i.name() == "message:new"),
        "announced twice: {before:?}"
    );
}

/// Waits until a session of the test database waits for a lock (the server's insert).
async fn waiting_for_row_lock(database_url: &str) {
    let mut watcher = PgConnection::connect(database_url).await.unwrap();
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server's insert never waited for the row lock"
        );
        // Polling a condition the database exposes, not waiting for time to pass.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
