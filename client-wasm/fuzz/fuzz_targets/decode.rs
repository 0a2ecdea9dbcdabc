//! The frame decoder must return an error, never panic, on any text; what it decodes
//! must encode and decode to the same packet.
#![no_main]

use client_wasm::protocol::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(packet) = decode(text)
    {
        assert_eq!(decode(&packet.encode()), Ok(packet));
    }
});
