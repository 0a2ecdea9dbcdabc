//! Generators of hostile input: JSON weighted towards the values where parsers and
//! arithmetic break (integers at the ends of i64, floats, NUL and bidi characters, wrong
//! types) and towards the shapes the server reads, so random cases get past the first
//! type check.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Numbers where arithmetic and conversions break.
pub fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(0.5)),
        Just(json!(1e300)),
        Just(json!(-0.0)),
        any::<i64>().prop_map(Value::from),
    ]
}

/// Strings that have broken servers: control and format characters, huge digit runs,
/// times out of range, SQL and JSON metacharacters.
pub fn edge_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\u{0}".to_owned()),
        Just("a\u{0}b".to_owned()),
        Just("\u{202e}evil\u{200b}".to_owned()),
        Just(" ".repeat(300)),
        Just("9".repeat(30)),
        Just(i64::MAX.to_string()),
        Just("-1".to_owned()),
        Just("9999-12-31T23:59:59.999Z".to_owned()),
        Just("+275760-09-13T00:00:00Z".to_owned()),
        Just("'; DROP TABLE users; --".to_owned()),
        Just("%00%ff".to_owned()),
        Just("\u{fffd}\u{10ffff}".to_owned()),
        "\\PC{0,24}",
        ".{0,12}",
    ]
}

pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "clientMessageId",
            "text",
            "conversationId",
            "participantIds",
            "title",
            "username",
            "password",
            "seq",
            "messageId",
            "token",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z]{0,6}",
    ]
}

/// Any JSON value.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        edge_number(),
        edge_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// `value`, or something hostile in its place.
pub fn or_hostile(value: Value) -> impl Strategy<Value = Value> {
    prop_oneof![2 => Just(value), 1 => json_value()]
}

/// A `message:send` / REST send payload, each field right or hostile.
pub fn send_payload() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        Just(json!(uuid::Uuid::new_v4().to_string())),
        "[0-9a-f-]{0,40}".prop_map(Value::from),
        json_value(),
    ];
    let text = prop_oneof![
        edge_text().prop_map(Value::from),
        Just(json!("x".repeat(5000))),
        json_value()
    ];
    (id, text, prop::bool::ANY).prop_map(|(id, text, extra)| {
        let mut payload = json!({ "clientMessageId": id, "text": text });
        if extra {
            payload["unexpected"] = json!([1, 2]);
        }
        payload
    })
}
