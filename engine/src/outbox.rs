//! The outbox: messages sent but not yet acknowledged, and how they are stored.
//!
//! # Ordering
//!
//! Per conversation, one message is on the wire at a time (stop-and-wait): the head of
//! the conversation's queue is sent, and the next one only after the head's success ack.
//! Pipelining would let a later message commit before an earlier one whose try was
//! rate-limited or lost, and the server's seq order must equal send order. A message
//! that ends `failed` leaves the queue so it cannot block the conversation forever;
//! `retry` puts it back at the end (its place in the order is that of the retry).
//! Conversations do not wait for each other.
//!
//! # Storage
//!
//! `Outbox::save` writes JSON, `{"version":1,"nextOrder":N,"messages":[{"clientMessageId",
//! "conversationId","text","order","lostTries","failed"}]}`; a message in flight is stored
//! as queued (it is sent again after a reload, which the server's idempotency makes safe).

use chat_wire::{ConversationId, ErrorCode};
use std::fmt;

use crate::ids::ClientMessageId;
use crate::json::{self, Value};
use crate::protocol::AckId;
use crate::time::Millis;

/// Where one message of the outbox stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SendState {
    /// Waiting for its turn or for the connection.
    Queued,
    /// Emitted as `ack`; lost unless acknowledged by `deadline`.
    InFlight { ack: AckId, deadline: Millis },
    /// Backing off before the next try.
    Waiting { until: Millis },
    /// A backoff frozen while disconnected: this much of it is left.
    Paused { remaining: u64 },
    /// Given up on until `retry`.
    Failed { code: Option<ErrorCode> },
}

#[derive(Clone, Debug)]
pub(crate) struct OutboxEntry {
    pub(crate) id: ClientMessageId,
    pub(crate) conversation: ConversationId,
    pub(crate) text: String,
    /// Send order (unique, increasing): the position in the conversation's queue.
    pub(crate) order: u64,
    /// Tries whose ack timed out while connected (a rate-limited try does not count).
    pub(crate) lost_tries: u32,
    pub(crate) state: SendState,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    entries: Vec<OutboxEntry>,
    next_order: u64,
}

/// Stored outbox data that could not be read; the engine starts with an empty outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageError(pub String);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored outbox unreadable: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

const STORAGE_VERSION: u32 = 1;

impl Outbox {
    pub(crate) fn push(
        &mut self,
        id: ClientMessageId,
        conversation: ConversationId,
        text: String,
    ) -> u64 {
        let order = self.take_order();
        self.entries.push(OutboxEntry {
            id,
            conversation,
            text,
            order,
            lost_tries: 0,
            state: SendState::Queued,
        });
        order
    }

    /// A fresh, later position in the send order.
    pub(crate) fn take_order(&mut self) -> u64 {
        let order = self.next_order;
        self.next_order += 1;
        order
    }

    pub(crate) fn entry(&self, id: &ClientMessageId) -> Option<&OutboxEntry> {
        self.entries.iter().find(|e| &e.id == id)
    }

    pub(crate) fn entry_mut(&mut self, id: &ClientMessageId) -> Option<&mut OutboxEntry> {
        self.entries.iter_mut().find(|e| &e.id == id)
    }

    pub(crate) fn remove(&mut self, id: &ClientMessageId) -> Option<OutboxEntry> {
        let index = self.entries.iter().position(|e| &e.id == id)?;
        Some(self.entries.remove(index))
    }

    pub(crate) fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    pub(crate) fn entries_mut(&mut self) -> impl Iterator<Item = &mut OutboxEntry> {
        self.entries.iter_mut()
    }

    /// The conversation's next message to go out: the earliest one not failed.
    pub(crate) fn head(&self, conversation: ConversationId) -> Option<&OutboxEntry> {
        self.entries
            .iter()
            .filter(|e| {
                e.conversation == conversation && !matches!(e.state, SendState::Failed { .. })
            })
            .min_by_key(|e| e.order)
    }

    /// The earliest ack deadline or end of backoff.
    pub(crate) fn next_deadline(&self) -> Option<Millis> {
        self.entries
            .iter()
            .filter_map(|e| match e.state {
                SendState::InFlight { deadline, .. } => Some(deadline),
                SendState::Waiting { until } => Some(until),
                _ => None,
            })
            .min()
    }

    pub(crate) fn save(&self) -> String {
        let messages = self
            .entries
            .iter()
            .map(|e| {
                let failed = match e.state {
                    SendState::Failed { code } => code.map_or("timeout", ErrorCode::as_str).into(),
                    _ => Value::Null,
                };
                json::object(vec![
                    ("clientMessageId", e.id.as_str().into()),
                    ("conversationId", e.conversation.0.into()),
                    ("text", e.text.as_str().into()),
                    ("order", e.order.into()),
                    ("lostTries", e.lost_tries.into()),
                    ("failed", failed),
                ])
            })
            .collect();
        let stored = json::object(vec![
            ("version", STORAGE_VERSION.into()),
            ("nextOrder", self.next_order.into()),
            ("messages", Value::Array(messages)),
        ]);
        json::write(&stored)
    }

    /// Reads what [`Outbox::save`] wrote (by hand: see [`crate::json`]).
    pub(crate) fn restore(data: &str) -> Result<Outbox, StorageError> {
        let bad = || StorageError("not an outbox".into());
        let value = json::parse(data).ok_or_else(|| StorageError("not JSON".into()))?;
        let stored = value.as_object().ok_or_else(bad)?;
        let field = |o: &'_ json::Object, key: &str| o.get(key).and_then(Value::as_u64);
        let version = field(stored, "version").ok_or_else(bad)?;
        if version != u64::from(STORAGE_VERSION) {
            return Err(StorageError("unknown version".into()));
        }
        let messages = stored
            .get("messages")
            .and_then(Value::as_array)
            .ok_or_else(bad)?;
        let mut outbox = Outbox {
            entries: Vec::with_capacity(messages.len()),
            next_order: field(stored, "nextOrder").ok_or_else(bad)?,
        };
        for message in messages {
            let entry = (|| {
                let m = message.as_object()?;
                let id = m.get("clientMessageId")?.as_str()?;
                let failed = match m.get("failed") {
                    None | Some(Value::Null) => None,
                    Some(code) => Some(code.as_str().map(Value::from)?),
                };
                Some(OutboxEntry {
                    id: ClientMessageId::parse(id).ok()?,
                    conversation: ConversationId(m.get("conversationId")?.as_i64()?),
                    text: m.get("text")?.as_str()?.to_owned(),
                    order: field(m, "order")?,
                    lost_tries: u32::try_from(field(m, "lostTries")?).ok()?,
                    state: match failed {
                        None => SendState::Queued,
                        // As serde read it: a code this build does not know (`timeout`
                        // included) is `Unknown`.
                        Some(code) => SendState::Failed {
                            code: json::error_code(&code),
                        },
                    },
                })
            })()
            .ok_or_else(bad)?;
            if outbox.entry(&entry.id).is_some() {
                return Err(StorageError("a clientMessageId stored twice".into()));
            }
            outbox.next_order = outbox.next_order.max(entry.order.saturating_add(1));
            // Kept sorted by inserting in place, not by a sort afterwards: `save` writes
            // the entries in order, so this appends, and a sort's code costs ~2 KB of wasm.
            let at = outbox.entries.partition_point(|e| e.order <= entry.order);
            outbox.entries.insert(at, entry);
        }
        Ok(outbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(rng: &mut fastrand::Rng) -> ClientMessageId {
        ClientMessageId::generate(rng)
    }

    #[test]
    fn the_head_is_the_earliest_message_not_failed() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut outbox = Outbox::default();
        let (a, b) = (id(&mut rng), id(&mut rng));
        outbox.push(a.clone(), ConversationId(1), "a".into());
        outbox.push(b.clone(), ConversationId(1), "b".into());
        assert_eq!(outbox.head(ConversationId(1)).map(|e| &e.id), Some(&a));
        outbox.entry_mut(&a).unwrap().state = SendState::Failed { code: None };
        assert_eq!(outbox.head(ConversationId(1)).map(|e| &e.id), Some(&b));
        assert!(outbox.head(ConversationId(2)).is_none());
    }

    #[test]
    fn saves_and_restores_queued_and_failed_messages() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut outbox = Outbox::default();
        let (a, b) = (id(&mut rng), id(&mut rng));
        outbox.push(a.clone(), ConversationId(1), "a \"quoted\"".into());
        outbox.push(b.clone(), ConversationId(2), "b".into());
        outbox.entry_mut(&a).unwrap().state = SendState::InFlight {
            ack: AckId(3),
            deadline: Millis(9),
        };
        outbox.entry_mut(&b).unwrap().state = SendState::Failed {
            code: Some(ErrorCode::Forbidden),
        };
        let restored = Outbox::restore(&outbox.save()).unwrap();
        assert_eq!(restored.entries().len(), 2);
        assert_eq!(restored.entry(&a).unwrap().state, SendState::Queued);
        assert_eq!(restored.entry(&a).unwrap().text, "a \"quoted\"");
        assert_eq!(
            restored.entry(&b).unwrap().state,
            SendState::Failed {
                code: Some(ErrorCode::Forbidden)
            }
        );
        let mut restored = restored;
        assert_eq!(restored.take_order(), 2);
    }

    #[test]
    fn bad_stored_data_is_an_error() {
        for data in [
            "",
            "null",
            "{}",
            r#"{"version":2,"nextOrder":0,"messages":[]}"#,
            r#"{"version":1,"nextOrder":0,"messages":[{"clientMessageId":"x","conversationId":1,"text":"a","order":0,"lostTries":0,"failed":null}]}"#,
        ] {
            assert!(Outbox::restore(data).is_err(), "{data:?}");
        }
        assert!(Outbox::restore(r#"{"version":1,"nextOrder":0,"messages":[]}"#).is_ok());
    }

    #[test]
    fn restored_entries_are_in_send_order_whatever_the_stored_order() {
        let mut rng = fastrand::Rng::with_seed(2);
        let ids = [id(&mut rng), id(&mut rng), id(&mut rng)];
        let entry = |id: &ClientMessageId, order: u64| {
            format!(
                r#"{{"clientMessageId":"{id}","conversationId":1,"text":"t","order":{order},"lostTries":0}}"#
            )
        };
        let data = format!(
            r#"{{"version":1,"nextOrder":0,"messages":[{},{},{}]}}"#,
            entry(&ids[0], 7),
            entry(&ids[1], 2),
            entry(&ids[2], 5)
        );
        let mut restored = Outbox::restore(&data).unwrap();
        let orders: Vec<u64> = restored.entries().iter().map(|e| e.order).collect();
        assert_eq!(orders, [2, 5, 7]);
        assert_eq!(restored.take_order(), 8);
    }
}
