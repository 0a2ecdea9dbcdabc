//! Any frames, on a connected engine: no panic.
#![no_main]

use chat_engine::{Config, Engine, Millis, SocketId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut engine = Engine::new(Config::default(), 1);
    engine.connect(Millis(0));
    engine.handle_token(Millis(0), Some("t".into()));
    engine.join(Millis(0), chat_wire::ConversationId(1));
    let socket = SocketId(0);
    engine.handle_frame(
        Millis(1),
        socket,
        r#"0{"sid":"s","pingInterval":25000,"pingTimeout":20000}"#,
    );
    engine.handle_frame(Millis(2), socket, r#"40{"sid":"x"}"#);
    let text = String::from_utf8_lossy(data);
    for (i, frame) in text.split('\n').enumerate() {
        engine.handle_frame(Millis(3 + i as u64), socket, frame);
        while engine.poll_output().is_some() {}
    }
    engine.handle_timeout(Millis(1_000_000));
});
