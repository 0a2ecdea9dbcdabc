//! A 30 s PostgreSQL outage under a real `chat-server` and real clients (the native
//! engine): messages sent during it stay `sending` (the server answers `unavailable`,
//! which uses up no try), none turns `failed`, and each is delivered once when PostgreSQL
//! is back. The PostgreSQL is a private one, stopped and started by the test.
#![allow(clippy::unwrap_used)]

use chat_engine::MessageStatus;
use chat_load::chaos::node::{ServerNode, server_binary};
use chat_load::chaos::postgres::{self, PrivatePostgres};
use chat_load::fleet::Fleet;
use chat_load::population::populate;
use chat_load::{Common, Shape};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

const PATIENCE: Duration = Duration::from_secs(30);
/// Over four times the 7 s that four lost tries take to turn a message `failed`.
const OUTAGE: Duration = Duration::from_secs(30);
const MESSAGES: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_during_a_30_s_postgresql_outage_are_delivered_once_after() {
    let Some(bin) = postgres::binaries() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL's binaries are required in CI"
        );
        eprintln!("skipped: PostgreSQL binaries not found (set CHAT_PG_BIN)");
        return;
    };
    let postgres = PrivatePostgres::start(bin).await.unwrap();
    let binary = tokio::task::spawn_blocking(server_binary)
        .await
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("DATABASE_URL".to_owned(), postgres.url()),
        (
            "JWT_SECRET".to_owned(),
            "outage-test-secret-of-at-least-32-bytes!".to_owned(),
        ),
        ("NO_COLOR".to_owned(), "1".to_owned()),
    ];
    let node = ServerNode::start("node", &binary, env, dir.path())
        .await
        .unwrap();
    let common = Common {
        url: node.url(),
        json: false,
        server_pid: None,
        seed: 1,
        setup_concurrency: 2,
        patience: PATIENCE,
    };
    let shape = Shape {
        users: 2,
        conversations: 1,
        participants: 2,
        sockets_per_user: 1,
    };
    let population = populate(&common, &shape).await.unwrap();
    let fleet = Fleet::start(&node.url(), population, 1);
    assert_eq!(fleet.connect_all(PATIENCE).await, 2);
    let conversation = fleet.conversations[0].0;
    let (sender, receiver) = (&fleet.clients[0].client, &fleet.clients[1].client);

    postgres.stop_fast().await.unwrap();
    let started = Instant::now();
    let ids: Vec<String> = (0..MESSAGES)
        .map(|i| {
            sender
                .send(conversation, &format!("during the outage {i}"))
                .unwrap()
                .to_string()
        })
        .collect();
    // The outage lasting is the scenario; meanwhile, look every second that nothing has
    // given up.
    let statuses = || {
        let view = sender.conversation(conversation).unwrap();
        ids.iter()
            .map(|id| {
                view.messages
                    .iter()
                    .find(|m| m.client_message_id.as_deref() == Some(id.as_str()))
                    .map(|m| m.status)
            })
            .collect::<Vec<_>>()
    };
    while started.elapsed() < OUTAGE {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(fleet.recorder.failed.load(Ordering::Relaxed), 0);
        assert_eq!(
            statuses(),
            vec![Some(MessageStatus::Sending); MESSAGES],
            "at {:?} into the outage:\n{}",
            started.elapsed(),
            node.log_tail(20)
        );
    }

    postgres.start_server().await.unwrap();
    let recorder = &fleet.recorder;
    let delivered = recorder
        .wait_until(PATIENCE, || {
            receiver.conversation(conversation).is_some_and(|view| {
                ids.iter().all(|id| {
                    view.messages
                        .iter()
                        .any(|m| m.client_message_id.as_deref() == Some(id.as_str()))
                })
            })
        })
        .await;
    assert!(
        delivered,
        "not delivered after the outage:\n{}",
        node.log_tail(30)
    );
    let acked = recorder
        .wait_until(PATIENCE, || {
            statuses()
                .iter()
                .all(|s| matches!(s, Some(MessageStatus::Sent | MessageStatus::Read)))
        })
        .await;
    assert!(acked, "{:?}", statuses());
    assert_eq!(fleet.recorder.failed.load(Ordering::Relaxed), 0);
    // Once each, in the order sent.
    for client in [sender, receiver] {
        let view = client.conversation(conversation).unwrap();
        let seen: Vec<&str> = view
            .messages
            .iter()
            .filter_map(|m| m.client_message_id.as_deref())
            .collect();
        assert_eq!(seen, ids, "each message once, in order");
    }
}
