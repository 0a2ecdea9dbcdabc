//! The handshake: JWT in the auth payload or the query, the spec's CONNECT_ERROR
//! messages, the origin allowlist on both transports, and the token-expiry disconnect.

use chat_test_support::socket::{Connect, ConnectFailure, SioClient};
use chat_test_support::{JWT_SECRET, on_both_backends};
use serde_json::json;
use server::auth::JwtKeys;
use std::time::Duration;

async fn refused(address: &str, options: Connect) -> String {
    match SioClient::connect_with(address, options).await {
        Err(ConnectFailure::Refused(message)) => message,
        other => panic!("expected a CONNECT_ERROR, got {other:?}"),
    }
}

on_both_backends! {
    async fn a_handshake_without_a_token_is_refused_with_the_spec_message(app: TestApp) {
        let message = refused(&app.address, Connect::default()).await;
        assert_eq!(message, "Authentication token required");
        let message = refused(&app.address, Connect { auth: Some(json!({})), ..Connect::default() }).await;
        assert_eq!(message, "Authentication token required");
    }

    async fn a_bad_token_is_refused_as_invalid_or_expired(app: TestApp) {
        for auth in [
            json!({ "token": "not.a.jwt" }),
            json!({ "token": 42 }),
            json!({ "token": ["x"] }),
        ] {
            let options = Connect { auth: Some(auth.clone()), ..Connect::default() };
            assert_eq!(refused(&app.address, options).await, "Invalid or expired token", "{auth}");
        }
        let foreign = JwtKeys::new(b"another secret that is thirty-two bytes", Duration::from_secs(60));
        let token = foreign.issue(chat_wire::UserId(1)).unwrap();
        assert_eq!(refused(&app.address, Connect::token(&token)).await, "Invalid or expired token");
    }

    async fn the_token_may_come_in_the_query(app: TestApp) {
        let alice = app.register("alice").await;
        let options = Connect { query: format!("&token={}", alice.token), ..Connect::default() };
        let client = SioClient::connect_with(&app.address, options).await;
        assert!(client.is_ok(), "{client:?}");
    }

    async fn a_socket_is_disconnected_when_its_token_expires(app: TestApp) {
        let alice = app.register("alice").await;
        // Expires within 1 to 2 seconds (exp has a resolution of one second).
        let short = JwtKeys::new(JWT_SECRET, Duration::from_secs(2));
        let token = short.issue(chat_wire::UserId(alice.id)).unwrap();
        let mut socket = SioClient::connect(&app.address, &token).await;
        let long_lived = SioClient::connect(&app.address, &alice.token).await;
        socket.closed().await;
        // The other socket of the same user is untouched.
        let mut long_lived = long_lived;
        let ack = long_lived.call("conversation:join", vec![json!(999_999)]).await;
        chat_test_support::assert_failure(&ack, "forbidden");
    }

    async fn a_websocket_handshake_from_a_foreign_origin_is_refused(app: TestApp) {
        let alice = app.register("alice").await;
        let options = Connect { origin: Some("http://evil.example".into()), ..Connect::token(&alice.token) };
        match SioClient::connect_with(&app.address, options).await {
            Err(ConnectFailure::Http(403)) => {}
            other => panic!("expected 403, got {other:?}"),
        }
        // The server's own origin and the Expo dev server are allowed.
        for origin in [app.address.clone(), "http://localhost:8081".to_owned()] {
            let options = Connect { origin: Some(origin), ..Connect::token(&alice.token) };
            assert!(SioClient::connect_with(&app.address, options).await.is_ok());
        }
    }

    async fn a_polling_handshake_from_a_foreign_origin_is_refused(app: TestApp) {
        let url = app.url("/socket.io/?EIO=4&transport=polling");
        let refused = app.client.get(&url).header("origin", "http://evil.example").send().await.unwrap();
        assert_eq!(refused.status(), 403);
        let allowed = app.client.get(&url).header("origin", "http://localhost:8081").send().await.unwrap();
        assert_eq!(allowed.status(), 200);
        assert_eq!(
            allowed.headers().get("access-control-allow-origin").unwrap(),
            "http://localhost:8081"
        );
        let body = allowed.text().await.unwrap();
        assert!(body.starts_with('0'), "{body}");
        // No Origin header (native apps) is allowed too.
        let native = app.client.get(&url).send().await.unwrap();
        assert_eq!(native.status(), 200);
    }
}
