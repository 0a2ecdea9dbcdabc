//! SQLite is single-node only: cluster mode on it is refused at start, in one line.

use chat_test_support::{JWT_SECRET, test_config};
use server::Application;
use server::auth::Passwords;
use server::config::{ClusterAdapter, Config};
use std::process::Command;

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
            cluster_adapter: adapter,
            ..test_config(format!("sqlite://{}", dir.path().join("chat.db").display()))
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
