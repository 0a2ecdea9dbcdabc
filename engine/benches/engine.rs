//! The engine's hot paths, natively (`cargo bench -p chat-engine --bench engine`):
//!
//! - `merge_older_page_100_into_10000`: an older history page of 100 messages (as the
//!   server's JSON) merged into a timeline of 10,000 (`load_older` → `handle_http_response`).
//! - `apply_1000_incoming`: 1,000 `message:new` frames decoded and merged, one by one.
//! - `incoming_1000_into_10000`: 1,000 `message:new` frames, each the next seq, into a
//!   timeline that holds 10,000 (its capacity, so each also drops the oldest), outputs
//!   drained and the snapshot published after each, as a driver does (and no one holding
//!   a snapshot, as the load tool does not).
//!
//! The first two start each iteration from a freshly built engine (not timed); the third
//! keeps one engine, whose timeline stays at 10,000 while its seqs move on. The figures
//! are in docs/CLIENT.md.
#![allow(clippy::unwrap_used)]

// criterion is a native-only dev-dependency: on wasm32 this bench is an empty program.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(hot_paths::benches);

#[cfg(not(target_arch = "wasm32"))]
mod hot_paths {
    use chat_engine::{Config, Engine, Millis, Output, RequestId, SocketId};
    use chat_wire::ConversationId;
    use criterion::{BatchSize, Criterion, criterion_group};
    use serde_json::json;
    use std::hint::black_box;

    const CONVERSATION: ConversationId = ConversationId(5);

    fn message(seq: i64) -> serde_json::Value {
        json!({
            "id": seq, "conversationId": CONVERSATION.0, "seq": seq, "senderId": 2,
            "text": format!("message number {seq}"), "clientMessageId": null,
            "createdAt": "2026-01-01T00:00:00.000Z"
        })
    }

    fn page(seqs: std::ops::RangeInclusive<i64>, has_more: bool) -> String {
        json!({ "messages": seqs.map(message).collect::<Vec<_>>(), "hasMore": has_more })
            .to_string()
    }

    fn drain(engine: &mut Engine) -> Vec<Output> {
        std::iter::from_fn(|| engine.poll_output()).collect()
    }

    fn last_http(outputs: &[Output]) -> RequestId {
        outputs
            .iter()
            .rev()
            .find_map(|o| match o {
                Output::Http(request) => Some(request.id),
                _ => None,
            })
            .unwrap()
    }

    /// A connected engine that joined the conversation, whose server said `last_seq`.
    fn joined(capacity: usize, last_seq: i64) -> (Engine, Vec<Output>) {
        let config = Config {
            timeline_capacity: capacity,
            ..Config::new("http://chat.test")
        };
        let mut engine = Engine::new(config, 1);
        let now = Millis(1);
        engine.connect(now);
        engine.handle_token(now, Some("t".into()));
        let socket = SocketId(0);
        engine.handle_frame(
            now,
            socket,
            r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#,
        );
        engine.handle_frame(now, socket, r#"40{"sid":"b"}"#);
        drain(&mut engine);
        engine.join(now, CONVERSATION);
        let join = drain(&mut engine);
        let ack = join
            .iter()
            .find_map(|o| match o {
                Output::SendFrame { text, .. } => text
                    .strip_prefix("42")
                    .and_then(|t| t.split('[').next())
                    .map(str::to_owned),
                _ => None,
            })
            .unwrap();
        engine.handle_frame(
            now,
            socket,
            &format!(r#"43{ack}[{{"success":true,"onlineUserIds":[],"lastSeq":{last_seq}}}]"#),
        );
        let outputs = drain(&mut engine);
        (engine, outputs)
    }

    /// A timeline of 10,000 (seqs 101..=10100) and the older page (1..=100) to merge.
    fn timeline_of_10000() -> (Engine, RequestId, String) {
        let (mut engine, outputs) = joined(10_000, 10_100);
        let newest = last_http(&outputs);
        engine.handle_http_response(Millis(2), newest, 200, &page(101..=10_100, true));
        drain(&mut engine);
        assert!(engine.load_older(Millis(3), CONVERSATION));
        let older = last_http(&drain(&mut engine));
        (engine, older, page(1..=100, false))
    }

    fn merge_page(c: &mut Criterion) {
        c.bench_function("merge_older_page_100_into_10000", |b| {
            b.iter_batched(
                timeline_of_10000,
                |(mut engine, request, body)| {
                    engine.handle_http_response(Millis(4), request, 200, &body);
                    black_box(drain(&mut engine));
                    assert_eq!(
                        engine.conversation(CONVERSATION).unwrap().messages.len(),
                        10_100
                    );
                    engine
                },
                BatchSize::LargeInput,
            );
        });
    }

    fn apply_incoming(c: &mut Criterion) {
        let frames: Vec<String> = (1..=1000)
            .map(|seq| format!(r#"42["message:new",{}]"#, message(seq)))
            .collect();
        c.bench_function("apply_1000_incoming", |b| {
            b.iter_batched(
                || joined(100, 0).0,
                |mut engine| {
                    for frame in &frames {
                        engine.handle_frame(Millis(5), SocketId(0), frame);
                        black_box(drain(&mut engine));
                    }
                    assert_eq!(
                        engine.conversation(CONVERSATION).unwrap().messages.len(),
                        100
                    );
                    engine
                },
                BatchSize::LargeInput,
            );
        });
    }

    fn incoming_into_10000(c: &mut Criterion) {
        // Joined when the conversation was empty; a message at seq 10,000 shows a gap,
        // and the catch-up page fills it (a catch-up page, unlike an older one, does not
        // widen the window: the timeline is at its capacity).
        let (mut engine, _) = joined(10_000, 0);
        let frame = format!(r#"42["message:new",{}]"#, message(10_000));
        engine.handle_frame(Millis(2), SocketId(0), &frame);
        let catch_up = last_http(&drain(&mut engine));
        engine.handle_http_response(Millis(2), catch_up, 200, &page(1..=10_000, false));
        drain(&mut engine);
        assert_eq!(
            engine.conversation(CONVERSATION).unwrap().messages.len(),
            10_000
        );
        let mut next_seq = 10_001;
        c.bench_function("incoming_1000_into_10000", |b| {
            b.iter_batched(
                || {
                    let frames: Vec<String> = (next_seq..next_seq + 1000)
                        .map(|seq| format!(r#"42["message:new",{}]"#, message(seq)))
                        .collect();
                    next_seq += 1000;
                    frames
                },
                |frames| {
                    for frame in &frames {
                        engine.handle_frame(Millis(5), SocketId(0), frame);
                        black_box(drain(&mut engine));
                    }
                    frames
                },
                BatchSize::PerIteration,
            );
        });
        let view = engine.conversation(CONVERSATION).unwrap();
        assert_eq!(view.messages.len(), 10_000);
        assert_eq!(view.messages.last().unwrap().seq, Some(next_seq - 1));
        assert!(view.synced);
    }

    criterion_group! {
        name = benches;
        config = Criterion::default().sample_size(20);
        targets = merge_page, apply_incoming, incoming_into_10000
    }
}
