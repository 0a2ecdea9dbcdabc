//! A measurement, not a test of speed: the engine bench's `incoming_1000_into_10000`
//! (engine/benches/engine.rs) in headless Chromium, on the engine compiled to wasm.
//! 1,000 `message:new` frames, each the next seq, into a timeline holding 10,000 (its
//! capacity), outputs drained after each; 21 rounds on one engine, timed with
//! `performance.now()`, the median and the fastest printed. Not among the `browser_*`
//! suites `cargo xtask test` runs; docs/CLIENT.md ("Benchmark") has the command and the
//! figures.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use chat_engine::{Config, Engine, Millis, Output, SocketId};
use chat_wire::ConversationId;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

const CONVERSATION: ConversationId = ConversationId(5);

fn message(seq: i64) -> String {
    format!(
        r#"{{"id":{seq},"conversationId":{},"seq":{seq},"senderId":2,"text":"message number {seq}","clientMessageId":null,"createdAt":"2026-01-01T00:00:00.000Z"}}"#,
        CONVERSATION.0
    )
}

fn drain(engine: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| engine.poll_output()).collect()
}

/// A joined engine whose timeline holds seqs 1 to 10,000, at its capacity.
fn timeline_of_10000() -> Engine {
    let config = Config {
        timeline_capacity: 10_000,
        ..Config::new("http://chat.test")
    };
    let mut engine = Engine::new(config, 1);
    let at = Millis(1);
    engine.connect(at);
    engine.handle_token(at, Some("t".into()));
    let socket = SocketId(0);
    engine.handle_frame(
        at,
        socket,
        r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#,
    );
    engine.handle_frame(at, socket, r#"40{"sid":"b"}"#);
    drain(&mut engine);
    engine.join(at, CONVERSATION);
    let ack = drain(&mut engine)
        .iter()
        .find_map(|o| match o {
            Output::SendFrame { text, .. } => text
                .strip_prefix("42")
                .and_then(|t| t.split('[').next())
                .map(str::to_owned),
            _ => None,
        })
        .unwrap();
    // Joined empty; seq 10,000 shows a gap, which the catch-up page fills (as in the
    // native bench: a catch-up page does not widen the window).
    let answer = format!(r#"43{ack}[{{"success":true,"onlineUserIds":[],"lastSeq":0}}]"#);
    engine.handle_frame(at, socket, &answer);
    drain(&mut engine);
    let gap = format!(r#"42["message:new",{}]"#, message(10_000));
    engine.handle_frame(at, socket, &gap);
    let request = drain(&mut engine)
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::Http(request) => Some(request.id),
            _ => None,
        })
        .unwrap();
    let messages: Vec<String> = (1..=10_000).map(message).collect();
    let page = format!(r#"{{"messages":[{}],"hasMore":false}}"#, messages.join(","));
    engine.handle_http_response(Millis(2), request, 200, &page);
    drain(&mut engine);
    assert_eq!(
        engine.conversation(CONVERSATION).unwrap().messages.len(),
        10_000
    );
    engine
}

#[wasm_bindgen_test]
fn incoming_1000_into_10000_in_the_browser() {
    let mut engine = timeline_of_10000();
    let mut next = 10_001;
    let mut rounds = Vec::new();
    for _ in 0..21 {
        let frames: Vec<String> = (next..next + 1000)
            .map(|seq| format!(r#"42["message:new",{}]"#, message(seq)))
            .collect();
        next += 1000;
        let started = now();
        for frame in &frames {
            engine.handle_frame(Millis(5), SocketId(0), frame);
            drain(&mut engine);
        }
        rounds.push(now() - started);
    }
    let view = engine.conversation(CONVERSATION).unwrap();
    assert_eq!(view.messages.len(), 10_000);
    assert_eq!(view.messages.last().unwrap().seq, Some(next - 1));
    rounds.sort_by(f64::total_cmp);
    console_log!(
        "incoming_1000_into_10000 (wasm, Chromium): median {:.2} ms, fastest {:.2} ms, slowest {:.2} ms over {} rounds",
        rounds[rounds.len() / 2],
        rounds[0],
        rounds[rounds.len() - 1],
        rounds.len()
    );
}
