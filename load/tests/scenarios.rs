//! The load tool's scenarios, small, against a real in-process server: the report must say
//! what happened (everyone connected, every message acked and delivered exactly once).
#![allow(clippy::unwrap_used)]

use chat_test_support::{TestServer, spawn_sqlite as spawn_server};
use serde_json::Value;
use std::process::Command;

/// Runs `chat-load` and returns its JSON report (the process runs while the test's runtime
/// keeps serving).
async fn chat_load(server: &TestServer, args: &[&str]) -> (bool, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-load"));
    command
        .args([
            "--url",
            &server.url,
            "--json",
            "--patience",
            "30",
            "--server-pid",
        ])
        .arg(std::process::id().to_string())
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): stdout {stdout}, stderr {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_chat_reports_every_message_delivered_once() {
    let server = spawn_server().await;
    let (ok, report) = chat_load(
        &server,
        &[
            "steady",
            "--users",
            "6",
            "--conversations",
            "3",
            "--participants",
            "2",
            "--rate",
            "40",
            "--duration",
            "1.5",
        ],
    )
    .await;
    assert!(ok, "{report:#}");
    assert_eq!(report["connected"], 6);
    let integrity = &report["integrity"];
    let acked = integrity["acked"].as_u64().unwrap();
    assert!(acked >= 40, "about 60 messages offered, {acked} acked");
    for key in ["failed", "losses", "duplicates", "order_errors"] {
        assert_eq!(integrity[key], 0, "{key}: {report:#}");
    }
    // Each message has one other participant, who hears it live: its delivery time is
    // measured once at most. Under load a message can overtake another (two group
    // commits broadcast out of order), and the recipient's engine then fetches the one it
    // missed in a catch-up page, where no live delivery is timed; that the message still
    // arrived exactly once is the integrity check above.
    let delivered = report["delivery"]["count"].as_u64().unwrap();
    assert!(
        delivered <= acked,
        "{delivered} deliveries timed for {acked} messages"
    );
    assert!(
        delivered * 10 >= acked * 9,
        "only {delivered} of {acked} deliveries timed"
    );
    assert_eq!(report["ack"]["count"].as_u64().unwrap(), acked);
    assert!(report["server_memory"]["after_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_groups_deliver_every_message_to_every_other_socket_once_and_report_server_cpu() {
    let server = spawn_server().await;
    let (groups, members, sockets) = (3, 4, 2);
    let (ok, report) = chat_load(
        &server,
        &[
            "big-group",
            "--groups",
            "3",
            "--members",
            "4",
            "--sockets-per-user",
            "2",
            "--rate",
            "12",
            "--duration",
            "1.5",
        ],
    )
    .await;
    assert!(ok, "{report:#}");
    assert_eq!(report["scenario"], "big-group");
    assert_eq!(report["users"], groups * members);
    assert_eq!(report["participants"], members);
    assert_eq!(report["connected"], groups * members * sockets);
    let integrity = &report["integrity"];
    let acked = integrity["acked"].as_u64().unwrap();
    assert!(acked >= 12, "about 18 messages offered, {acked} acked");
    for key in ["failed", "losses", "duplicates", "order_errors"] {
        assert_eq!(integrity[key], 0, "{key}: {report:#}");
    }
    // Every socket of the group but the sender's own hears each message; live deliveries
    // are timed once at most (see the steady test for the ones a catch-up page brings).
    let recipients = (members - 1) * sockets;
    let delivered = report["delivery"]["count"].as_u64().unwrap();
    assert!(
        delivered <= acked * recipients,
        "{delivered} deliveries timed for {acked} messages to {recipients} sockets each"
    );
    assert!(
        delivered * 10 >= acked * recipients * 9,
        "only {delivered} of {} deliveries timed",
        acked * recipients
    );
    // `--server-pid` is this test process, which runs the server: its CPU time grew.
    let cpu = &report["server_cpu"];
    assert!(cpu["cpu_seconds"].as_f64().unwrap() > 0.0, "{report:#}");
    assert!(cpu["window_seconds"].as_f64().unwrap() >= 1.5, "{report:#}");
    assert!(cpu["per_message_us"].as_f64().unwrap() > 0.0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_storm_brings_every_client_back() {
    let server = spawn_server().await;
    let (ok, report) = chat_load(
        &server,
        &[
            "storm",
            "--users",
            "8",
            "--conversations",
            "4",
            "--participants",
            "2",
        ],
    )
    .await;
    assert!(ok, "{report:#}");
    assert_eq!(report["recovered"], 8);
    assert_eq!(report["reconnect"]["count"], 8);
    // The first reconnection waits 1 s less up to 20% jitter.
    let p50 = report["reconnect"]["p50_ms"].as_f64().unwrap();
    assert!((700.0..10_000.0).contains(&p50), "reconnect p50 {p50} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_with_several_sockets_per_user_measure_the_second_half() {
    let server = spawn_server().await;
    let (ok, report) = chat_load(
        &server,
        &[
            "idle",
            "--users",
            "4",
            "--sockets-per-user",
            "3",
            "--conversations",
            "2",
            "--participants",
            "2",
            "--hold",
            "0.2",
        ],
    )
    .await;
    assert!(ok, "{report:#}");
    assert_eq!(report["connections"], 12);
    assert_eq!(report["connected"], 12);
    let memory = &report["server_memory"];
    assert_eq!(memory["before_connections"], 6, "{report:#}");
    assert_eq!(memory["after_connections"], 12, "{report:#}");
    assert!(memory["after_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_sockets_per_user_than_the_server_allows_is_refused_up_front() {
    let output = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_chat-load"))
            .args(["idle", "--users", "2", "--sockets-per-user", "17"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("from 1 to 16"),
        "a clear refusal, not a connection attempt: {stderr}"
    );
}
