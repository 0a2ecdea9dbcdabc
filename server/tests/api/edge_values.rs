//! Values at the edges of their types (issue 16, item 6): refused with a clear 400 or
//! at start, never a panic or a 500.

use chat_test_support::{Backend, TestApp, assert_error, on_both_backends, users_in_conversation};
use reqwest::StatusCode;
use std::time::Duration;

on_both_backends! {
    async fn history_times_past_year_9999_are_bad_requests(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let token = Some(users[0].token.as_str());
        for since in [
            i64::MAX.to_string(),
            "253402300800000".to_owned(),
            "9999-12-31T23:59:59-01:00".to_owned(),
        ] {
            let path = format!("/api/conversations/{conversation}/messages?since={since}");
            let body = assert_error(app.get(&path, token).await, StatusCode::BAD_REQUEST, "bad_request").await;
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("since") && message.contains("9999"), "{message}");
        }
        // The last millisecond of 9999 is a time like any other.
        app.store(&users[1], conversation, "hello").await;
        let path = format!("/api/conversations/{conversation}/messages?since=253402300799999");
        let response = app.get(&path, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: serde_json::Value = response.json().await.unwrap();
        assert_eq!(page["messages"].as_array().unwrap().len(), 0, "{page}");
    }

    async fn history_seqs_at_the_top_of_i64_page_normally(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        app.store(&users[1], conversation, "hello").await;
        let token = Some(users[0].token.as_str());
        let max = i64::MAX;
        for (query, expected) in [(format!("afterSeq={max}"), 0), (format!("beforeSeq={max}"), 1)] {
            let path = format!("/api/conversations/{conversation}/messages?{query}&limit=100");
            let response = app.get(&path, token).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            let page: serde_json::Value = response.json().await.unwrap();
            assert_eq!(page["messages"].as_array().unwrap().len(), expected, "{query}: {page}");
        }
        let path = format!("/api/conversations/{conversation}/messages?afterSeq=9223372036854775808");
        assert_error(app.get(&path, token).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn a_nul_in_a_looked_up_username_is_no_such_user(app: TestApp) {
        // PostgreSQL refuses NUL in text: this was a 500 (found by the fuzzer).
        let alice = app.register("alice").await;
        let lookup = app.get("/api/users?username=ali%00ce", Some(&alice.token)).await;
        assert_error(lookup, StatusCode::NOT_FOUND, "not_found").await;
        let login = app
            .post("/api/auth/login", None, &serde_json::json!({ "username": "\u{0}", "password": "correct horse battery" }))
            .await;
        assert_error(login, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    async fn list_cursors_past_year_9999_are_bad_requests(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let token = Some(users[0].token.as_str());
        for query in [
            format!("before={}", i64::MAX),
            format!("before={}&beforeId={conversation}", i64::MAX),
        ] {
            let path = format!("/api/conversations?{query}");
            let body = assert_error(app.get(&path, token).await, StatusCode::BAD_REQUEST, "bad_request").await;
            assert!(body["error"]["message"].as_str().unwrap().contains("before"), "{body}");
        }
    }
}

/// The configuration refuses such a TTL at start (config.rs); a server built from a
/// `Config` by hand still signs tokens instead of panicking on the first login.
#[tokio::test]
async fn a_huge_token_lifetime_does_not_panic_on_register() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.jwt_ttl = Duration::MAX)
        .await
        .expect("SQLite is always available");
    let user = app.register("alice").await;
    let response = app.get("/api/conversations", Some(&user.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
}
