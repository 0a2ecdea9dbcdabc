//! SQLite is single-node only: cluster mode on it is refused at start, in one line.

use chat_test_support::JWT_SECRET;
use server::Application;
use server::auth::Passwords;
use server::config::{ClusterAdapter, Config};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn sqlite_refuses_cluster_mode_when_built() {
    let dir = tempfile::tempdir().unwrap();
    for adapter in [
        ClusterAdapter::Postgres,
        ClusterAdapter::Redis {
            url: "redis://127.0.0.1:6379".to_owned(),
            prefix: "x".to_owned(),
        },
    ] {
        let config = Config {
            bind_addr: "127.0.0.1:0".parse().unwrap(),
            database_url: format!("sqlite://{}", dir.path().join("chat.db").display()),
            jwt_secret: JWT_SECRET.to_vec(),
            jwt_ttl: Duration::from_secs(3600),
            allowed_origins: None,
            web_dir: PathBuf::from("/nonexistent/web"),
            cluster_adapter: adapter,
            cluster_lease: server::cluster::DEFAULT_LEASE,
            handshakes_per_user_per_sec: server::config::DEFAULT_HANDSHAKES_PER_USER_PER_SEC,
            resync_spread: server::config::DEFAULT_RESYNC_SPREAD,
        };
        let err = Application::build_with(config, Passwords::for_tests())
            .await
            .unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("SQLite is single-node only"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn the_binary_exits_with_one_line_when_asked_for_a_cluster_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .current_dir(dir.path())
        .env_clear()
        .env("JWT_SECRET", String::from_utf8_lossy(JWT_SECRET).as_ref())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("CLUSTER_ADAPTER", "postgres")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0]
            .starts_with("chat-server: CLUSTER_ADAPTER=postgres needs DATABASE_URL=postgres://"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "never started listening");
}
