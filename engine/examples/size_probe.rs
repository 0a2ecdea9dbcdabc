//! Links the whole engine into a wasm binary so its size can be measured before the
//! bindings exist: `cargo build -p chat-engine --example size_probe --target
//! wasm32-unknown-unknown --profile wasm-release`, then gzip the `.wasm`.

use chat_engine::{Config, Engine, Millis, SocketId};
use std::hint::black_box;

fn main() {
    let mut engine = Engine::new(Config::new(black_box("http://x")), black_box(1));
    engine.connect(Millis(0));
    engine.handle_token(Millis(1), black_box(Some("t".into())));
    for frame in black_box(["0{}", "40{}", "42[]"]) {
        engine.handle_frame(Millis(2), SocketId(0), frame);
    }
    let _ = engine.send(Millis(3), chat_wire::ConversationId(1), black_box("hi"));
    let _ = engine.restore_outbox(Millis(4), black_box("{}"));
    engine.handle_http_response(Millis(5), chat_engine::RequestId(0), 200, black_box("{}"));
    engine.handle_timeout(Millis(6));
    engine.handle_socket_closed(Millis(7), SocketId(0));
    engine.typing(Millis(8), chat_wire::ConversationId(1));
    engine.load_older(Millis(9), chat_wire::ConversationId(1));
    while let Some(output) = engine.poll_output() {
        black_box(output);
    }
    black_box(engine.save_outbox());
    black_box(engine.snapshot());
}
