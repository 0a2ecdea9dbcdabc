//! `GET /api/conversations` for a user in 1,000 conversations holding 100,000 messages in
//! all, on PostgreSQL (issue 14: p99 under 50 ms).
//!
//!     cargo bench -p server --bench conversation_list
//!
//! The server runs in-process (release profile) on a fresh PostgreSQL database
//! (`CHAT_TEST_POSTGRES_URL`, dropped afterwards), through `chat-test-support`. The data
//! goes in through the server's own write path (`Db::insert_message`, group commit), so
//! the list's columns and the watermarks are what production would have; the caller has
//! read part of each conversation. Then the full list (500 items, the default page) and
//! a first page of 50 are fetched over HTTP, sequentially, and the latencies printed.
//! Last, "the list ready after connect": a client engine (`client-native`, the engine of
//! the browser and the phones) connects as the caller and is timed until its snapshot holds
//! every conversation with its newest seq (the engine pages through the list itself); a
//! new engine each time.
// A bench reports on stdout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use chat_test_support::{Backend, TestApp};
use chat_wire::UserId;
use client_native::{ClientOptions, NativeClient};
use futures_util::StreamExt;
use server::db::NewMessage;
use std::time::{Duration, Instant};

const CONVERSATIONS: usize = 1_000;
const MESSAGES: usize = 100_000;
/// Other users; each conversation is the caller and two of them.
const OTHERS: usize = 50;
const WARM_UP: usize = 20;
const SAMPLES: usize = 300;
/// Engines connected for the "list ready" figure (each fetches two pages of 500).
const ENGINE_SAMPLES: usize = 60;

/// From `connect()` until the engine knows every conversation and its newest seq, waiting
/// event by event (the engine announces each change).
async fn list_ready(app: &TestApp, token: &str, last_seq: i64) -> Duration {
    let token = token.to_owned();
    let options = ClientOptions::new(app.url(""), move || Some(token.clone()));
    let (client, mut events) = NativeClient::spawn(options);
    let ready = |client: &NativeClient| {
        let snapshot = client.snapshot();
        snapshot.conversations.len() == CONVERSATIONS
            && snapshot
                .conversations
                .iter()
                .all(|c| c.last_seq == last_seq)
    };
    let started = Instant::now();
    client.connect();
    while !ready(&client) {
        tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the list within 30 s")
            .expect("the engine runs");
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

async fn measure(app: &TestApp, token: &str, path: &str, expect: usize) -> String {
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..WARM_UP + SAMPLES {
        let started = Instant::now();
        let response = app.get(path, Some(token)).await;
        assert_eq!(response.status(), 200);
        let items: Vec<serde_json::Value> = response.json().await.unwrap();
        let took = started.elapsed();
        assert_eq!(items.len(), expect);
        if i >= WARM_UP {
            samples.push(took);
        }
    }
    samples.sort();
    format!(
        "{path}: {expect} items, n = {SAMPLES}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0),
    )
}

#[tokio::main]
async fn main() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        eprintln!("PostgreSQL is needed (CHAT_TEST_POSTGRES_URL)");
        std::process::exit(2);
    };
    let db = app.db().clone();
    let me = app.register("me").await;
    let mut others = Vec::new();
    for i in 0..OTHERS {
        others.push(UserId(app.register(&format!("other{i}")).await.id));
    }
    let started = Instant::now();
    let mut conversations = Vec::with_capacity(CONVERSATIONS);
    for i in 0..CONVERSATIONS {
        let pair = [others[i % OTHERS], others[(i * 7 + 1) % OTHERS]];
        let created = db
            .create_conversation(UserId(me.id), &pair, Some(&format!("c{i}")))
            .await
            .unwrap();
        conversations.push((
            created.conversation.id,
            created.conversation.participant_ids,
        ));
    }
    // 100 messages per conversation, from its three participants in turn, 256 in flight
    // (group commit batches them as it would a busy server's).
    let per_conversation = MESSAGES / CONVERSATIONS;
    let jobs = (0..MESSAGES).map(|n| {
        let (conversation, participants) = &conversations[n % CONVERSATIONS];
        let sender = participants[(n / CONVERSATIONS) % participants.len()];
        (*conversation, sender, uuid_of(n))
    });
    futures_util::stream::iter(jobs)
        .for_each_concurrent(256, |(conversation, sender, id)| {
            let db = db.clone();
            async move {
                db.insert_message(NewMessage {
                    conversation_id: conversation,
                    sender_id: sender,
                    client_message_id: &id,
                    text: "a message of a realistic length, about sixty characters long",
                })
                .await
                .unwrap();
            }
        })
        .await;
    // The caller has read a different part of each conversation.
    for (i, (conversation, _)) in conversations.iter().enumerate() {
        let seq = (i % (per_conversation + 1)) as i64;
        db.raise_read_seq(*conversation, UserId(me.id), seq)
            .await
            .unwrap();
    }
    println!(
        "seeded {CONVERSATIONS} conversations and {MESSAGES} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!(
        "{}",
        measure(&app, &me.token, "/api/conversations", 500).await
    );
    println!(
        "{}",
        measure(&app, &me.token, "/api/conversations?limit=50", 50).await
    );

    let mut ready = Vec::with_capacity(ENGINE_SAMPLES);
    for _ in 0..ENGINE_SAMPLES {
        ready.push(list_ready(&app, &me.token, per_conversation as i64).await);
    }
    ready.sort();
    println!(
        "list ready after connect (engine, {CONVERSATIONS} conversations), n = {ENGINE_SAMPLES}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&ready, 0.50),
        percentile(&ready, 0.95),
        percentile(&ready, 1.0),
    );
}

/// A distinct canonical UUID per message.
fn uuid_of(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}
