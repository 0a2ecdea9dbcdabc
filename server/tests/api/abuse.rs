//! The abuse limits (docs/SECURITY.md): sign-in attempts per address and per username,
//! the bounded hashing queue, REST requests and new conversations per user, participants
//! per new conversation. The limits live in memory whatever the database, so these run
//! on SQLite only, with the production defaults ([`with_default_limits`]) unless a test
//! says otherwise.

use chat_test_support::{Backend, TestApp, assert_error, with_default_limits};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use server::config::Config;

async fn spawn(customize: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |config| {
        with_default_limits(config);
        customize(config);
    })
    .await
    .expect("SQLite is always available")
}

async fn login(app: &TestApp, username: &str, password: &str) -> Response {
    app.post(
        "/api/auth/login",
        None,
        &json!({ "username": username, "password": password }),
    )
    .await
}

/// Asserts a 429 `rate_limited` with `Retry-After` (seconds) and `retryAfterMs`.
async fn assert_rate_limited(response: Response) -> Value {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let ms = body["error"]["retryAfterMs"]
        .as_u64()
        .expect("retryAfterMs");
    assert!(ms >= 1 && ms <= retry_after * 1000, "{body}");
    body
}

#[tokio::test]
async fn guessing_one_users_password_is_limited_per_username() {
    let limit = server::config::DEFAULT_AUTH_ATTEMPTS_PER_USERNAME;
    // The address limit out of the way: this is the limit that holds against guesses
    // from many addresses.
    let app = spawn(|c| c.auth_attempts_per_address = 1_000_000).await;
    app.register("alice").await;
    for _ in 0..limit {
        let wrong = login(&app, "alice", "wrong password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(login(&app, "alice", "wrong password").await).await;
    // Another spelling of the same name is the same account.
    assert_rate_limited(login(&app, "ALICE", "correct horse battery").await).await;
    // Other accounts are not affected.
    app.register("bob").await;
    assert_eq!(
        login(&app, "bob", "correct horse battery").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_flood_from_one_address_is_limited_across_usernames() {
    let limit = server::config::DEFAULT_AUTH_ATTEMPTS_PER_ADDRESS;
    let app = spawn(|_| {}).await;
    for i in 0..limit {
        let response = login(&app, &format!("user{i}"), "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(login(&app, "someone", "wrong password").await).await;
    // Register counts against the same address.
    let register = app
        .post(
            "/api/auth/register",
            None,
            &json!({ "username": "newcomer", "password": "long enough" }),
        )
        .await;
    assert_rate_limited(register).await;
}

#[tokio::test]
async fn a_full_hashing_queue_answers_429_at_once() {
    let app = spawn(|c| {
        c.auth_attempts_per_address = 1_000_000;
        c.password_hash_queue = 2;
    })
    .await;
    app.register("alice").await;
    // Two sign-ins hashing: the queue is full.
    let held = [
        app.state.passwords.admit().unwrap(),
        app.state.passwords.admit().unwrap(),
    ];
    let started = std::time::Instant::now();
    let body = assert_rate_limited(login(&app, "alice", "correct horse battery").await).await;
    assert_eq!(body["error"]["retryAfterMs"], 1000);
    let register = app
        .post(
            "/api/auth/register",
            None,
            &json!({ "username": "bob", "password": "long enough" }),
        )
        .await;
    assert_rate_limited(register).await;
    // Refused without waiting for a place.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    drop(held);
    assert_eq!(
        login(&app, "alice", "correct horse battery").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn authenticated_rest_requests_are_limited_per_user() {
    let app = spawn(|c| c.rest_requests_per_user = 5).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for _ in 0..5 {
        assert_eq!(
            app.get("/api/users/me", Some(&alice.token)).await.status(),
            StatusCode::OK
        );
    }
    let body = assert_rate_limited(app.get("/api/conversations", Some(&alice.token)).await).await;
    assert_eq!(body["error"]["message"], "Too many requests");
    // Bob has a bucket of his own.
    assert_eq!(
        app.get("/api/users/me", Some(&bob.token)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn new_conversations_are_capped_per_user() {
    let app = spawn(|c| c.conversations_per_user = 3).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for i in 0..3 {
        app.conversation(&alice, &[&bob], Some(&format!("group {i}")))
            .await;
    }
    let fourth = app
        .post(
            "/api/conversations",
            Some(&alice.token),
            &json!({ "participantIds": [bob.id], "title": "one too many" }),
        )
        .await;
    let body = assert_rate_limited(fourth).await;
    assert_eq!(body["error"]["message"], "Too many new conversations");
    // Bob may still create his.
    app.conversation(&bob, &[&alice], Some("bob's")).await;
}

#[tokio::test]
async fn a_group_larger_than_max_participants_is_refused() {
    let app = spawn(|c| c.max_participants = 2).await;
    let [alice, bob, carol, dave] = [
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
        app.register("dave").await,
    ];
    // The creator is not counted: three people, two named.
    app.conversation(&alice, &[&bob, &carol], Some("three"))
        .await;
    let four = app
        .post(
            "/api/conversations",
            Some(&alice.token),
            &json!({ "participantIds": [bob.id, carol.id, dave.id], "title": "four" }),
        )
        .await;
    let body = assert_error(four, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(body["error"]["message"], "at most 2 participants");
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn(|c| c.header_read_timeout = std::time::Duration::from_secs(1)).await;
    let host = app.address.trim_start_matches("http://");
    // Slowloris: a request head that never ends.
    let mut slow = tokio::net::TcpStream::connect(host).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match slow.read(&mut buffer).await {
                // hyper may answer 408 before closing; what matters is the close.
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "the server kept the connection open");
    // A whole request is still served.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn(|c| c.header_read_timeout = std::time::Duration::from_secs(1)).await;
    let host = app.address.trim_start_matches("http://");
    // One whole request on a keep-alive connection, then nothing: hyper starts the header
    // read timeout again when the connection goes idle, so an idle HTTP client (a REST
    // pool kept beside each socket) does not hold a connection on the server for ever.
    let mut idle = tokio::net::TcpStream::connect(host).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 4096];
    let mut answered = Vec::new();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match idle.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answered.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"),
        "the request was answered first"
    );
    assert!(outcome.is_ok(), "the server kept the idle connection open");
}

/// A polling handshake, which opens an Engine.IO session without signing in.
async fn handshake(app: &TestApp) -> Response {
    app.get("/socket.io/?EIO=4&transport=polling", None).await
}

#[tokio::test]
async fn engine_io_sessions_not_signed_in_are_capped() {
    use chat_test_support::socket::SioClient;
    let app = spawn(|c| c.max_unauthenticated_sessions = 2).await;
    let alice = app.register("alice").await;
    assert_eq!(handshake(&app).await.status(), StatusCode::OK);
    // A socket that signs in takes a slot only until it has.
    let _signed_in = SioClient::connect(&app.address, &alice.token).await;
    assert_eq!(handshake(&app).await.status(), StatusCode::OK);
    // Two sessions wait to sign in: the next handshake is refused, on either transport.
    let body = assert_rate_limited(handshake(&app).await).await;
    assert!(
        body["error"]["retryAfterMs"].as_u64().unwrap() > 1000,
        "{body}"
    );
    let refused = chat_test_support::socket::SioClient::connect_with(
        &app.address,
        chat_test_support::socket::Connect::token(&alice.token),
    )
    .await;
    assert!(refused.is_err(), "a WebSocket handshake is refused too");
}

#[tokio::test]
async fn an_overlong_username_is_refused_before_any_bucket_or_hash() {
    let app = spawn(|c| c.password_hash_queue = 1).await;
    // The queue full: a login that reached the hashing would be answered 429.
    let _held = app.state.passwords.admit().unwrap();
    let name = "x".repeat(10_000);
    let response = login(&app, &name, "wrong password").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
