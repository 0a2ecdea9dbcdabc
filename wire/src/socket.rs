//! Socket.IO payloads and acks (SPEC.md section 2).

use crate::{ConversationId, MessageId, UserId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stored message, as `message:new`, history pages and the HTTP fallback carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// 1, 2, 3… within the conversation, gapless, in commit order.
    pub seq: i64,
    pub sender_id: UserId,
    pub text: String,
    pub client_message_id: Option<String>,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-26T10:00:00.123Z`.
    pub created_at: String,
}

/// The second argument of `message:send` (and the body of the HTTP fallback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    pub client_message_id: String,
    pub text: String,
}

/// The `success: true` of a successful ack: serialises as `true`, accepts only `true`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct True;

impl Serialize for True {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl<'de> Deserialize<'de> for True {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            true => Ok(True),
            false => Err(serde::de::Error::custom("expected success: true")),
        }
    }
}

/// The `success: false` of a failed ack: serialises as `false`, accepts only `false`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct False;

impl Serialize for False {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(false)
    }
}

impl<'de> Deserialize<'de> for False {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            false => Ok(False),
            true => Err(serde::de::Error::custom("expected success: false")),
        }
    }
}

/// Ack of `conversation:join`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinAck {
    pub success: True,
    /// Online participants, the caller included.
    pub online_user_ids: Vec<UserId>,
    pub last_seq: i64,
}

/// Ack of `conversation:leave` and `message:read`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkAck {
    pub success: True,
}

/// Ack of `message:send`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendAck {
    pub success: True,
    pub message_id: MessageId,
    pub seq: i64,
    pub created_at: String,
}

/// Failure codes shared by acks and REST errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    /// Not a participant, or no such conversation: the two are never told apart.
    Forbidden,
    TooLong,
    RateLimited,
    Internal,
    // REST only.
    Unauthorized,
    NotFound,
    Conflict,
    PayloadTooLarge,
    /// A code this build does not know (a newer server): treated as a failure.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TooLong => "too_long",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unknown => "unknown",
        }
    }
}

/// A failed ack: `{ success: false, error, code, retryAfterMs? }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AckFailure {
    pub success: False,
    /// A human-readable message.
    pub error: String,
    pub code: ErrorCode,
    /// Present when `code` is `rate_limited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl AckFailure {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        AckFailure {
            success: False,
            error: error.into(),
            code,
            retry_after_ms: None,
        }
    }

    pub fn rate_limited(retry_after_ms: u64) -> Self {
        AckFailure {
            retry_after_ms: Some(retry_after_ms),
            ..AckFailure::new(ErrorCode::RateLimited, "Too many messages")
        }
    }
}

/// Any ack as the client reads it: a success of shape `T`, or a failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ack<T> {
    Failure(AckFailure),
    Success(T),
}

/// `typing:start` / `typing:stop` from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Typing {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
}

/// `message:read` from the server, to the sender's `user:` room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub read_by: UserId,
    pub read_at: String,
}

/// `direct` (two people, no title, one per pair) or `group`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    Direct,
    Group,
}

/// A conversation as `GET /api/conversations` lists it and `conversation:new` carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub title: Option<String>,
    pub participant_ids: Vec<UserId>,
    pub last_seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn message_uses_the_spec_field_names() {
        let message = Message {
            id: MessageId(7),
            conversation_id: ConversationId(3),
            seq: 2,
            sender_id: UserId(1),
            text: "hi".into(),
            client_message_id: None,
            created_at: "2026-11-26T10:00:00.123Z".into(),
        };
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            json!({"id": 7, "conversationId": 3, "seq": 2, "senderId": 1, "text": "hi",
                   "clientMessageId": null, "createdAt": "2026-11-26T10:00:00.123Z"})
        );
    }

    #[test]
    fn acks_tell_success_from_failure_by_the_success_flag() {
        let ok: Ack<SendAck> = serde_json::from_value(json!(
            {"success": true, "messageId": 9, "seq": 4, "createdAt": "2026-11-26T10:00:00.000Z"}
        ))
        .unwrap();
        assert!(matches!(ok, Ack::Success(SendAck { seq: 4, .. })));

        let limited: Ack<SendAck> = serde_json::from_value(json!(
            {"success": false, "error": "Too many messages", "code": "rate_limited", "retryAfterMs": 80}
        ))
        .unwrap();
        assert_eq!(limited, Ack::Failure(AckFailure::rate_limited(80)));

        // A success flag that lies about the shape is not accepted as either.
        let lying = serde_json::from_value::<Ack<SendAck>>(json!({"success": true, "seq": "x"}));
        assert!(lying.is_err());
    }

    #[test]
    fn unknown_error_codes_still_parse_as_failures() {
        let ack: Ack<OkAck> =
            serde_json::from_value(json!({"success": false, "error": "?", "code": "brand_new"}))
                .unwrap();
        assert!(matches!(
            ack,
            Ack::Failure(AckFailure {
                code: ErrorCode::Unknown,
                ..
            })
        ));
    }

    #[test]
    fn failure_serialises_without_retry_after_unless_rate_limited() {
        let failure = AckFailure::new(ErrorCode::Forbidden, "Not a participant");
        assert_eq!(
            serde_json::to_value(&failure).unwrap(),
            json!({"success": false, "error": "Not a participant", "code": "forbidden"})
        );
    }
}
