//! Every JSON shape the engine reads or writes, in one place, by hand over
//! [`serde_json::Value`].
//!
//! Why not `#[derive(Deserialize)]` on the wire types: each derived impl is a visitor
//! state machine of its own, and their error paths (`invalid type: floating point …`)
//! pull in serde's message formatting and float printing. In the size-budgeted wasm
//! build those cost far more than the protocol itself (docs/CLIENT.md, "Size"). Here
//! text is parsed once into a `Value` (one generic instantiation) and fields are read
//! with `as_i64`/`as_str`. The rules are serde's: unknown fields are ignored, a missing
//! or `null` optional field is `None`, numbers must be integers in range, and an
//! unknown error code is [`ErrorCode::Unknown`]. A shape that does not fit is `None`;
//! callers log a fixed text instead of serde's error.

use chat_wire::rest::{ApiError, ApiErrorBody, HistoryPage};
use chat_wire::socket::{
    Ack, AckFailure, Conversation, ConversationKind, False, JoinAck, OkAck, ReadReceipt, SendAck,
    True, Typing,
};
use chat_wire::{ConversationId, ErrorCode, Message, MessageId, UserId};
use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

/// Parses JSON text; `None` if it is not JSON.
pub(crate) fn parse(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

/// `{ key: value, … }` from fixed keys.
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
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
    match o.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(value) => read(value).map(Some),
    }
}

fn bool_field(o: &Object, key: &str) -> Option<bool> {
    o.get(key)?.as_bool()
}

fn user_ids(value: &Value) -> Option<Vec<UserId>> {
    value.as_array()?.iter().map(user_id).collect()
}

/// A user id (`user:online`'s argument and every `…Id` of a user).
pub(crate) fn user_id(value: &Value) -> Option<UserId> {
    value.as_i64().map(UserId)
}

/// A stored message (`message:new`, history pages, the HTTP fallback's answer).
pub(crate) fn message(value: &Value) -> Option<Message> {
    let o = value.as_object()?;
    Some(Message {
        id: MessageId(i64_field(o, "id")?),
        conversation_id: ConversationId(i64_field(o, "conversationId")?),
        seq: i64_field(o, "seq")?,
        sender_id: UserId(i64_field(o, "senderId")?),
        text: string_field(o, "text")?,
        client_message_id: optional(o, "clientMessageId", |v| v.as_str().map(str::to_owned))?,
        created_at: string_field(o, "createdAt")?,
    })
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
    object([
        ("clientMessageId", client_message_id.into()),
        ("text", text.into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The hand readers must accept and refuse what serde derive did.
    #[test]
    fn reads_like_serde_derive() {
        let wire = json!({"id": 7, "conversationId": 3, "seq": 1, "senderId": 2, "text": "hi",
            "clientMessageId": null, "createdAt": "t", "extra": [1.5]});
        let expected: Message = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(message(&wire), Some(expected));
        for bad in [json!({"id": 1.5}), json!(null), json!({"id": 7, "seq": -1})] {
            assert_eq!(message(&bad), None);
        }
        let failure = json!({"success": false, "error": "no", "code": "new_code"});
        let expected: Ack<JoinAck> = serde_json::from_value(failure.clone()).unwrap();
        assert_eq!(join_ack(&failure), Some(expected));
        let success = json!({"success": true, "onlineUserIds": [1, 2], "lastSeq": 4});
        let expected: Ack<JoinAck> = serde_json::from_value(success.clone()).unwrap();
        assert_eq!(join_ack(&success), Some(expected));
        assert_eq!(send_ack(&json!({"success": false})), None);
        assert_eq!(
            send_ack(&json!({"messageId": 1, "seq": 1, "createdAt": "t"})),
            None
        );
        let conversation_new = json!({"id": 1, "kind": "group", "title": "t",
            "participantIds": [1], "lastSeq": 0});
        let expected: Conversation = serde_json::from_value(conversation_new.clone()).unwrap();
        assert_eq!(conversation(&conversation_new), Some(expected));
        assert_eq!(
            api_error(r#"{"error":{"code":"rate_limited","message":"slow"}}"#)
                .map(|e| e.error.code),
            Some(ErrorCode::RateLimited)
        );
    }
}
