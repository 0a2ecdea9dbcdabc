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
    /// The caller's read watermark (SPEC.md section 9); 0 from a server before v2.
    #[serde(default)]
    pub last_read_seq: i64,
    /// Every participant's watermark; empty from a server before v2.
    #[serde(default)]
    pub read_seqs: ReadSeqs,
}

/// Read watermarks by participant: `{ "<userId>": lastReadSeq }` on the wire. A `Vec`
/// sorted by user, not a `BTreeMap`: the wasm engine keeps one per conversation, and
/// `BTreeMap`'s code costs kilobytes there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSeqs(Vec<(UserId, i64)>);

impl ReadSeqs {
    pub fn get(&self, user: UserId) -> Option<i64> {
        let at = self.0.binary_search_by_key(&user, |(u, _)| *u).ok()?;
        Some(self.0[at].1)
    }

    /// Moves `user`'s watermark up to `seq` (never down); true if it moved.
    pub fn raise(&mut self, user: UserId, seq: i64) -> bool {
        match self.0.binary_search_by_key(&user, |(u, _)| *u) {
            Ok(at) if self.0[at].1 >= seq => false,
            Ok(at) => {
                self.0[at].1 = seq;
                true
            }
            Err(at) => {
                self.0.insert(at, (user, seq));
                true
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (UserId, i64)> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(UserId, i64)> for ReadSeqs {
    /// The highest seq of each user.
    fn from_iter<I: IntoIterator<Item = (UserId, i64)>>(iter: I) -> Self {
        let mut seqs = ReadSeqs::default();
        for (user, seq) in iter {
            seqs.raise(user, seq);
        }
        seqs
    }
}

impl Serialize for ReadSeqs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (user, seq) in &self.0 {
            map.serialize_entry(&user.0.to_string(), seq)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ReadSeqs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, i64>::deserialize(deserializer)?;
        map.into_iter()
            .map(|(user, seq)| match user.parse() {
                Ok(id) => Ok((UserId(id), seq)),
                Err(_) => Err(serde::de::Error::custom(format!("not a user id: {user}"))),
            })
            .collect()
    }
}

/// Ack of `conversation:read`: the caller's watermark after the call (it never moves
/// back, so a lower seq answers the current one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadAck {
    pub success: True,
    pub last_read_seq: i64,
}

/// `conversation:read` from the server: `user_id`'s watermark in the conversation moved
/// (to `conversation:{id}`, and to `user:{userId}` for the reader's other devices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRead {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub last_read_seq: i64,
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
    /// v2: the server cannot store now (its database is down or timed out); try again
    /// after `retryAfterMs`. Not the message's fault: clients keep it queued.
    Unavailable,
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
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// A failure to try again after `retryAfterMs` without counting it against the
    /// message: the server is busy or cannot store now, the message itself is fine.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::RateLimited | ErrorCode::Unavailable)
    }
}

/// What a client sees of an `unavailable` failure.
pub const UNAVAILABLE: &str = "Service temporarily unavailable; try again later";

/// A failed ack: `{ success: false, error, code, retryAfterMs? }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AckFailure {
    pub success: False,
    /// A human-readable message.
    pub error: String,
    pub code: ErrorCode,
    /// Present when `code` is `rate_limited` or `unavailable`.
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

    pub fn unavailable(retry_after_ms: u64) -> Self {
        AckFailure {
            retry_after_ms: Some(retry_after_ms),
            ..AckFailure::new(ErrorCode::Unavailable, UNAVAILABLE)
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

/// A participant as the conversation list names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: UserId,
    pub username: String,
}

/// An item of `GET /api/conversations` (SPEC.md section 9): the conversation, and what a
/// chat list shows of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Every participant, the caller included.
    pub participants: Vec<Participant>,
    pub last_message: Option<Message>,
    /// The caller's watermark (0 when nothing was read).
    pub last_read_seq: i64,
    /// Messages with `seq > last_read_seq` sent by someone else.
    pub unread_count: i64,
    pub read_seqs: ReadSeqs,
    /// RFC 3339: `last_message.created_at`, else the conversation's creation. The list is
    /// ordered by it, newest first, then by id descending.
    pub activity_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_state_uses_the_spec_field_names() {
        let ack: JoinAck = serde_json::from_value(json!(
            {"success": true, "onlineUserIds": [1], "lastSeq": 9, "lastReadSeq": 4, "readSeqs": {"1": 4, "2": 9}}
        ))
        .unwrap();
        assert_eq!(ack.read_seqs.get(UserId(2)), Some(9));
        assert_eq!(ack.last_read_seq, 4);
        let old: JoinAck =
            serde_json::from_value(json!({"success": true, "onlineUserIds": [], "lastSeq": 0}))
                .unwrap();
        assert!(old.read_seqs.is_empty());
        let read = ConversationRead {
            conversation_id: ConversationId(3),
            user_id: UserId(2),
            last_read_seq: 7,
        };
        assert_eq!(
            serde_json::to_value(read).unwrap(),
            json!({"conversationId": 3, "userId": 2, "lastReadSeq": 7})
        );
        let summary = ConversationSummary {
            conversation: Conversation {
                id: ConversationId(3),
                kind: ConversationKind::Direct,
                title: None,
                participant_ids: vec![UserId(1), UserId(2)],
                last_seq: 0,
            },
            participants: vec![Participant {
                id: UserId(1),
                username: "ann".into(),
            }],
            last_message: None,
            last_read_seq: 0,
            unread_count: 0,
            read_seqs: [(UserId(1), 0)].into_iter().collect(),
            activity_at: "2026-11-26T10:00:00.000Z".into(),
        };
        let value = serde_json::to_value(&summary).unwrap();
        assert_eq!(value["id"], json!(3));
        assert_eq!(value["readSeqs"], json!({"1": 0}));
        assert_eq!(value["lastMessage"], json!(null));
        assert_eq!(
            serde_json::from_value::<ConversationSummary>(value).unwrap(),
            summary
        );
        assert!(serde_json::from_value::<ReadSeqs>(json!({"x": 1})).is_err());
        let mut seqs = ReadSeqs::default();
        assert!(seqs.raise(UserId(2), 5));
        assert!(!seqs.raise(UserId(2), 3), "a watermark never moves back");
        assert_eq!(seqs.get(UserId(2)), Some(5));
    }

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

        let down: Ack<SendAck> = serde_json::from_value(json!(
            {"success": false, "error": UNAVAILABLE, "code": "unavailable", "retryAfterMs": 1000}
        ))
        .unwrap();
        assert_eq!(down, Ack::Failure(AckFailure::unavailable(1000)));

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
