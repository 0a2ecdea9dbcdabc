//! Event arguments, parsed by hand.
//!
//! socketioxide's `Data<T>` skips the handler when the arguments do not deserialise,
//! which would leave a client's ack callback unanswered. [`Args`] instead hands every
//! handler the raw JSON arguments, and the parsers here turn a wrong shape into a
//! `bad_request` ack with a message saying what was expected.

use super::error::SocketError;
use chat_wire::socket::SendMessage;
use chat_wire::{ConversationId, MessageId};
use serde_json::Value as Json;
use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use std::convert::Infallible;
use std::sync::Arc;

/// The arguments of an event (the event name removed), or why they are unreadable.
#[derive(Debug)]
pub struct Args(pub Result<Vec<Json>, SocketError>);

impl<A: Adapter> FromMessageParts<A> for Args {
    type Error = Infallible;

    fn from_message_parts(
        _socket: &Arc<Socket<A>>,
        value: &mut Value,
        _ack_id: &Option<i64>,
    ) -> Result<Args, Infallible> {
        Ok(Args(parse_packet(value)))
    }
}

fn parse_packet(value: &Value) -> Result<Vec<Json>, SocketError> {
    match value {
        Value::Str(text, binaries) => {
            if binaries.as_ref().is_some_and(|b| !b.is_empty()) {
                return Err(bad_request("binary arguments are not accepted"));
            }
            // The common parser hands over `["event", arg, …]` as validated JSON text.
            let mut all: Vec<Json> = serde_json::from_str(text.as_str())
                .map_err(|_| bad_request("arguments must be a JSON array"))?;
            if all.is_empty() {
                return Err(bad_request("missing event name"));
            }
            all.remove(0);
            Ok(all)
        }
        Value::Bytes(_) => Err(bad_request("binary arguments are not accepted")),
    }
}

fn bad_request(message: impl Into<String>) -> SocketError {
    SocketError::bad_request(message)
}

/// A positive integer id. Strings, floats, negatives, zero, null, arrays and objects are
/// refused: ids are JSON integers on the wire.
fn positive_id(value: Option<&Json>, name: &str) -> Result<i64, SocketError> {
    match value.and_then(Json::as_i64) {
        Some(id) if id > 0 => Ok(id),
        _ => Err(bad_request(format!("{name} must be a positive integer"))),
    }
}

/// The first argument as a conversation id.
pub fn conversation_id(args: &[Json]) -> Result<ConversationId, SocketError> {
    positive_id(args.first(), "conversationId").map(ConversationId)
}

/// The first argument as a message id.
pub fn message_id(args: &[Json]) -> Result<MessageId, SocketError> {
    positive_id(args.first(), "messageId").map(MessageId)
}

/// `conversation:read`'s `(conversationId, seq)`. The seq is a JSON integer of 0 or more;
/// one beyond what an i64 holds is past any `lastSeq` and is clamped to it anyway.
pub fn read_args(args: &[Json]) -> Result<(ConversationId, i64), SocketError> {
    let conversation = conversation_id(args)?;
    let seq = args
        .get(1)
        .and_then(Json::as_u64)
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    match seq {
        Some(seq) => Ok((conversation, seq)),
        None => Err(bad_request("seq must be a non-negative integer")),
    }
}

/// `message:send`'s `(conversationId, { clientMessageId, text })`. The UUID and text
/// rules are checked by `messaging::send_and_announce`, shared with the HTTP fallback.
pub fn send_args(args: &[Json]) -> Result<(ConversationId, SendMessage), SocketError> {
    let conversation = conversation_id(args)?;
    let body = args
        .get(1)
        .and_then(Json::as_object)
        .ok_or_else(|| bad_request("the second argument must be { clientMessageId, text }"))?;
    let field = |name: &str| -> Result<String, SocketError> {
        body.get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad_request(format!("{name} must be a string")))
    };
    Ok((
        conversation,
        SendMessage {
            client_message_id: field("clientMessageId")?,
            text: field("text")?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_must_be_positive_integers() {
        assert_eq!(conversation_id(&[json!(7)]).unwrap(), ConversationId(7));
        for bad in [
            json!("7"),
            json!(7.5),
            json!(-1),
            json!(0),
            json!(null),
            json!([7]),
            json!({"id": 7}),
            json!(true),
            json!(1e300),
        ] {
            let refused = conversation_id(std::slice::from_ref(&bad)).unwrap_err();
            assert!(matches!(refused, SocketError::BadRequest(_)), "{bad}");
        }
        assert!(conversation_id(&[]).is_err());
    }

    #[test]
    fn send_needs_both_string_fields() {
        let ok = send_args(&[json!(1), json!({"clientMessageId": "x", "text": "hi"})]).unwrap();
        assert_eq!(ok.1.text, "hi");
        for bad in [
            vec![json!(1)],
            vec![json!(1), json!("hi")],
            vec![json!(1), json!({"text": "hi"})],
            vec![json!(1), json!({"clientMessageId": 5, "text": "hi"})],
            vec![json!(1), json!({"clientMessageId": "x", "text": null})],
            vec![json!("1"), json!({"clientMessageId": "x", "text": "hi"})],
        ] {
            assert!(send_args(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_read_seq_is_a_non_negative_integer() {
        assert_eq!(
            read_args(&[json!(3), json!(7)]).unwrap(),
            (ConversationId(3), 7)
        );
        assert_eq!(read_args(&[json!(3), json!(0)]).unwrap().1, 0);
        assert_eq!(read_args(&[json!(3), json!(u64::MAX)]).unwrap().1, i64::MAX);
        for bad in [
            json!(-1),
            json!(1.5),
            json!("7"),
            json!(null),
            json!([7]),
            json!(1e300),
        ] {
            let refused = read_args(&[json!(3), bad.clone()]).unwrap_err();
            assert!(matches!(refused, SocketError::BadRequest(_)), "{bad}");
        }
        assert!(read_args(&[json!(3)]).is_err());
        assert!(read_args(&[json!("3"), json!(1)]).is_err());
    }

    #[test]
    fn packets_lose_their_event_name() {
        let value = Value::Str(r#"["message:read",5]"#.to_owned().into(), None);
        assert_eq!(parse_packet(&value).unwrap(), vec![json!(5)]);
        let empty = Value::Str("[]".to_owned().into(), None);
        assert!(parse_packet(&empty).is_err());
    }
}
