//! An in-process chat-server on a fresh SQLite file and an OS-assigned loopback port, for
//! other crates' integration tests (client-native, chat-load). The server's own tests have
//! richer helpers (both backends, direct database access) in `server/tests/`.

use crate::Application;
use crate::auth::Passwords;
use crate::config::Config;

/// A running server; its database is deleted when this is dropped. The server itself runs
/// on the test's tokio runtime and stops with it.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    _dir: tempfile::TempDir,
}

/// Starts a server with cheap password hashing; panics (a test's failure) if it cannot.
pub async fn spawn_sqlite() -> TestServer {
    let dir = tempfile::tempdir().expect("a temporary directory for the test database");
    let database_url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let config = Config::from_lookup(|key| match key {
        "BIND_ADDR" => Some("127.0.0.1:0".to_owned()),
        "DATABASE_URL" => Some(database_url.clone()),
        "JWT_SECRET" => Some("in-process-test-server-secret-of-32-bytes-or-more".to_owned()),
        _ => None,
    })
    .expect("the test configuration is valid");
    let app = Application::build_with(config, Passwords::for_tests())
        .await
        .expect("the test server starts");
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestServer { url, _dir: dir }
}
