//! The frame decoder must return an error, never panic, on any text; what it decodes
//! must encode and decode to the same packet. Exactly the same: the engine's JSON value
//! keeps integers as integers and any other number as the text it was read from.
#![no_main]

use chat_engine::protocol::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(packet) = decode(text)
    {
        let again = decode(&packet.encode()).expect("an encoded packet decodes");
        assert_eq!(packet, again);
    }
});
