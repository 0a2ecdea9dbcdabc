//! Hostile input from the network (issue 16, item 7): whatever the server or a
//! man-in-the-middle sends (frames, JSON, Socket.IO packets, HTTP answers), the engine
//! answers with a warning or ignores it, never a panic. These are the cargo-fuzz targets
//! of `engine/fuzz/` (which need nightly and run nowhere by default) as proptest fuzzers
//! on stable, in the normal test command, each for a bounded time: `CHAT_FUZZ_SECS`
//! seconds (3 by default; `cargo xtask test --soak` gives 60).
//!
//! Besides random text, the generators build well-formed frames around hostile values
//! (seqs and ids at `i64::MAX`, negative, floats, wrong types, NUL bytes), which random
//! bytes almost never reach.
// Native: proptest is a native-only dev-dependency.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

use chat_engine::json::Value as EngineJson;
use chat_engine::protocol::decode;
use chat_engine::{Config, Engine, Millis, Output, RequestId, SocketId};
use chat_wire::ConversationId;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::fmt::Debug;
use std::time::{Duration, Instant};

/// A token the engine reads as user 1 (it never checks the signature: the server does).
const TOKEN: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOjEsImV4cCI6NDEwMjQ0NDgwMH0.c2ln";
const ROOM: ConversationId = ConversationId(1);

/// How long each fuzzer runs: `CHAT_FUZZ_SECS` (fractions allowed), 3 s by default.
fn budget() -> Duration {
    std::env::var("CHAT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(3), Duration::from_secs_f64)
}

/// Runs `test` on values of `strategy` until the budget is spent (at least one batch),
/// each batch with a fresh random seed; a failure is shrunk and reported by proptest.
fn fuzz<S>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let deadline = Instant::now() + budget();
    loop {
        let config = RunnerConfig {
            cases: 64,
            failure_persistence: None,
            ..RunnerConfig::default()
        };
        if let Err(failure) = TestRunner::new(config).run(&strategy, &test) {
            panic!("{failure}");
        }
        if Instant::now() >= deadline {
            break;
        }
    }
}

/// Numbers where arithmetic breaks.
fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(i64::MAX)),
        Just(json!(i64::MAX - 1)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(1.5)),
        Just(json!(1e308)),
        (0..20i64).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ]
}

fn edge_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("")),
        Just(json!("\u{0}")),
        Just(json!("\u{202e}evil")),
        Just(json!("9999-12-31T23:59:59.999Z")),
        Just(json!("2026-01-01T00:00:00.000Z")),
        ".{0,12}".prop_map(Value::from),
    ]
}

/// The field names of the protocol, so random objects hit the parsers' paths.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "conversationId",
            "seq",
            "senderId",
            "text",
            "clientMessageId",
            "createdAt",
            "success",
            "code",
            "error",
            "retryAfterMs",
            "lastSeq",
            "lastReadSeq",
            "readSeqs",
            "onlineUserIds",
            "participantIds",
            "messages",
            "hasMore",
            "userId",
            "messageId",
            "readAt",
            "data",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9]{0,6}",
    ]
}

/// Any JSON, weighted towards edge values and protocol-shaped objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        edge_number(),
        edge_string(),
    ];
    leaf.prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A stored message of the joined conversation, each field right or hostile.
fn message() -> impl Strategy<Value = Value> {
    let field = |right: Value| prop_oneof![3 => Just(right), 1 => json_value()];
    (
        edge_number(),
        field(json!(ROOM.0)),
        edge_number(),
        field(json!(2)),
        field(json!("hi")),
        field(Value::Null),
        field(json!("2026-01-01T00:00:00.000Z")),
    )
        .prop_map(|(id, conversation, seq, sender, text, cmid, at)| {
            json!({
                "id": id, "conversationId": conversation, "seq": seq, "senderId": sender,
                "text": text, "clientMessageId": cmid, "createdAt": at,
            })
        })
}

/// An event frame, an ack (of a small id: the engine numbers from 0), or random text.
fn frame() -> impl Strategy<Value = String> {
    let event = prop::sample::select(vec![
        "message:new",
        "message:read",
        "conversation:read",
        "conversation:new",
        "typing:start",
        "typing:stop",
        "user:online",
        "user:offline",
        "unknown",
    ]);
    let arg = prop_oneof![2 => message(), 1 => json_value()];
    let read_seqs = prop_oneof![
        2 => Just(json!({})),
        2 => edge_number().prop_map(|seq| json!({ "2": seq })),
        1 => json_value(),
    ];
    let join_ack = (edge_number(), edge_number(), read_seqs).prop_map(|(last, read, seqs)| {
        json!({"success": true, "onlineUserIds": [1, 2], "lastSeq": last,
               "lastReadSeq": read, "readSeqs": seqs})
    });
    let ack_arg = prop_oneof![
        join_ack,
        message().prop_map(|m| json!({"success": true, "message": m})),
        (json_value(), edge_number())
            .prop_map(|(code, after)| json!({"success": false, "code": code, "error": "x", "retryAfterMs": after})),
        json_value(),
    ];
    prop_oneof![
        4 => (event, prop::collection::vec(arg, 0..3)).prop_map(|(name, args)| {
            let mut list = vec![json!(name)];
            list.extend(args);
            format!("42{}", Value::Array(list))
        }),
        // Ack 0 is the join's; the sends' follow.
        3 => (prop_oneof![Just(0u64), 0..12u64], ack_arg).prop_map(|(id, arg)| format!("43{id}[{arg}]")),
        1 => "[0-6]{1,2}[0-9]{0,3}.{0,40}",
        1 => ".{0,60}",
    ]
}

fn drain(engine: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| engine.poll_output()).collect()
}

/// An engine connected as user 1 and joining [`ROOM`], with its outputs since the
/// Socket.IO connect (the `conversation:join` among them).
fn connected() -> (Engine, SocketId, Vec<Output>) {
    let mut engine = Engine::new(Config::new("http://chat.test"), 1);
    engine.connect(Millis(0));
    engine.handle_token(Millis(0), Some(TOKEN.into()));
    engine.join(Millis(0), ROOM);
    let socket = drain(&mut engine)
        .into_iter()
        .find_map(|o| match o {
            Output::OpenSocket { socket, .. } => Some(socket),
            _ => None,
        })
        .expect("the engine opens a socket");
    engine.handle_socket_open(Millis(1), socket);
    engine.handle_frame(
        Millis(1),
        socket,
        r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#,
    );
    engine.handle_frame(Millis(2), socket, r#"40{"sid":"x"}"#);
    let outputs = drain(&mut engine);
    (engine, socket, outputs)
}

/// Answers every HTTP request in `outputs` with the next of `answers` (cycling).
fn answer_http(engine: &mut Engine, now: Millis, outputs: &[Output], answers: &[(u16, String)]) {
    let ids: Vec<RequestId> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Http(request) => Some(request.id),
            _ => None,
        })
        .collect();
    for (i, id) in ids.into_iter().enumerate() {
        if let Some((status, body)) = answers.get(i % answers.len().max(1)) {
            engine.handle_http_response(now, id, *status, body);
        }
    }
}

#[test]
fn the_frame_decoder_never_panics_and_round_trips() {
    fuzz(prop_oneof![frame(), any::<String>()], |text| {
        if let Ok(packet) = decode(&text) {
            let again = decode(&packet.encode()).expect("an encoded packet decodes");
            prop_assert_eq!(packet, again);
        }
        Ok(())
    });
}

#[test]
fn the_json_parser_never_panics_and_agrees_with_serde_json() {
    let text = prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        any::<String>(),
        "[\\[\\]{}\",:0-9eE.+-]{0,40}",
    ];
    fuzz(text, |text| {
        let ours = EngineJson::parse(&text);
        if let Some(value) = &ours {
            let again = EngineJson::parse(&value.to_json());
            prop_assert_eq!(again.as_ref(), Some(value));
        }
        // What serde_json refuses, the engine must not take for something.
        if serde_json::from_str::<Value>(&text).is_err() {
            prop_assert!(ours.is_none(), "accepted invalid JSON {:?}", text);
        }
        Ok(())
    });
}

#[test]
fn hostile_frames_and_http_answers_never_panic_the_engine() {
    let status = prop_oneof![
        Just(200u16),
        Just(201),
        Just(400),
        Just(429),
        Just(500),
        any::<u16>()
    ];
    let page = (prop::collection::vec(message(), 0..4), json_value())
        .prop_map(|(m, more)| json!({"messages": m, "hasMore": more}).to_string());
    let body =
        prop_oneof![3 => page, 1 => json_value().prop_map(|v| v.to_string()), 1 => ".{0,40}"];
    let script = (
        prop::collection::vec(frame(), 1..24),
        prop::collection::vec((status, body), 1..4),
        prop::collection::vec(any::<bool>(), 1..24),
    );
    fuzz(script, |(frames, answers, older)| {
        let (mut engine, socket, _) = connected();
        for (i, frame) in frames.iter().enumerate() {
            let now = Millis(10 + i as u64 * 100);
            engine.handle_frame(now, socket, frame);
            if older[i % older.len()] {
                engine.load_older(now, ROOM);
            }
            let _ = engine.send(now, ROOM, "hello");
            let outputs = drain(&mut engine);
            answer_http(&mut engine, now, &outputs, &answers);
            drain(&mut engine);
        }
        engine.handle_timeout(Millis(10_000_000));
        drain(&mut engine);
        Ok(())
    });
}

/// The join ack's frame for the `conversation:join` the engine sent, with `last_seq`.
fn join_ack(outputs: &[Output], last_seq: i64) -> String {
    let id = outputs
        .iter()
        .find_map(|o| match o {
            Output::SendFrame { text, .. } if text.contains("conversation:join") => {
                let digits: String = text[2..].chars().take_while(char::is_ascii_digit).collect();
                Some(digits)
            }
            _ => None,
        })
        .expect("a conversation:join with an ack id");
    format!(
        r#"43{id}[{{"success":true,"onlineUserIds":[1],"lastSeq":{last_seq},"lastReadSeq":0,"readSeqs":{{}}}}]"#
    )
}

#[test]
fn seqs_at_i64_max_saturate_instead_of_overflowing() {
    let max = i64::MAX;
    let (mut engine, socket, outputs) = connected();
    // A first join at the top of i64: the history up to it is asked for.
    engine.handle_frame(Millis(3), socket, &join_ack(&outputs, max));
    let outputs = drain(&mut engine);
    let history = outputs.iter().find_map(|o| match o {
        Output::Http(request) => Some(request.url.clone()),
        _ => None,
    });
    assert!(
        history
            .as_deref()
            .is_some_and(|u| u.contains(&format!("beforeSeq={max}"))),
        "{history:?}"
    );
    // Messages after a contiguous i64::MAX (none can follow it).
    for seq in [max, max - 1, max] {
        let frame = format!(
            r#"42["message:new",{{"id":{seq},"conversationId":1,"seq":{seq},"senderId":2,"text":"x","clientMessageId":null,"createdAt":"2026-01-01T00:00:00.000Z"}}]"#
        );
        engine.handle_frame(Millis(4), socket, &frame);
    }
    drain(&mut engine);
    let view = engine.conversation(ROOM).unwrap();
    assert_eq!(view.messages.last().and_then(|m| m.seq), Some(max));

    // The page before the oldest shown, with nothing shown and i64::MAX seen.
    let (mut engine, socket, outputs) = connected();
    engine.handle_frame(Millis(3), socket, &join_ack(&outputs, max));
    // The first page fails, so none is under way and nothing is shown.
    for output in drain(&mut engine) {
        if let Output::Http(request) = output {
            engine.handle_http_response(Millis(4), request.id, 500, "{}");
        }
    }
    drain(&mut engine);
    assert!(engine.load_older(Millis(5), ROOM));
    let asked = drain(&mut engine).into_iter().any(
        |o| matches!(o, Output::Http(request) if request.url.contains(&format!("beforeSeq={max}"))),
    );
    assert!(asked);
}
