//! Health, metrics, origins, the web app, unknown routes.

use chat_test_support::{Backend, TestApp, assert_error, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

on_both_backends! {
    async fn healthz_is_200_while_the_database_answers_and_503_after(app: TestApp) {
        let response = app.get("/healthz", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        app.db().close().await;
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    async fn metrics_are_prometheus_text_with_requests_and_pool_sizes(app: TestApp) {
        app.register("alice").await;
        let response = app.get("/metrics", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = response.text().await.unwrap();
        assert!(text.contains("http_requests_total{"), "{text}");
        assert!(text.contains(r#"route="/api/auth/register""#), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("db_pool_connections"), "{text}");
        assert!(text.contains("db_pool_idle_connections"), "{text}");
    }

    async fn api_calls_from_an_unlisted_origin_are_refused(app: TestApp) {
        let body = json!({"username": "alice", "password": "password1"});
        let evil = app
            .client
            .post(app.url("/api/auth/register"))
            .header("origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(evil, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(app.db().user_by_username("alice").await.unwrap().is_none());

        let expo = app
            .client
            .post(app.url("/api/auth/register"))
            .header("origin", "http://localhost:8081")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(expo.status(), StatusCode::CREATED);
        assert_eq!(expo.headers()["access-control-allow-origin"], "http://localhost:8081");

        let own = app.address.clone();
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/conversations"))
            .header("origin", own.as_str())
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{}", preflight.status());
        assert_eq!(preflight.headers()["access-control-allow-origin"], own.as_str());
        // No Origin at all (a native app) passes.
        assert_eq!(app.get("/api/users/me", None).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn unknown_routes_are_404_in_the_error_shape(app: TestApp) {
        assert_error(app.get("/api/nope", None).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_error(app.get("/nope", None).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn allowed_origins_replace_the_expo_defaults_but_keep_the_servers_own() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.allowed_origins = Some(vec!["https://chat.example".to_owned()]);
    })
    .await
    .unwrap();
    let with_origin = |origin: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/users/me"))
                .header("origin", origin)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        with_origin("https://chat.example").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_origin("http://localhost:8081").await,
        StatusCode::FORBIDDEN
    );
    let own = app.address.clone().leak();
    assert_eq!(with_origin(own).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_web_app_is_served_at_the_root_with_wasm_as_application_wasm() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .unwrap();
    std::fs::write(web.path().join("engine_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let dir = web.path().to_owned();
    let app = TestApp::spawn_with(Backend::Sqlite, move |config| config.web_dir = dir)
        .await
        .unwrap();
    let index = app.get("/", None).await;
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.text().await.unwrap().contains("<title>chat</title>"));
    let wasm = app.get("/engine_bg.wasm", None).await;
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    // A client-side route reloads into the app.
    let deep = app.get("/conversations/7", None).await;
    assert_eq!(deep.status(), StatusCode::OK);
    assert!(deep.text().await.unwrap().contains("<title>chat</title>"));
    // The API is not shadowed by the app.
    assert_error(
        app.get("/api/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
