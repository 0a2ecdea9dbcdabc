//! Every JSON shape the engine reads or writes, in one place, by hand over a small
//! JSON [`Value`] of the engine's own.
//!
//! Why not `#[derive(Deserialize)]` on the wire types: each derived impl is a visitor
//! state machine of its own, and their error paths (`invalid type: floating point …`)
//! pull in serde's message formatting and float printing. In the size-budgeted wasm
//! build those cost far more than the protocol itself (docs/CLIENT.md, "Size"). Here
//! text is parsed once into a `Value` and fields are read with `as_i64`/`as_str`. The
//! rules are serde's: unknown fields are ignored, a missing or `null` optional field is
//! `None`, numbers must be integers in range, and an unknown error code is
//! [`ErrorCode::Unknown`]. A shape that does not fit is `None`; callers log a fixed text
//! instead of serde's error.
//!
//! Why not `serde_json::Value`: its `Map` is a `BTreeMap<String, Value>` and its numbers
//! come with float parsing and printing, ~4 KB gzipped of wasm for what the engine never
//! does (it reads integers only). [`Value`] reads and writes what serde_json does, with
//! objects as sorted `Vec`s and non-integer numbers kept as their JSON text.

use chat_wire::rest::{ApiError, ApiErrorBody, HistoryPage};
use chat_wire::socket::{
    Ack, AckFailure, Conversation, ConversationKind, ConversationRead, False, JoinAck, OkAck,
    ReadAck, ReadReceipt, ReadSeqs, SendAck, True, Typing,
};
use chat_wire::{ConversationId, ErrorCode, Message, MessageId, UserId};

use crate::engine::ListItem;
use crate::text::Piece;
use crate::vecmap::VecMap;

/// A JSON value, as the protocol carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Object),
}

/// A JSON number: integers as serde_json keeps them (`i64`, or `u64` above `i64::MAX`),
/// anything else (fractions, exponents, `-0`, integers beyond 64 bits) as its JSON text,
/// which is written back unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Number {
    Int(i64),
    UInt(u64),
    Text(String),
}

/// A JSON object, its keys sorted (as serde_json's `Map` keeps them, so objects are
/// written in the same order); a later duplicate key wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object(VecMap<String, Value>);

impl Object {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn insert(&mut self, key: String, value: Value) {
        self.0.insert(key, value);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }
}

impl Value {
    /// Parses JSON text as serde_json does (`None` if it is not JSON).
    pub fn parse(text: &str) -> Option<Value> {
        parse(text)
    }

    /// Compact JSON text, as serde_json writes it.
    pub fn to_json(&self) -> String {
        write(self)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(Number::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(Number::Int(n)) => u64::try_from(*n).ok(),
            Value::Number(Number::UInt(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// An object's field (`None` for a missing field or a value that is no object).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::String(text)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(Number::Int(n))
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Number(i64::try_from(n).map_or(Number::UInt(n), Number::Int))
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Number(Number::Int(i64::from(n)))
    }
}

/// Parses JSON text as `serde_json::from_str::<Value>` does (RFC 8259, nesting up to
/// 128, a later duplicate key wins, numbers beyond `f64`'s range refused); `None` if it
/// is not JSON.
///
/// Hand-written rather than serde_json's parser, whose generic `Deserializer` and
/// visitor machinery cost more than this whole reader (docs/CLIENT.md, "Size").
pub(crate) fn parse(text: &str) -> Option<Value> {
    let mut reader = Reader {
        text: text.as_bytes(),
        at: 0,
    };
    let value = reader.value(MAX_DEPTH)?;
    reader.skip_space();
    (reader.at == text.len()).then_some(value)
}

/// Whether a number (its grammar checked) is beyond `f64`'s range, which serde_json
/// refuses: at least 2^1024 - 2^970, from where `f64` rounds to infinity. Decided on
/// the digits, without parsing a float (core's float parser costs kilobytes of wasm).
fn beyond_f64(text: &str) -> bool {
    /// 2^1024 - 2^970, 309 digits.
    const LIMIT: &str = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";
    let text = text.trim_start_matches('-');
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(e) => (&text[..e], &text[e + 1..]),
        None => (text, "0"),
    };
    let exponent = exponent.trim_start_matches('+');
    let (exp_negative, exp_digits) = match exponent.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, exponent),
    };
    let exp = exp_digits.bytes().fold(0i64, |n, d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    let exp = if exp_negative { -exp } else { exp };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = int.chars().chain(frac.chars()).collect();
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return false; // zero
    }
    // The power of ten of the first significant digit.
    let leading_zeros = (digits.len() - significant.len()) as i64;
    let power = (int.len() as i64 - 1 - leading_zeros).saturating_add(exp);
    match power.cmp(&308) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => significant.trim_end_matches('0') >= LIMIT,
    }
}

/// serde_json's recursion limit.
const MAX_DEPTH: u32 = 128;

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    /// Skips whitespace, then takes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word.as_bytes()).then(|| {
            self.at = end;
            value
        })
    }

    fn value(&mut self, depth: u32) -> Option<Value> {
        self.skip_space();
        match self.peek()? {
            b'n' => self.literal("null", Value::Null),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'[' => {
                let depth = depth.checked_sub(1).filter(|d| *d > 0)?;
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth)?);
                        if self.eat(b']') {
                            break;
                        }
                        self.eat(b',').then_some(())?;
                    }
                }
                Some(Value::Array(items))
            }
            b'{' => {
                let mut map = Object::default();
                self.members(depth, |reader, depth| {
                    let key = reader.string()?;
                    reader.eat(b':').then_some(())?;
                    map.insert(key, reader.value(depth)?);
                    Some(())
                })?;
                Some(Value::Object(map))
            }
            _ => self.number(),
        }
    }

    /// An object, the reader on its `{`: `member` reads each `"key": value` (given the
    /// depth left for the value).
    fn members(
        &mut self,
        depth: u32,
        mut member: impl FnMut(&mut Self, u32) -> Option<()>,
    ) -> Option<()> {
        (self.peek()? == b'{').then_some(())?;
        let depth = depth.checked_sub(1).filter(|d| *d > 0)?;
        self.at += 1;
        if !self.eat(b'}') {
            loop {
                self.skip_space();
                member(self, depth)?;
                if self.eat(b'}') {
                    break;
                }
                self.eat(b',').then_some(())?;
            }
        }
        Some(())
    }

    /// A key without escapes or control characters, as the bytes between its quotes
    /// (`None` for any other, which only the general reader takes).
    #[cfg(not(target_arch = "wasm32"))]
    fn plain_key(&mut self) -> Option<&'a [u8]> {
        (self.peek()? == b'"').then_some(())?;
        let start = self.at + 1;
        let end = start + self.text.get(start..)?.iter().position(|&b| b == b'"')?;
        let key = self.text.get(start..end)?;
        key.iter().all(|&b| b != b'\\' && b >= 0x20).then_some(())?;
        self.at = end + 1;
        Some(key)
    }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        self.at += usize::from(negative);
        let int_start = self.at;
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let integer = self.text.get(int_start..self.at)?;
        let mut plain = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.at_least_one_digit()?;
            plain = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.at_least_one_digit()?;
            plain = false;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).ok()?;
        if plain {
            // As serde_json: u64 if it fits, a negative i64 if it fits, else an f64
            // (`-0` too), which here is kept as text.
            let magnitude = integer.iter().try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            });
            let number = match (negative, magnitude) {
                (false, Some(n)) => Some(Value::from(n)),
                (true, Some(n)) if n > 0 && n <= 1 << 63 => {
                    Some(Value::Number(Number::Int(0i64.wrapping_sub_unsigned(n))))
                }
                _ => None,
            };
            if let Some(number) = number {
                return Some(number);
            }
        }
        (!beyond_f64(text)).then(|| Value::Number(Number::Text(text.to_owned())))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn at_least_one_digit(&mut self) -> Option<()> {
        matches!(self.peek(), Some(b'0'..=b'9')).then_some(())?;
        self.digits();
        Some(())
    }

    /// A string, the reader on its opening quote.
    fn string(&mut self) -> Option<String> {
        (self.peek()? == b'"').then_some(())?;
        self.at += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control character.
            let run = self.text[self.at..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            out.push_str(std::str::from_utf8(&self.text[self.at..self.at + run]).ok()?);
            self.at += run;
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return Some(out),
                b'\\' => {
                    let escape = self.peek()?;
                    self.at += 1;
                    out.push(match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// The character of `\uXXXX` (a surrogate pair takes two escapes; a lone surrogate
    /// is an error, as in serde_json).
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return char::from_u32(first);
        }
        (self.text.get(self.at..self.at + 2)? == b"\\u").then_some(())?;
        self.at += 2;
        let second = self.hex4()?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    }

    /// Four hex digits (by hand: `from_str_radix` costs more wasm than this).
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        let value = digits.iter().try_fold(0, |n, &b| {
            let digit = char::from(b).to_digit(16)?;
            Some(n << 4 | digit)
        })?;
        self.at += 4;
        Some(value)
    }
}

/// Writes `value` as compact JSON, as serde_json's `to_string` does (keys sorted, the
/// same escapes; a non-integer number as the text it was read from).
pub(crate) fn write(value: &Value) -> String {
    let mut out = String::new();
    write_into(&mut out, value);
    out
}

pub(crate) fn write_into(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(Number::Int(n)) => n.push_to(out),
        Value::Number(Number::UInt(n)) => n.push_to(out),
        Value::Number(Number::Text(text)) => out.push_str(text),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_into(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_into(out, item);
            }
            out.push('}');
        }
    }
}

pub(crate) fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(c as u8 >> 4)]));
                out.push(char::from(HEX[usize::from(c as u8 & 0xf)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{ key: value, … }` from fixed keys (one non-generic function: a `collect` into the
/// map would sort, and be instantiated per length).
pub(crate) fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut map = Object::default();
    for (key, value) in fields {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

fn i64_field(o: &Object, key: &str) -> Option<i64> {
    o.get(key)?.as_i64()
}

fn u64_field(o: &Object, key: &str) -> Option<u64> {
    o.get(key)?.as_u64()
}

fn string_field(o: &Object, key: &str) -> Option<String> {
    o.get(key)?.as_str().map(str::to_owned)
}

/// An optional field: missing or `null` is `Some(None)`; the wrong type is `None`.
fn optional<T>(o: &Object, key: &str, read: impl Fn(&Value) -> Option<T>) -> Option<Option<T>> {
    optional_value(o.get(key), read)
}

/// [`optional`] of a field however found.
fn optional_value<T>(
    field: Option<&Value>,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<Option<T>> {
    match field {
        None | Some(Value::Null) => Some(None),
        Some(value) => read(value).map(Some),
    }
}

fn bool_field(o: &Object, key: &str) -> Option<bool> {
    o.get(key)?.as_bool()
}

/// `{ "<userId>": lastReadSeq }`.
pub(crate) fn read_seqs(value: &Value) -> Option<ReadSeqs> {
    value
        .as_object()?
        .iter()
        .map(|(user, seq)| Some((user_key(user)?, seq.as_i64()?)))
        .collect()
}

/// A user id as an object key: decimal digits (by hand: `str::parse` costs a kilobyte
/// of wasm).
fn user_key(text: &str) -> Option<UserId> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id = text.bytes().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(UserId(id))
}

fn user_ids(value: &Value) -> Option<Vec<UserId>> {
    value.as_array()?.iter().map(user_id).collect()
}

/// A user id (`user:online`'s argument and every `…Id` of a user).
pub(crate) fn user_id(value: &Value) -> Option<UserId> {
    value.as_i64().map(UserId)
}

/// A stored message (history pages, list items, the HTTP fallback's answer).
pub(crate) fn message(value: &Value) -> Option<Message> {
    let o = value.as_object()?;
    message_of(|key| o.get(key))
}

/// A stored message from its fields, whatever holds them.
fn message_of<'v>(field: impl Fn(&str) -> Option<&'v Value>) -> Option<Message> {
    Some(Message {
        id: MessageId(field("id")?.as_i64()?),
        conversation_id: ConversationId(field("conversationId")?.as_i64()?),
        seq: field("seq")?.as_i64()?,
        sender_id: UserId(field("senderId")?.as_i64()?),
        text: field("text")?.as_str()?.to_owned(),
        client_message_id: optional_value(field("clientMessageId"), |v| {
            v.as_str().map(str::to_owned)
        })?,
        created_at: field("createdAt")?.as_str()?.to_owned(),
    })
}

/// A stored message's keys, in the order [`message_new_args`] keeps their values.
#[cfg(not(target_arch = "wasm32"))]
const MESSAGE_KEYS: [&str; 7] = [
    "id",
    "conversationId",
    "seq",
    "senderId",
    "text",
    "clientMessageId",
    "createdAt",
];

/// `message:new`'s arguments after its name, `{…}]` and nothing more, read straight into
/// a [`Message`]: the one event every chat message brings to every recipient, so it
/// skips the `Value` tree the general path builds (an `Object` with a `String` per key;
/// docs/CLIENT.md, "Incoming messages"). The same rules as [`message`]; `None` for
/// anything else (a key with escapes, more arguments), which the general path then reads
/// and, if it must, refuses. Native only, as its caller ([`crate::protocol::message_new`]).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn message_new_args(text: &str) -> Option<Message> {
    let mut reader = Reader {
        text: text.as_bytes(),
        at: 0,
    };
    let mut fields: [Option<Value>; MESSAGE_KEYS.len()] = Default::default();
    let at = |key: &[u8]| MESSAGE_KEYS.iter().position(|k| k.as_bytes() == key);
    reader.skip_space();
    // At the depth of the object in `[name, {…}]`, as the general path reads it.
    reader.members(MAX_DEPTH - 1, |reader, depth| {
        let key = reader.plain_key()?;
        reader.eat(b':').then_some(())?;
        let value = reader.value(depth)?;
        if let Some(at) = at(key) {
            fields[at] = Some(value); // a later duplicate wins, as in an `Object`
        }
        Some(())
    })?;
    (reader.eat(b']') && {
        reader.skip_space();
        reader.at == text.len()
    })
    .then_some(())?;
    message_of(|key| fields[at(key.as_bytes())?].as_ref())
}

pub(crate) fn typing(value: &Value) -> Option<Typing> {
    let o = value.as_object()?;
    Some(Typing {
        conversation_id: ConversationId(i64_field(o, "conversationId")?),
        user_id: UserId(i64_field(o, "userId")?),
    })
}

pub(crate) fn read_receipt(value: &Value) -> Option<ReadReceipt> {
    let o = value.as_object()?;
    Some(ReadReceipt {
        message_id: MessageId(i64_field(o, "messageId")?),
        conversation_id: ConversationId(i64_field(o, "conversationId")?),
        read_by: UserId(i64_field(o, "readBy")?),
        read_at: string_field(o, "readAt")?,
    })
}

pub(crate) fn conversation(value: &Value) -> Option<Conversation> {
    let o = value.as_object()?;
    Some(Conversation {
        id: ConversationId(i64_field(o, "id")?),
        kind: match o.get("kind")?.as_str()? {
            "direct" => ConversationKind::Direct,
            "group" => ConversationKind::Group,
            _ => return None,
        },
        title: optional(o, "title", |v| v.as_str().map(str::to_owned))?,
        participant_ids: user_ids(o.get("participantIds")?)?,
        last_seq: i64_field(o, "lastSeq")?,
    })
}

/// A failure code; one this build does not know is [`ErrorCode::Unknown`].
pub(crate) fn error_code(value: &Value) -> Option<ErrorCode> {
    Some(match value.as_str()? {
        "bad_request" => ErrorCode::BadRequest,
        "forbidden" => ErrorCode::Forbidden,
        "too_long" => ErrorCode::TooLong,
        "rate_limited" => ErrorCode::RateLimited,
        "unavailable" => ErrorCode::Unavailable,
        "internal" => ErrorCode::Internal,
        "unauthorized" => ErrorCode::Unauthorized,
        "not_found" => ErrorCode::NotFound,
        "conflict" => ErrorCode::Conflict,
        "payload_too_large" => ErrorCode::PayloadTooLarge,
        _ => ErrorCode::Unknown,
    })
}

fn ack_failure(o: &Object) -> Option<AckFailure> {
    if bool_field(o, "success")? {
        return None;
    }
    Some(AckFailure {
        success: False,
        error: string_field(o, "error")?,
        code: error_code(o.get("code")?)?,
        retry_after_ms: optional(o, "retryAfterMs", Value::as_u64)?,
    })
}

/// An ack: a failure (`success: false`, …) if it reads as one, else a success read by
/// `success` from an object whose `success` is `true` (serde's untagged `Ack<T>` order).
fn ack<T>(value: &Value, success: impl Fn(&Object) -> Option<T>) -> Option<Ack<T>> {
    let o = value.as_object()?;
    if let Some(failure) = ack_failure(o) {
        return Some(Ack::Failure(failure));
    }
    if !bool_field(o, "success")? {
        return None;
    }
    success(o).map(Ack::Success)
}

pub(crate) fn join_ack(value: &Value) -> Option<Ack<JoinAck>> {
    ack(value, |o| {
        Some(JoinAck {
            success: True,
            online_user_ids: user_ids(o.get("onlineUserIds")?)?,
            last_seq: i64_field(o, "lastSeq")?,
            // Absent from a server before v2 (SPEC.md section 9): nothing read.
            last_read_seq: optional(o, "lastReadSeq", Value::as_i64)?.unwrap_or(0),
            read_seqs: optional(o, "readSeqs", read_seqs)?.unwrap_or_default(),
        })
    })
}

pub(crate) fn send_ack(value: &Value) -> Option<Ack<SendAck>> {
    ack(value, |o| {
        Some(SendAck {
            success: True,
            message_id: MessageId(i64_field(o, "messageId")?),
            seq: i64_field(o, "seq")?,
            created_at: string_field(o, "createdAt")?,
        })
    })
}

pub(crate) fn ok_ack(value: &Value) -> Option<Ack<OkAck>> {
    ack(value, |_| Some(OkAck { success: True }))
}

/// Ack of `conversation:read`.
pub(crate) fn read_ack(value: &Value) -> Option<Ack<ReadAck>> {
    ack(value, |o| {
        Some(ReadAck {
            success: True,
            last_read_seq: i64_field(o, "lastReadSeq")?,
        })
    })
}

/// `conversation:read` from the server: a watermark moved.
pub(crate) fn conversation_read(value: &Value) -> Option<ConversationRead> {
    let o = value.as_object()?;
    Some(ConversationRead {
        conversation_id: ConversationId(i64_field(o, "conversationId")?),
        user_id: UserId(i64_field(o, "userId")?),
        last_read_seq: i64_field(o, "lastReadSeq")?,
    })
}

/// `GET /api/conversations`'s answer (SPEC.md section 9), as far as the engine reads it.
pub(crate) fn list_items(text: &str) -> Option<Vec<ListItem>> {
    parse(text)?.as_array()?.iter().map(list_item).collect()
}

fn list_item(value: &Value) -> Option<ListItem> {
    let o = value.as_object()?;
    Some(ListItem {
        conversation: conversation(value)?,
        last_message: optional(o, "lastMessage", message)?,
        last_read_seq: i64_field(o, "lastReadSeq")?,
        read_seqs: read_seqs(o.get("readSeqs")?)?,
        activity_at: string_field(o, "activityAt")?,
    })
}

/// `GET /api/conversations/:id/messages`'s answer.
pub(crate) fn history_page(text: &str) -> Option<HistoryPage> {
    let value = parse(text)?;
    let o = value.as_object()?;
    Some(HistoryPage {
        messages: o
            .get("messages")?
            .as_array()?
            .iter()
            .map(message)
            .collect::<Option<_>>()?,
        has_more: bool_field(o, "hasMore")?,
    })
}

/// A REST error body: `{ "error": { "code", "message" } }`.
pub(crate) fn api_error(text: &str) -> Option<ApiError> {
    let value = parse(text)?;
    let body = value.as_object()?.get("error")?.as_object()?;
    Some(ApiError {
        error: ApiErrorBody {
            code: error_code(body.get("code")?)?,
            message: string_field(body, "message")?,
        },
    })
}

/// The `retryAfterMs` of a REST error body (`rate_limited`, `unavailable`), if any.
pub(crate) fn api_retry_after(text: &str) -> Option<u64> {
    let value = parse(text)?;
    u64_field(
        value.as_object()?.get("error")?.as_object()?,
        "retryAfterMs",
    )
}

/// The `u64` field `key` of an object (the Engine.IO open packet's numbers), with
/// `Some(None)` when it is missing.
pub(crate) fn optional_u64(o: &Object, key: &str) -> Option<Option<u64>> {
    match o.get(key) {
        None => Some(None),
        Some(_) => u64_field(o, key).map(Some),
    }
}

/// A string field of an object.
pub(crate) fn string(o: &Object, key: &str) -> Option<String> {
    string_field(o, key)
}

/// `message:send`'s second argument and the HTTP fallback's body.
pub(crate) fn send_message(client_message_id: &str, text: &str) -> Value {
    object(vec![
        ("clientMessageId", client_message_id.into()),
        ("text", text.into()),
    ])
}

/// The engine's value of a serde_json one (unit tests build values with `json!`).
#[cfg(test)]
pub(crate) fn from_serde(value: &serde_json::Value) -> Value {
    parse(&value.to_string()).expect("serde_json writes JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use super::from_serde as ours;

    // The hand readers must accept and refuse what serde derive did.
    #[test]
    fn reads_like_serde_derive() {
        let wire = json!({"id": 7, "conversationId": 3, "seq": 1, "senderId": 2, "text": "hi",
            "clientMessageId": null, "createdAt": "t", "extra": [1.5]});
        let expected: Message = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(message(&ours(&wire)), Some(expected));
        for bad in [json!({"id": 1.5}), json!(null), json!({"id": 7, "seq": -1})] {
            assert_eq!(message(&ours(&bad)), None);
        }
        let failure = json!({"success": false, "error": "no", "code": "new_code"});
        let expected: Ack<JoinAck> = serde_json::from_value(failure.clone()).unwrap();
        assert_eq!(join_ack(&ours(&failure)), Some(expected));
        let success = json!({"success": true, "onlineUserIds": [1, 2], "lastSeq": 4});
        let expected: Ack<JoinAck> = serde_json::from_value(success.clone()).unwrap();
        assert_eq!(join_ack(&ours(&success)), Some(expected));
        assert_eq!(send_ack(&ours(&json!({"success": false}))), None);
        assert_eq!(
            send_ack(&ours(&json!({"messageId": 1, "seq": 1, "createdAt": "t"}))),
            None
        );
        let conversation_new = json!({"id": 1, "kind": "group", "title": "t",
            "participantIds": [1], "lastSeq": 0});
        let expected: Conversation = serde_json::from_value(conversation_new.clone()).unwrap();
        assert_eq!(conversation(&ours(&conversation_new)), Some(expected));
        assert_eq!(
            api_error(r#"{"error":{"code":"rate_limited","message":"slow"}}"#)
                .map(|e| e.error.code),
            Some(ErrorCode::RateLimited)
        );
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod parser_tests {
    use super::*;
    use proptest::prelude::*;

    /// The same JSON, numbers that are not integers compared as floats within two ulps
    /// (serde_json's fast float parser may be one ulp off the exact value; among
    /// subnormals one ulp is more than 1e-15 of the value, so a relative bound fails).
    fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
        use serde_json::Value as S;
        match (ours, theirs) {
            (Value::Null, S::Null) => true,
            (Value::Bool(a), S::Bool(b)) => a == b,
            (Value::String(a), S::String(b)) => a == b,
            (Value::Number(Number::Int(a)), S::Number(b)) => b.as_i64() == Some(*a),
            (Value::Number(Number::UInt(a)), S::Number(b)) => {
                b.as_u64() == Some(*a) && b.as_i64().is_none()
            }
            (Value::Number(Number::Text(a)), S::Number(b)) => {
                let (Ok(p), Some(q)) = (a.parse::<f64>(), b.as_f64()) else {
                    return false;
                };
                let ulps = (p.to_bits() as i64).abs_diff(q.to_bits() as i64);
                b.is_f64()
                    && (p == q || (p.is_sign_negative() == q.is_sign_negative() && ulps <= 2))
            }
            (Value::Array(a), S::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
            }
            (Value::Object(a), S::Object(b)) => {
                a.iter().count() == b.len()
                    && a.iter().zip(b).all(|((k, x), (l, y))| k == l && same(x, y))
            }
            _ => false,
        }
    }

    fn same_as_serde(text: &str) {
        let ours = parse(text);
        let serde = serde_json::from_str::<serde_json::Value>(text).ok();
        match (&ours, &serde) {
            (Some(ours), Some(serde)) => {
                assert!(same(ours, serde), "{text:?}: {ours:?} != {serde:?}");
                // Written back, it reads the same, and so does serde_json's writing.
                assert_eq!(parse(&write(ours)).as_ref(), Some(ours), "{text:?}");
                let again = parse(&serde.to_string()).expect("serde_json writes JSON");
                assert!(same(&again, serde), "{text:?}");
                if !serde.to_string().contains(['.', 'e', 'E']) {
                    assert_eq!(write(ours), serde.to_string(), "{text:?}");
                }
            }
            (None, None) => {}
            _ => panic!("{text:?}: {ours:?} vs serde_json's {serde:?}"),
        }
    }

    #[test]
    fn parses_and_writes_like_serde_json() {
        for text in [
            "",
            " ",
            "null",
            "nul",
            "true ",
            " false",
            "0",
            "-0",
            "01",
            "-",
            "+1",
            "1.",
            ".5",
            "1.5e3",
            "1e400",
            "-9223372036854775809",
            "18446744073709551616",
            "1E-2",
            "[]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{}",
            "{\"a\":1,\"a\":2}",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":1,}",
            r#""\u00e9\ud83d\ude00\n\t\"\\\/\b\f""#,
            r#""\ud83d""#,
            r#""\udc00""#,
            "\"a\u{1}\"",
            "\"é\"",
            r#""\x""#,
            "[1] x",
            "[[[[[[[[[[]]]]]]]]]]",
            r#"{"sid":"abc","upgrades":[],"pingInterval":25000,"maxPayload":1e6}"#,
        ] {
            same_as_serde(text);
        }
        let deep = |n| "[".repeat(n) + &"]".repeat(n);
        for n in [126, 127, 128, 129] {
            same_as_serde(&deep(n));
        }
        same_as_serde(&format!("\"{}\"", "\u{7f}\u{1f}"));
        // Around f64's largest value: refused from 2^1024 - 2^970 on, as by serde_json
        // (whose fast parser already refuses some values a few ulps below that,
        // 1.7976931348623158e308 for one: there the two may differ).
        for text in [
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "17976931348623159e292",
            "0.00018e312",
            "1e308",
            "1e309",
            "-1e-400",
            // A subnormal that serde_json reads one ulp off (found by the property test).
            "2.12709231761078e-309",
            "0e999999999999999999999",
            "123456789012345678901234567890",
            "-9223372036854775808",
            "9223372036854775808",
            "18446744073709551615",
        ] {
            same_as_serde(text);
        }
        assert_eq!(write(&Value::from("\u{1f}\u{7f}")), "\"\\u001f\u{7f}\"");
    }

    proptest! {
        #[test]
        fn arbitrary_text_reads_like_serde_json(text in "[\\[\\]{}\":,0-9.eE+\\- a-z\\\\tnu]{0,40}") {
            same_as_serde(&text);
        }

        #[test]
        fn arbitrary_strings_round_trip(text in ".{0,30}") {
            same_as_serde(&serde_json::Value::String(text).to_string());
        }

        #[test]
        fn arbitrary_numbers_read_like_serde_json(n in any::<f64>(), i in any::<i64>(), e in -400i32..400) {
            same_as_serde(&serde_json::Value::from(n).to_string());
            same_as_serde(&i.to_string());
            same_as_serde(&format!("{i}e{e}"));
            same_as_serde(&format!("{n:e}"));
        }
    }
}
