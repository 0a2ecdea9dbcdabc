//! The Engine.IO v4 / Socket.IO v5 text codec, WebSocket transport only, namespace `/`.
//!
//! One WebSocket text frame is one Engine.IO packet: a type digit and a payload.
//! Engine.IO `4` (message) carries a Socket.IO packet: a type digit, an optional ack id,
//! and JSON. Examples: `0{"sid":…,"pingInterval":25000,…}` (open), `2` (ping), `3` (pong),
//! `40{"token":…}` (CONNECT with auth), `40{"sid":…}` (CONNECT ack),
//! `44{"message":…}` (CONNECT_ERROR), `42["message:new",{…}]` (EVENT),
//! `425["message:send",3,{…}]` (EVENT asking for ack 5), `435[{…}]` (ACK 5), `41`
//! (DISCONNECT), `1` (close).
//!
//! [`decode`] parses, never panics, and returns a [`DecodeError`] for anything it does
//! not understand; [`Packet::encode`] writes. Both directions are here so the test
//! server speaks the same codec (the real server uses socketioxide's).
//! Binary packets (`45`, `46`) and other namespaces are refused: this product sends none.

use crate::json::{self, Value};
use crate::text;
use std::fmt;

/// One Engine.IO packet, as one WebSocket text frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    /// `0`: the server's handshake.
    Open(OpenPacket),
    /// `1`: the transport is closing.
    Close,
    /// `2`: heartbeat from the server (Engine.IO v4: the server pings); may carry data.
    Ping(String),
    /// `3`: the answer to a ping, echoing its data.
    Pong(String),
    /// `6`: nothing.
    Noop,
    /// `4`: a Socket.IO packet.
    Message(SocketPacket),
}

/// The Engine.IO open packet's JSON (read and written by hand in this module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenPacket {
    pub sid: String,
    /// Empty when missing.
    pub upgrades: Vec<String>,
    /// How often the server pings, in milliseconds.
    pub ping_interval: u64,
    /// How long the server waits for a pong, in milliseconds.
    pub ping_timeout: u64,
    /// Largest frame the server accepts, in bytes (1,000,000 when missing).
    pub max_payload: u64,
}

fn default_max_payload() -> u64 {
    1_000_000
}

/// An ack id: the number between a Socket.IO type digit and its JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AckId(pub u64);

/// A Socket.IO v5 packet on namespace `/`.
#[derive(Clone, Debug, PartialEq)]
pub enum SocketPacket {
    /// `0`: CONNECT. Client → server carries the auth payload, server → client `{"sid"}`.
    Connect(Option<Value>),
    /// `1`: DISCONNECT.
    Disconnect,
    /// `2`: EVENT `[name, ...args]`, asking for an ack when `ack` is set.
    Event {
        ack: Option<AckId>,
        name: String,
        args: Vec<Value>,
    },
    /// `3`: ACK of the event that carried `id`.
    Ack { id: AckId, args: Vec<Value> },
    /// `4`: CONNECT_ERROR `{"message"}`.
    ConnectError { message: String },
}

/// Why a frame could not be decoded. The engine logs it and ignores the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// An empty frame.
    Empty,
    /// A first character that is no Engine.IO packet type.
    UnknownEngineType(char),
    /// A Socket.IO type digit that is not 0–6, or nothing after `4`.
    UnknownSocketType(Option<char>),
    /// `45`/`46`: binary attachments, which this product never sends.
    Binary,
    /// A namespace other than `/`.
    Namespace(String),
    /// An ack id that is not a number, or too large.
    BadAckId,
    /// A packet that needs an ack id has none.
    MissingAckId,
    /// The payload is not the JSON its packet type needs.
    BadPayload(&'static str),
    /// Engine.IO `5` (upgrade): never valid on a WebSocket-only connection.
    Upgrade,
}

impl DecodeError {
    /// What went wrong, in words (the engine's warnings; no `core::fmt`, see [`crate::text`],
    /// and no `{:?}`, whose escaping costs ~2 KB of wasm).
    pub fn describe(&self) -> String {
        match self {
            DecodeError::Empty => "empty frame".into(),
            DecodeError::UnknownEngineType(c) => text!("unknown Engine.IO type '", c, "'"),
            DecodeError::UnknownSocketType(Some(c)) => text!("unknown Socket.IO type '", c, "'"),
            DecodeError::UnknownSocketType(None) => "Socket.IO packet without a type".into(),
            DecodeError::Binary => "binary Socket.IO packets are not supported".into(),
            DecodeError::Namespace(ns) => text!("unsupported namespace \"", ns, "\""),
            DecodeError::BadAckId => "malformed ack id".into(),
            DecodeError::MissingAckId => "ack without an id".into(),
            DecodeError::BadPayload(what) => text!("bad payload: ", what),
            DecodeError::Upgrade => "unexpected upgrade packet".into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for DecodeError {}

/// Parses one WebSocket text frame.
pub fn decode(frame: &str) -> Result<Packet, DecodeError> {
    let mut chars = frame.chars();
    let kind = chars.next().ok_or(DecodeError::Empty)?;
    let rest = chars.as_str();
    match kind {
        '0' => open_packet(rest)
            .map(Packet::Open)
            .ok_or(DecodeError::BadPayload("open packet")),
        '1' => Ok(Packet::Close),
        '2' => Ok(Packet::Ping(rest.to_owned())),
        '3' => Ok(Packet::Pong(rest.to_owned())),
        '4' => decode_socket(rest).map(Packet::Message),
        '5' => Err(DecodeError::Upgrade),
        '6' => Ok(Packet::Noop),
        other => Err(DecodeError::UnknownEngineType(other)),
    }
}

impl Packet {
    /// Writes the packet as one WebSocket text frame.
    pub fn encode(&self) -> String {
        match self {
            Packet::Open(open) => {
                let upgrades = open.upgrades.iter().map(|u| u.as_str().into()).collect();
                let open = json::object(vec![
                    ("sid", open.sid.as_str().into()),
                    ("upgrades", Value::Array(upgrades)),
                    ("pingInterval", open.ping_interval.into()),
                    ("pingTimeout", open.ping_timeout.into()),
                    ("maxPayload", open.max_payload.into()),
                ]);
                format!("0{}", json::write(&open))
            }
            Packet::Close => "1".to_owned(),
            Packet::Ping(data) => text!("2", data),
            Packet::Pong(data) => text!("3", data),
            Packet::Noop => "6".to_owned(),
            Packet::Message(packet) => packet.encode(),
        }
    }
}

impl SocketPacket {
    /// Writes the packet with its Engine.IO `4` prefix.
    pub fn encode(&self) -> String {
        match self {
            SocketPacket::Connect(None) => "40".to_owned(),
            SocketPacket::Connect(Some(auth)) => text!("40", json::write(auth)),
            SocketPacket::Disconnect => "41".to_owned(),
            SocketPacket::Event { ack, name, args } => event_frame(*ack, name, args),
            SocketPacket::Ack { id, args } => text!("43", id.0, json_list(None, args)),
            SocketPacket::ConnectError { message } => {
                format!(
                    "44{}",
                    json::write(&json::object(vec![("message", message.as_str().into())]))
                )
            }
        }
    }
}

/// Encodes an event with arguments, as the engine emits them.
pub fn encode_event(ack: Option<AckId>, name: &str, args: Vec<Value>) -> String {
    event_frame(ack, name, &args)
}

/// The frames the engine itself writes besides events, without building a [`Packet`]
/// (whose `encode` would keep every arm, the open packet's included, in the wasm).
pub(crate) fn connect_frame(auth: &Value) -> String {
    text!("40", json::write(auth))
}

pub(crate) fn pong_frame(data: &str) -> String {
    text!("3", data)
}

pub(crate) const DISCONNECT_FRAME: &str = "41";

fn event_frame(ack: Option<AckId>, name: &str, args: &[Value]) -> String {
    let mut frame = text!("42");
    if let Some(id) = ack {
        crate::text::Piece::push_to(&id.0, &mut frame);
    }
    json_list_into(&mut frame, Some(name), args);
    frame
}

/// `[name?, ...args]`, written without cloning the arguments into one `Value`.
fn json_list(name: Option<&str>, args: &[Value]) -> String {
    let mut out = String::new();
    json_list_into(&mut out, name, args);
    out
}

fn json_list_into(out: &mut String, name: Option<&str>, args: &[Value]) {
    out.push('[');
    if let Some(name) = name {
        json::write_string(out, name);
    }
    for (index, arg) in args.iter().enumerate() {
        if index > 0 || name.is_some() {
            out.push(',');
        }
        json::write_into(out, arg);
    }
    out.push(']');
}

/// The message of a `42["message:new",{…}]` frame, read without a `Value` tree
/// ([`json::message_new_args`]); `None` for any other frame, which [`decode`] reads.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn message_new(frame: &str) -> Option<chat_wire::Message> {
    let args = frame
        .strip_prefix("42[\"")?
        .strip_prefix(chat_wire::event::MESSAGE_NEW)?
        .strip_prefix("\",")?;
    json::message_new_args(args)
}

fn decode_socket(body: &str) -> Result<SocketPacket, DecodeError> {
    let mut chars = body.chars();
    let kind = chars.next();
    let mut rest = chars.as_str();
    match kind {
        Some('0'..='4') => {}
        Some('5' | '6') => return Err(DecodeError::Binary),
        other => return Err(DecodeError::UnknownSocketType(other)),
    }
    if let Some(after_slash) = rest.strip_prefix('/') {
        // `/ns,` prefix; `/` alone (written as `/,`) is the default namespace.
        let end = after_slash.find(',').unwrap_or(after_slash.len());
        let namespace = &after_slash[..end];
        if !namespace.is_empty() {
            return Err(DecodeError::Namespace(text!("/", namespace)));
        }
        rest = after_slash.get(end + 1..).unwrap_or("");
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (id, json) = rest.split_at(digits);
    let ack = if id.is_empty() {
        None
    } else {
        Some(AckId(id.parse().map_err(|_| DecodeError::BadAckId)?))
    };
    match kind {
        Some('0') => {
            if ack.is_some() {
                return Err(DecodeError::BadAckId);
            }
            if json.is_empty() {
                return Ok(SocketPacket::Connect(None));
            }
            match json::parse(json) {
                Some(value) if value.is_object() => Ok(SocketPacket::Connect(Some(value))),
                _ => Err(DecodeError::BadPayload("connect payload")),
            }
        }
        Some('1') => Ok(SocketPacket::Disconnect),
        Some('2') => {
            let mut args = json_array(json, "event arguments")?;
            if args.is_empty() {
                return Err(DecodeError::BadPayload("event without a name"));
            }
            let Value::String(name) = args.remove(0) else {
                return Err(DecodeError::BadPayload("event name"));
            };
            Ok(SocketPacket::Event { ack, name, args })
        }
        Some('3') => {
            let id = ack.ok_or(DecodeError::MissingAckId)?;
            let args = json_array(json, "ack arguments")?;
            Ok(SocketPacket::Ack { id, args })
        }
        _ => json::parse(json)
            .as_ref()
            .and_then(Value::as_object)
            .and_then(|o| json::string(o, "message"))
            .map(|message| SocketPacket::ConnectError { message })
            .ok_or(DecodeError::BadPayload("connect error")),
    }
}

/// The open packet's JSON, read by hand (see [`crate::json`] for why not serde derive).
fn open_packet(text: &str) -> Option<OpenPacket> {
    let value = json::parse(text)?;
    let o = value.as_object()?;
    let upgrades = match o.get("upgrades") {
        None => Vec::new(),
        Some(list) => list
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
    };
    Some(OpenPacket {
        sid: json::string(o, "sid")?,
        upgrades,
        ping_interval: json::optional_u64(o, "pingInterval")??,
        ping_timeout: json::optional_u64(o, "pingTimeout")??,
        max_payload: json::optional_u64(o, "maxPayload")?.unwrap_or_else(default_max_payload),
    })
}

fn json_array(text: &str, what: &'static str) -> Result<Vec<Value>, DecodeError> {
    match json::parse(text) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(DecodeError::BadPayload(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // proptest is a native-only dev-dependency (its getrandom does not build for wasm32).
    #[cfg(not(target_arch = "wasm32"))]
    use proptest::prelude::*;

    /// `serde_json::json!`, as the engine's [`Value`].
    macro_rules! json {
        ($($value:tt)+) => {
            crate::json::from_serde(&serde_json::json!($($value)+))
        };
    }

    fn event(ack: Option<u64>, name: &str, args: Vec<Value>) -> Packet {
        Packet::Message(SocketPacket::Event {
            ack: ack.map(AckId),
            name: name.into(),
            args,
        })
    }

    #[test]
    fn decodes_the_open_packet() {
        let frame = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let Ok(Packet::Open(open)) = decode(frame) else {
            panic!("not an open packet")
        };
        assert_eq!(open.sid, "abc");
        assert_eq!(open.ping_interval, 25000);
        assert_eq!(open.ping_timeout, 20000);
        assert_eq!(open.max_payload, 1_000_000);
        assert_eq!(
            decode(&Packet::Open(open.clone()).encode()),
            Ok(Packet::Open(open))
        );
    }

    #[test]
    fn decodes_engine_control_packets() {
        assert_eq!(decode("1"), Ok(Packet::Close));
        assert_eq!(decode("2"), Ok(Packet::Ping(String::new())));
        assert_eq!(decode("2probe"), Ok(Packet::Ping("probe".into())));
        assert_eq!(decode("3"), Ok(Packet::Pong(String::new())));
        assert_eq!(decode("6"), Ok(Packet::Noop));
        assert_eq!(Packet::Pong(String::new()).encode(), "3");
    }

    #[test]
    fn encodes_connect_with_the_auth_payload_and_decodes_its_ack() {
        let connect = SocketPacket::Connect(Some(json!({"token": "t"})));
        assert_eq!(connect.encode(), r#"40{"token":"t"}"#);
        assert_eq!(
            decode(r#"40{"sid":"x1"}"#),
            Ok(Packet::Message(SocketPacket::Connect(Some(
                json!({"sid": "x1"})
            ))))
        );
        assert_eq!(
            decode("40"),
            Ok(Packet::Message(SocketPacket::Connect(None)))
        );
        assert_eq!(
            decode(r#"4/,{"sid":"x"}"#),
            Err(DecodeError::UnknownSocketType(Some('/')))
        );
    }

    #[test]
    fn decodes_connect_error_disconnect_and_acks() {
        assert_eq!(
            decode(r#"44{"message":"Invalid or expired token"}"#),
            Ok(Packet::Message(SocketPacket::ConnectError {
                message: "Invalid or expired token".into()
            }))
        );
        assert_eq!(decode("41"), Ok(Packet::Message(SocketPacket::Disconnect)));
        assert_eq!(
            decode(r#"4312[{"success":true}]"#),
            Ok(Packet::Message(SocketPacket::Ack {
                id: AckId(12),
                args: vec![json!({"success": true})]
            }))
        );
    }

    #[test]
    fn decodes_events_with_and_without_ack_ids() {
        assert_eq!(
            decode(r#"42["user:online",7]"#),
            Ok(event(None, "user:online", vec![json!(7)]))
        );
        assert_eq!(
            decode(r#"429["conversation:join",3]"#),
            Ok(event(Some(9), "conversation:join", vec![json!(3)]))
        );
        assert_eq!(
            encode_event(
                Some(AckId(5)),
                "message:send",
                vec![json!(3), json!({"text": "hi"})]
            ),
            r#"425["message:send",3,{"text":"hi"}]"#
        );
        assert_eq!(
            decode(r#"42/,["a"]"#),
            Ok(event(None, "a", vec![])),
            "the default namespace may be written out"
        );
    }

    #[test]
    fn refuses_malformed_and_truncated_frames() {
        let cases: &[(&str, DecodeError)] = &[
            ("", DecodeError::Empty),
            ("x", DecodeError::UnknownEngineType('x')),
            ("9", DecodeError::UnknownEngineType('9')),
            ("0", DecodeError::BadPayload("open packet")),
            (
                r#"0{"sid":"a","pingInterval":1"#,
                DecodeError::BadPayload("open packet"),
            ),
            ("4", DecodeError::UnknownSocketType(None)),
            ("47", DecodeError::UnknownSocketType(Some('7'))),
            ("45-1[]", DecodeError::Binary),
            ("46", DecodeError::Binary),
            ("42", DecodeError::BadPayload("event arguments")),
            (
                r#"42["message:new""#,
                DecodeError::BadPayload("event arguments"),
            ),
            ("42[]", DecodeError::BadPayload("event without a name")),
            ("42[1,2]", DecodeError::BadPayload("event name")),
            (r#"42{"a":1}"#, DecodeError::BadPayload("event arguments")),
            ("43[]", DecodeError::MissingAckId),
            ("4399999999999999999999[]", DecodeError::BadAckId),
            ("435", DecodeError::BadPayload("ack arguments")),
            ("44", DecodeError::BadPayload("connect error")),
            ("44{}", DecodeError::BadPayload("connect error")),
            ("40[1]", DecodeError::BadPayload("connect payload")),
            ("401{}", DecodeError::BadAckId),
            (r#"42/admin,["a"]"#, DecodeError::Namespace("/admin".into())),
            ("5", DecodeError::Upgrade),
        ];
        for (frame, error) in cases {
            assert_eq!(decode(frame).as_ref(), Err(error), "frame {frame:?}");
        }
    }

    #[test]
    fn multibyte_first_characters_are_errors_not_panics() {
        assert_eq!(decode("é"), Err(DecodeError::UnknownEngineType('é')));
        assert_eq!(decode("4é"), Err(DecodeError::UnknownSocketType(Some('é'))));
        assert!(decode("42/é").is_err());
    }

    /// What the general path makes of a frame's message: the decoded event's first
    /// argument read as a stored message (`None` if the frame or the message is refused).
    #[cfg(not(target_arch = "wasm32"))]
    fn general_message(frame: &str) -> Option<chat_wire::Message> {
        match decode(frame) {
            Ok(Packet::Message(SocketPacket::Event {
                ack: None,
                name,
                args,
            })) if name == chat_wire::event::MESSAGE_NEW => json::message(args.first()?),
            _ => None,
        }
    }

    /// A JSON value of any shape for a message's fields: the right types, wrong ones, and
    /// the numbers and strings that are easy to get wrong.
    #[cfg(not(target_arch = "wasm32"))]
    fn any_field_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            4 => any::<i64>().prop_map(|n| n.to_string()),
            1 => Just("18446744073709551615".to_owned()),
            1 => Just("1.5".to_owned()),
            1 => Just("-0".to_owned()),
            1 => Just("1e2".to_owned()),
            2 => Just("null".to_owned()),
            1 => Just("true".to_owned()),
            4 => ".{0,8}".prop_map(|t| serde_json::Value::String(t).to_string()),
            1 => Just(r#""\u00e9\n\"""#.to_owned()),
            1 => Just(r#""\ud800""#.to_owned()),
            1 => Just("\"raw\u{1}control\"".to_owned()),
        ];
        leaf.prop_recursive(2, 6, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(inner, 0..3).prop_map(|v| {
                    let members: Vec<String> = v
                        .iter()
                        .enumerate()
                        .map(|(i, x)| format!("\"k{i}\":{x}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// A key: the message's own, one written with an escape, a near miss, or another.
    #[cfg(not(target_arch = "wasm32"))]
    fn any_key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec![
                "id", "conversationId", "seq", "senderId", "text", "clientMessageId", "createdAt",
            ])
            .prop_map(|k| format!("\"{k}\"")),
            1 => Just(r#""\u0069d""#.to_owned()),
            1 => Just(r#""seq\u0000""#.to_owned()),
            1 => Just("\"se\u{1}q\"".to_owned()),
            1 => Just(r#""Seq""#.to_owned()),
            1 => Just(r#""extra""#.to_owned()),
        ]
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The hot path and the general path read every `message:new` frame alike: what the
        /// hot path takes, the general path takes as the same message; and a frame as the
        /// server writes it (compact, one argument, plain keys) the hot path always takes
        /// when the general path does.
        #[test]
        fn the_hot_path_reads_messages_as_the_general_path_does(
            members in prop::collection::vec((any_key(), any_field_value()), 0..6),
            space in prop_oneof![3 => Just(""), 1 => Just(" "), 1 => Just("\n\t ")],
            tail in prop_oneof![
                6 => Just("]"),
                1 => prop::sample::select(vec![" ] ", "],", ",{}]", "", "]]", "] x"]),
            ],
            canonical in any::<bool>(),
        ) {
            let complete = [
                ("\"id\"", "7"), ("\"conversationId\"", "3"), ("\"seq\"", "12"),
                ("\"senderId\"", "2"), ("\"text\"", "\"hi\""), ("\"createdAt\"", "\"t\""),
            ];
            let mut members: Vec<(String, String)> = members;
            if canonical {
                // A whole message first, so that some frames are ones the server could send.
                let whole = complete.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
                members = whole.chain(members).collect();
            }
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{space}{k}{space}:{space}{v}{space}"))
                .collect();
            let frame = format!("42[\"message:new\",{space}{{{}}}{tail}", body.join(","));
            let fast = message_new(&frame);
            let general = general_message(&frame);
            if fast.is_some() {
                prop_assert_eq!(&fast, &general, "{}", frame);
            }
            let plain = space.is_empty()
                && tail == "]"
                && members.iter().all(|(k, _)| !k.contains('\\') && !k.contains('\u{1}'));
            if plain {
                prop_assert_eq!(&fast, &general, "{}", frame);
            }
        }

        #[test]
        fn decoder_never_panics_on_arbitrary_text(frame in ".{0,64}") {
            let _ = decode(&frame);
        }

        #[test]
        fn decoder_never_panics_on_protocol_like_text(frame in "[0-6]{1,2}[0-9/,]{0,4}[\\[\\]{}\":a-z0-9,]{0,24}") {
            let _ = decode(&frame);
        }

        #[test]
        fn events_round_trip(ack in proptest::option::of(0u64..1_000_000), name in "[a-z:]{1,12}", n in any::<i64>(), text in ".{0,20}") {
            let packet = event(ack, &name, vec![json!(n), json!({ "text": text })]);
            prop_assert_eq!(decode(&packet.encode()), Ok(packet));
        }
    }
}
