//! The frame decoder must return an error, never panic, on any text; what it decodes
//! must encode and decode to the same packet (numbers that are not integers within a
//! relative 1e-15: the number parser is serde_json's fast one, without `float_roundtrip`,
//! which the wasm size budget cannot afford, and wire ids and seqs are integers anyway).
#![no_main]

use client_wasm::protocol::{Packet, SocketPacket, decode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(packet) = decode(text)
    {
        let again = decode(&packet.encode()).expect("an encoded packet decodes");
        assert!(same_packet(&packet, &again), "{packet:?} != {again:?}");
    }
});

fn same_packet(a: &Packet, b: &Packet) -> bool {
    match (a, b) {
        (Packet::Message(x), Packet::Message(y)) => match (x, y) {
            (SocketPacket::Connect(Some(p)), SocketPacket::Connect(Some(q))) => same_value(p, q),
            (
                SocketPacket::Event { ack: a1, name: n1, args: x },
                SocketPacket::Event { ack: a2, name: n2, args: y },
            ) => a1 == a2 && n1 == n2 && same_values(x, y),
            (SocketPacket::Ack { id: i1, args: x }, SocketPacket::Ack { id: i2, args: y }) => {
                i1 == i2 && same_values(x, y)
            }
            _ => x == y,
        },
        _ => a == b,
    }
}

fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(p), Some(q)) => p == q || (p - q).abs() <= p.abs().max(q.abs()) * 1e-15,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => same_values(x, y),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}
