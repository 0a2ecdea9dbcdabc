//! What durable SQLite commits cost (issue 16, item 12): messages stored per second
//! through the server's write path (`Db::insert_message`, one committed transaction per
//! message, as each acknowledged send is) with `SQLITE_SYNCHRONOUS=full` (the default)
//! and `normal`.
//!
//!     cargo bench -p server --bench sqlite_commit
//!
//! The database is a fresh file under the target directory (a real disk: a tmpfs would
//! make every fsync free). Sends go one after another, as from one sender awaiting each
//! ack; SQLite has one writer, so concurrent senders queue behind the same commits.
//! Figures are in docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used)]

use chat_wire::{ConversationId, UserId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use server::db::{Db, DbOptions, InsertOutcome, NewMessage, SqliteSync};
use std::time::{Duration, Instant};

/// A fresh database on disk with two users in one conversation: the sender and the
/// conversation to write to.
async fn database(dir: &std::path::Path, sync: SqliteSync) -> (Db, UserId, ConversationId) {
    let url = format!("sqlite://{}", dir.join("chat.db").display());
    let db = Db::connect_with(&url, DbOptions { sqlite_sync: sync })
        .await
        .unwrap();
    let alice = db.create_user("alice", "x").await.unwrap().unwrap().id;
    let bob = db.create_user("bob", "x").await.unwrap().unwrap().id;
    let conversation = db
        .create_conversation(alice, &[bob], None)
        .await
        .unwrap()
        .conversation
        .id;
    (db, alice, conversation)
}

fn commit(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("sqlite_commit");
    group.throughput(Throughput::Elements(1));
    for (name, sync) in [("full", SqliteSync::Full), ("normal", SqliteSync::Normal)] {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let (db, sender, conversation) = runtime.block_on(database(dir.path(), sync));
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let ids: Vec<String> = (0..iterations)
                        .map(|_| uuid::Uuid::new_v4().to_string())
                        .collect();
                    let start = Instant::now();
                    for id in &ids {
                        let outcome = db
                            .insert_message(NewMessage {
                                conversation_id: conversation,
                                sender_id: sender,
                                client_message_id: id,
                                text: "a message of an ordinary length, about sixty bytes",
                            })
                            .await
                            .unwrap();
                        assert!(matches!(outcome, InsertOutcome::Inserted(_)));
                    }
                    start.elapsed()
                })
            });
        });
        runtime.block_on(db.close());
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = commit
}
criterion_main!(benches);
