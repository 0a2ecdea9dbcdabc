//! Bad input of every shape: answered in the error shape, never a panic, never a partial
//! row, never another user's data.

use chat_test_support::{assert_error, on_both_backends};
use chat_wire::limits::{MAX_PAYLOAD_BYTES, MAX_USERNAME_CHARS};
use reqwest::StatusCode;
use serde_json::{Value, json};

const REGISTER: &str = "/api/auth/register";

on_both_backends! {
    async fn malformed_json_is_a_bad_request_in_the_error_shape(app: TestApp) {
        for body in ["{", "{\"username\": }", "not json", "", "[1,2", "\u{0}"] {
            assert_error(app.post_raw(REGISTER, None, body).await, StatusCode::BAD_REQUEST, "bad_request").await;
        }
    }

    async fn a_body_without_a_json_content_type_is_a_bad_request(app: TestApp) {
        let response = app
            .client
            .post(app.url(REGISTER))
            .header("content-type", "text/plain")
            .body(r#"{"username":"alice","password":"password1"}"#)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn wrong_types_and_missing_fields_are_bad_requests(app: TestApp) {
        let alice = app.register("alice").await;
        for body in [
            json!({"username": 5, "password": "password1"}),
            json!({"username": "bob", "password": ["password1"]}),
            json!({"username": "bob"}),
            json!({"password": "password1"}),
            json!([]),
            json!(null),
            json!("bob"),
        ] {
            assert_error(app.post(REGISTER, None, &body).await, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        for body in [
            json!({"participantIds": "2"}),
            json!({"participantIds": [2.5]}),
            json!({"participantIds": [null]}),
            json!({"participantIds": [2], "title": 7}),
            json!({}),
        ] {
            let response = app.post("/api/conversations", Some(&alice.token), &body).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        // Serde's explanation names the field, which helps client developers.
        let body = assert_error(
            app.post(REGISTER, None, &json!({"username": "bob"})).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(body["error"]["message"].as_str().unwrap().contains("password"), "{body}");
    }

    async fn unknown_fields_are_ignored_and_not_stored(app: TestApp) {
        let response = app
            .post(REGISTER, None, &json!({"username": "alice", "password": "password1", "isAdmin": true, "id": 99}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user"].as_object().unwrap().len(), 2);
        assert_ne!(body["user"]["id"], 99);
    }

    async fn bodies_over_64_kib_are_refused_with_413(app: TestApp) {
        let alice = app.register("alice").await;
        let huge = json!({"username": "bob", "password": "x".repeat(MAX_PAYLOAD_BYTES)}).to_string();
        assert_error(app.post_raw(REGISTER, None, huge).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        let conversation = app.conversation(&alice, &[&app.register("bob").await], None).await;
        let path = format!("/api/conversations/{}/messages", conversation["id"]);
        let huge = json!({"clientMessageId": uuid::Uuid::new_v4(), "text": "x".repeat(MAX_PAYLOAD_BYTES + 1)}).to_string();
        assert_error(app.post_raw(&path, Some(&alice.token), huge).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        // Nothing was stored.
        let page: Value = app.get(&path, Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(page["messages"], json!([]));
        assert!(app.db().user_by_username("bob").await.unwrap().is_some());
    }

    async fn usernames_empty_too_long_or_with_control_characters_are_refused(app: TestApp) {
        for username in [
            String::new(),
            "x".repeat(MAX_USERNAME_CHARS + 1),
            "ali\u{0}ce".to_owned(),
            "ali\nce".to_owned(),
            "ali\u{1b}[31mce".to_owned(),
            " alice".to_owned(),
        ] {
            let response = app.post(REGISTER, None, &json!({"username": username, "password": "password1"})).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        // The longest allowed name, in multi-byte characters, is fine.
        let longest = "é".repeat(MAX_USERNAME_CHARS);
        app.register(&longest).await;
        assert!(app.db().user_by_username("alice").await.unwrap().is_none());
    }

    async fn passwords_shorter_than_eight_characters_are_refused(app: TestApp) {
        for password in ["", "short", "1234567"] {
            let response = app.post(REGISTER, None, &json!({"username": "alice", "password": password})).await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        assert!(app.db().user_by_username("alice").await.unwrap().is_none());
    }

    async fn sql_metacharacters_are_plain_text_everywhere(app: TestApp) {
        let evil = "x'); DROP TABLE users; -- \" ; SELECT * FROM messages WHERE '1'='1";
        let mallory = app.register("robert'); DROP TABLE--").await;
        let bob = app.register("bob%_\\'\"").await;
        let found: Value = app
            .get("/api/users?username=bob%25_%5C'%22", Some(&mallory.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found["id"], bob.id);
        let conversation = app.conversation(&mallory, &[&bob], Some(evil)).await;
        assert_eq!(conversation["title"], evil);
        let id = conversation["id"].as_i64().unwrap();
        let sent = app.send(&mallory, id, evil).await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        let page: Value = app
            .get(&format!("/api/conversations/{id}/messages?since=1'%20OR%20'1'='1"), Some(&bob.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["error"]["code"], "bad_request");
        let page: Value = app
            .get(&format!("/api/conversations/{id}/messages"), Some(&bob.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["messages"][0]["text"], evil);
        // Every table is still there and holds what it should.
        let login = app
            .post("/api/auth/login", None, &json!({"username": "robert'); DROP TABLE--", "password": "correct horse battery"}))
            .await;
        assert_eq!(login.status(), StatusCode::OK);
        let path = format!("/api/conversations/{id}%20OR%201=1/messages");
        assert_error(app.get(&path, Some(&bob.token)).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
