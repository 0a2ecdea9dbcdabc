//! Register, login, tokens, user lookup.

use chat_test_support::{JWT_SECRET, assert_error, on_both_backends};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn token_with(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

on_both_backends! {
    async fn register_returns_a_token_that_identifies_the_user(app: TestApp) {
        let response = app
            .post("/api/auth/register", None, &json!({"username": "alice", "password": "password1"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user"]["username"], "alice");
        let token = body["token"].as_str().unwrap();
        let me: Value = app.get("/api/users/me", Some(token)).await.json().await.unwrap();
        assert_eq!(me, body["user"]);
    }

    async fn register_refuses_a_taken_username(app: TestApp) {
        app.register("alice").await;
        let again = app
            .post("/api/auth/register", None, &json!({"username": "alice", "password": "another password"}))
            .await;
        assert_error(again, StatusCode::CONFLICT, "conflict").await;
    }

    async fn login_accepts_the_right_password_only(app: TestApp) {
        let alice = app.register("alice").await;
        let ok = app
            .post("/api/auth/login", None, &json!({"username": "alice", "password": "correct horse battery"}))
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        let body: Value = ok.json().await.unwrap();
        assert_eq!(body["user"]["id"], alice.id);
        assert!(body["token"].is_string());

        let wrong = app
            .post("/api/auth/login", None, &json!({"username": "alice", "password": "wrong password"}))
            .await;
        let wrong = assert_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let nobody = app
            .post("/api/auth/login", None, &json!({"username": "nobody", "password": "wrong password"}))
            .await;
        let nobody = assert_error(nobody, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // An unknown user and a wrong password are not told apart.
        assert_eq!(wrong, nobody);
    }

    async fn routes_other_than_register_and_login_need_a_token(app: TestApp) {
        for path in ["/api/users/me", "/api/users?username=a", "/api/conversations", "/api/conversations/1/messages"] {
            assert_error(app.get(path, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
            assert_error(app.get(path, Some("not.a.token")).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
        let response = app
            .client
            .get(app.url("/api/users/me"))
            .header("authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    async fn tokens_with_alg_none_are_refused(app: TestApp) {
        let alice = app.register("alice").await;
        // {"alg":"none","typ":"JWT"}.{"userId":1,"exp":9999999999}. with no signature
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VySWQiOjEsImV4cCI6OTk5OTk5OTk5OX0.";
        assert_eq!(alice.id, 1);
        assert_error(app.get("/api/users/me", Some(none)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // The same with the real token's signature pasted on.
        let signature = alice.token.rsplit('.').next().unwrap();
        let forged = format!("{none}{signature}");
        assert_error(app.get("/api/users/me", Some(&forged)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    async fn tokens_signed_with_another_secret_or_algorithm_are_refused(app: TestApp) {
        let alice = app.register("alice").await;
        let other = token_with(&json!({"userId": alice.id, "exp": now() + 600}), b"a different secret of thirty-two bytes");
        assert_error(app.get("/api/users/me", Some(&other)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &json!({"userId": alice.id, "exp": now() + 600}),
            &EncodingKey::from_secret(JWT_SECRET),
        )
        .unwrap();
        assert_error(app.get("/api/users/me", Some(&hs512)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    async fn expired_tokens_are_refused_beyond_the_leeway(app: TestApp) {
        let alice = app.register("alice").await;
        let expired = token_with(&json!({"userId": alice.id, "exp": now() - 120}), JWT_SECRET);
        assert_error(app.get("/api/users/me", Some(&expired)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // Within the 30 s leeway, clock skew is forgiven.
        let skewed = token_with(&json!({"userId": alice.id, "exp": now() - 5}), JWT_SECRET);
        assert_eq!(app.get("/api/users/me", Some(&skewed)).await.status(), StatusCode::OK);
    }

    async fn tokens_without_a_numeric_user_id_or_exp_are_refused(app: TestApp) {
        app.register("alice").await;
        for claims in [
            json!({"exp": now() + 600}),
            json!({"userId": "1", "exp": now() + 600}),
            json!({"userId": 1}),
            json!({"userId": 0, "exp": now() + 600}),
            json!({"userId": -1, "exp": now() + 600}),
        ] {
            let token = token_with(&claims, JWT_SECRET);
            assert_error(app.get("/api/users/me", Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
    }

    async fn users_are_found_by_exact_username(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let found: Value = app.get("/api/users?username=bob", Some(&alice.token)).await.json().await.unwrap();
        assert_eq!(found, json!({"id": bob.id, "username": "bob"}));
        assert_error(app.get("/api/users?username=bo", Some(&alice.token)).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_error(app.get("/api/users?username=BOB", Some(&alice.token)).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_error(app.get("/api/users", Some(&alice.token)).await, StatusCode::BAD_REQUEST, "bad_request").await;
        // A LIKE wildcard is a literal character, not a pattern.
        assert_error(app.get("/api/users?username=%25", Some(&alice.token)).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}

on_both_backends! {
    async fn usernames_are_unique_whatever_their_case_and_login_takes_any_case(app: TestApp) {
        let alice = app.register("Alice").await;
        for lookalike in ["alice", "ALICE", "Ａｌｉｃｅ"] {
            let again = app
                .post("/api/auth/register", None, &json!({"username": lookalike, "password": "another password"}))
                .await;
            assert_error(again, StatusCode::CONFLICT, "conflict").await;
        }
        for spelling in ["Alice", "alice", "ALICE"] {
            let ok = app
                .post("/api/auth/login", None, &json!({"username": spelling, "password": "correct horse battery"}))
                .await;
            assert_eq!(ok.status(), StatusCode::OK, "{spelling}");
            let body: Value = ok.json().await.unwrap();
            // The name as registered.
            assert_eq!(body["user"], json!({"id": alice.id, "username": "Alice"}));
        }
    }

    async fn invisible_characters_are_refused_in_usernames_and_titles(app: TestApp) {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        for name in ["al\u{200B}ice", "\u{202E}ecila", "bob\u{2066}", "al\u{AD}ice", "a\u{7}b"] {
            let response = app
                .post("/api/auth/register", None, &json!({"username": name, "password": "long enough"}))
                .await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        for title in ["plans\u{202E}", "zero\u{200D}width"] {
            let response = app
                .post("/api/conversations", Some(&alice.token), &json!({"participantIds": [bob.id], "title": title}))
                .await;
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
        }
    }
}
