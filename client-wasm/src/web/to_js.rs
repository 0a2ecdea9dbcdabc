//! Engine data as frozen JS objects, cached so that identity means "unchanged".
//!
//! React's `useSyncExternalStore` re-renders when `getSnapshot()` returns a different
//! object, so the snapshot object is cached by the engine's version, each conversation's
//! object by its `Arc` (the engine replaces a conversation's `Arc` only when it changed),
//! each message object by its `Arc` too, and the connection object by value. A component
//! that reads one conversation re-renders only when that conversation changed.

use chat_wire::ConversationId;
use js_sys::{Array, Object, Reflect};
use std::sync::Arc;
use wasm_bindgen::JsValue;

use chat_engine::connection::ConnectionState;
use chat_engine::engine::Event;
use chat_engine::snapshot::{ConnectionView, ConversationView, Snapshot};
use chat_engine::timeline::MessageView;
use chat_engine::vecmap::VecMap;

#[derive(Debug, Default)]
pub(crate) struct JsCache {
    snapshot: Option<(u64, Object)>,
    connection: Option<(ConnectionView, Object)>,
    conversations: VecMap<ConversationId, CachedConversation>,
    /// `performance.timeOrigin`, to turn engine time into epoch ms.
    time_origin: f64,
}

#[derive(Debug)]
struct CachedConversation {
    view: Arc<ConversationView>,
    js: Object,
    /// The message objects of `js`, in its order (stored ones by seq, then unsent ones),
    /// with the `Arc` each was made from. Found again by [`cached`], without a hash map
    /// (hashbrown and the hasher cost ~2 KB of wasm).
    messages: Vec<(Arc<MessageView>, JsValue)>,
}

impl JsCache {
    pub(crate) fn new(time_origin: f64) -> Self {
        JsCache {
            time_origin,
            ..JsCache::default()
        }
    }

    /// The snapshot as a frozen object: the same object as last time if the version is the same.
    pub(crate) fn snapshot(&mut self, snapshot: &Snapshot) -> Object {
        if let Some((version, js)) = &self.snapshot
            && *version == snapshot.version
        {
            return js.clone();
        }
        let conversations = Object::new();
        self.conversations
            .retain(|id, _| snapshot.conversations.contains_key(id));
        for view in &snapshot.conversations {
            let js = self.conversation(view.id, view);
            let _ = Reflect::set(&conversations, &JsValue::from(view.id.0 as f64), &js);
        }
        Object::freeze(&conversations);
        let js = Object::new();
        set(&js, "version", &JsValue::from(snapshot.version as f64));
        set(&js, "connection", &self.connection(&snapshot.connection));
        set(&js, "conversations", &conversations);
        set(
            &js,
            "outboxLength",
            &JsValue::from(snapshot.outbox_len as f64),
        );
        Object::freeze(&js);
        self.snapshot = Some((snapshot.version, js.clone()));
        js
    }

    /// One conversation, as cached by [`JsCache::snapshot`] (`None` if the engine does not
    /// know it).
    pub(crate) fn conversation_of(
        &mut self,
        snapshot: &Snapshot,
        id: ConversationId,
    ) -> Option<Object> {
        let view = snapshot.conversations.get(&id)?;
        Some(self.conversation(id, view))
    }

    fn conversation(&mut self, id: ConversationId, view: &Arc<ConversationView>) -> Object {
        if let Some(cached) = self.conversations.get(&id)
            && Arc::ptr_eq(&cached.view, view)
        {
            return cached.js.clone();
        }
        let old = self
            .conversations
            .remove(&id)
            .map(|c| c.messages)
            .unwrap_or_default();
        let mut kept = Vec::with_capacity(view.messages.len());
        let messages = Array::new_with_length(view.messages.len() as u32);
        for (index, message) in view.messages.iter().enumerate() {
            let js = match cached(&old, message) {
                Some(js) => js.clone(),
                None => message_view(message),
            };
            messages.set(index as u32, js.clone());
            kept.push((message.clone(), js));
        }
        Object::freeze(&messages);
        let js = Object::new();
        set(&js, "id", &JsValue::from(id.0 as f64));
        set(&js, "messages", &messages);
        set(
            &js,
            "typingUserIds",
            &ids(view.typing_user_ids.iter().map(|u| u.0)),
        );
        set(
            &js,
            "onlineUserIds",
            &ids(view.online_user_ids.iter().map(|u| u.0)),
        );
        set(&js, "hasOlder", &view.has_older.into());
        set(&js, "loadingOlder", &view.loading_older.into());
        set(&js, "synced", &view.synced.into());
        read_state(&js, view);
        Object::freeze(&js);
        self.conversations.insert(
            id,
            CachedConversation {
                view: view.clone(),
                js: js.clone(),
                messages: kept,
            },
        );
        js
    }

    fn connection(&mut self, view: &ConnectionView) -> Object {
        if let Some((cached, js)) = &self.connection
            && cached == view
        {
            return js.clone();
        }
        let js = Object::new();
        set(&js, "state", &view.state.as_str().into());
        set(&js, "error", &connection_error(&view.state));
        let reconnect_at = match view.reconnect_at {
            Some(at) => JsValue::from(self.time_origin + at.0 as f64),
            None => JsValue::NULL,
        };
        set(&js, "reconnectAt", &reconnect_at);
        set(
            &js,
            "failedAttempts",
            &JsValue::from(view.failed_attempts as f64),
        );
        Object::freeze(&js);
        self.connection = Some((view.clone(), js.clone()));
        js
    }
}

/// The object made for this very `Arc` last time, if any. `old` is in display order
/// (stored messages by seq, then unsent ones without a seq), so a binary search on the
/// seq finds where it would be.
fn cached<'a>(
    old: &'a [(Arc<MessageView>, JsValue)],
    message: &Arc<MessageView>,
) -> Option<&'a JsValue> {
    let from = old.partition_point(|(m, _)| match (m.seq, message.seq) {
        (Some(seq), Some(wanted)) => seq < wanted,
        (Some(_), None) => true,
        (None, _) => false,
    });
    old[from..]
        .iter()
        .take_while(|(m, _)| m.seq == message.seq)
        .find(|(m, _)| Arc::ptr_eq(m, message))
        .map(|(_, js)| js)
}

/// `{ code, message }` when the state is `error`, else `null`.
pub(crate) fn connection_error(state: &ConnectionState) -> JsValue {
    match state {
        ConnectionState::Error(error) => {
            let js = Object::new();
            set(&js, "code", &error.code.as_str().into());
            set(&js, "message", &error.message.as_str().into());
            Object::freeze(&js);
            js.into()
        }
        _ => JsValue::NULL,
    }
}

/// The list's fields of a conversation (SPEC.md section 9).
fn read_state(js: &Object, view: &ConversationView) {
    let number = |n: i64| JsValue::from(n as f64);
    set(js, "unreadCount", &number(view.unread_count));
    set(js, "lastReadSeq", &number(view.last_read_seq));
    set(js, "lastSeq", &number(view.last_seq));
    let seqs = Object::new();
    for (user, seq) in view.read_seqs.iter() {
        let _ = Reflect::set(&seqs, &JsValue::from(user.0 as f64), &number(seq));
    }
    Object::freeze(&seqs);
    set(js, "readSeqs", &seqs);
    let last = view
        .last_message
        .as_deref()
        .map_or(JsValue::NULL, message_view);
    set(js, "lastMessage", &last);
    set(js, "activityAt", &opt_str(view.activity_at.as_deref()));
}

fn message_view(message: &MessageView) -> JsValue {
    let js = Object::new();
    set(&js, "id", &opt_number(message.id.map(|m| m.0)));
    set(&js, "seq", &opt_number(message.seq));
    set(&js, "senderId", &opt_number(message.sender_id.map(|u| u.0)));
    set(&js, "text", &message.text.as_str().into());
    set(
        &js,
        "clientMessageId",
        &opt_str(message.client_message_id.as_deref()),
    );
    set(&js, "createdAt", &opt_str(message.created_at.as_deref()));
    set(&js, "status", &message.status.as_str().into());
    Object::freeze(&js);
    js.into()
}

/// A received message in the wire shape (`Message` of the JS types).
fn wire_message(conversation: ConversationId, message: &MessageView) -> JsValue {
    let js = Object::new();
    set(&js, "id", &opt_number(message.id.map(|m| m.0)));
    set(&js, "conversationId", &JsValue::from(conversation.0 as f64));
    set(&js, "seq", &opt_number(message.seq));
    set(&js, "senderId", &opt_number(message.sender_id.map(|u| u.0)));
    set(&js, "text", &message.text.as_str().into());
    set(
        &js,
        "clientMessageId",
        &opt_str(message.client_message_id.as_deref()),
    );
    set(&js, "createdAt", &opt_str(message.created_at.as_deref()));
    Object::freeze(&js);
    js.into()
}

/// An engine event as an `EngineEvent` object; `None` for those the app does not see
/// (`ConversationChanged` and `OutboxChanged` are the snapshot's business).
pub(crate) fn event(event: &Event, snapshot: &Snapshot) -> Option<JsValue> {
    let js = Object::new();
    let kind = match event {
        Event::StateChanged(state) => {
            set(&js, "state", &state.as_str().into());
            set(&js, "error", &connection_error(state));
            "state"
        }
        Event::MessageReceived(message) => {
            // The event names no conversation; the message is in the snapshot published by
            // the same call, so its conversation is the one holding this very `Arc` (looked
            // for from the newest end, where a live message is).
            let conversation = snapshot.conversations.iter().find_map(|view| {
                view.messages
                    .iter()
                    .rev()
                    .any(|m| Arc::ptr_eq(m, message))
                    .then_some(view.id)
            })?;
            set(&js, "message", &wire_message(conversation, message));
            "message"
        }
        Event::Typing {
            conversation,
            user,
            typing,
        } => {
            set(&js, "conversationId", &JsValue::from(conversation.0 as f64));
            set(&js, "userId", &JsValue::from(user.0 as f64));
            set(&js, "isTyping", &(*typing).into());
            "typing"
        }
        Event::Presence { user, online } => {
            set(&js, "userId", &JsValue::from(user.0 as f64));
            set(&js, "isOnline", &(*online).into());
            "presence"
        }
        Event::ConversationNew(conversation) => {
            // Built field by field, as the wire's JSON names them (no serde on this path).
            let c = Object::new();
            set(&c, "id", &JsValue::from(conversation.id.0 as f64));
            let kind = match conversation.kind {
                chat_wire::socket::ConversationKind::Direct => "direct",
                chat_wire::socket::ConversationKind::Group => "group",
            };
            set(&c, "kind", &kind.into());
            let title = conversation
                .title
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from);
            set(&c, "title", &title);
            let participants: Array = conversation
                .participant_ids
                .iter()
                .map(|user| JsValue::from(user.0 as f64))
                .collect();
            set(&c, "participantIds", &participants);
            set(&c, "lastSeq", &JsValue::from(conversation.last_seq as f64));
            set(&js, "conversation", &c);
            "conversationNew"
        }
        Event::JoinFailed { conversation, code } => {
            set(&js, "conversationId", &JsValue::from(conversation.0 as f64));
            set(&js, "code", &code.as_str().into());
            "joinFailed"
        }
        Event::Sent {
            client_message_id,
            conversation,
            message,
            seq,
        } => {
            set(&js, "clientMessageId", &client_message_id.as_str().into());
            set(&js, "conversationId", &JsValue::from(conversation.0 as f64));
            set(&js, "messageId", &JsValue::from(message.0 as f64));
            set(&js, "seq", &JsValue::from(*seq as f64));
            "sent"
        }
        Event::SendFailed {
            client_message_id,
            code,
        } => {
            set(&js, "clientMessageId", &client_message_id.as_str().into());
            set(&js, "code", &opt_str(code.map(|c| c.as_str())));
            "sendFailed"
        }
        Event::Warning(message) => {
            set(&js, "message", &message.as_str().into());
            "warning"
        }
        Event::ConversationChanged(_) | Event::OutboxChanged => return None,
    };
    set(&js, "type", &kind.into());
    Object::freeze(&js);
    Some(js.into())
}

fn ids(values: impl Iterator<Item = i64>) -> Array {
    let array: Array = values.map(|v| JsValue::from(v as f64)).collect();
    Object::freeze(&array);
    array
}

fn opt_number(value: Option<i64>) -> JsValue {
    value.map_or(JsValue::NULL, |v| JsValue::from(v as f64))
}

fn opt_str(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// Sets a property on an object this module created (which cannot fail: it is a plain,
/// extensible object until frozen). Not inlined, and the key made into a JS string here:
/// the ~60 call sites pass a pointer and a length, which keeps ~0.5 KB out of the wasm.
#[inline(never)]
fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}
