//! Parsing what JS hands in, in one place: options and method arguments arrive as raw
//! `JsValue`s, so a wrong type from plain JS or a cast-away TypeScript check becomes a
//! refusal ([`WebError`], thrown by js/client as a `ChatEngineError` with the text),
//! never a silent coercion (wasm-bindgen would turn `"7"` into 7 and `NaN` into 0) or a
//! panic.

use chat_wire::{ConversationId, MessageId, UserId};
use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::error::WebError;
use chat_engine::ids::ClientMessageId;

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Where the outbox is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageKind {
    Local,
    Memory,
}

/// `transport` of the options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransportKind {
    WebSocket,
    Http,
}

/// `ChatEngineOptions`, parsed.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) url: String,
    pub(crate) get_token: Function,
    pub(crate) storage: StorageKind,
    pub(crate) transport: TransportKind,
    pub(crate) user: Option<UserId>,
    pub(crate) poll_interval_ms: Option<u64>,
}

pub(crate) fn options(value: &JsValue) -> Result<Options, WebError> {
    if !value.is_object() {
        return Err(WebError::OptionsNotObject);
    }
    let field = |name: &str| Reflect::get(value, &JsValue::from_str(name)).unwrap_or_default();

    let url = field("url").as_string().ok_or(WebError::Url)?;
    let url = url.trim().to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "http://".len()
    {
        return Err(WebError::UrlScheme);
    }
    let get_token = field("getToken")
        .dyn_into::<Function>()
        .map_err(|_| WebError::GetToken)?;
    let storage = match field("storage") {
        v if v.is_undefined() => {
            if super::storage::local_storage().is_some() {
                StorageKind::Local
            } else {
                StorageKind::Memory
            }
        }
        v => match v.as_string().as_deref() {
            Some("local") => StorageKind::Local,
            Some("memory") => StorageKind::Memory,
            _ => return Err(WebError::Storage),
        },
    };
    let transport = match field("transport") {
        v if v.is_undefined() => TransportKind::WebSocket,
        v => match v.as_string().as_deref() {
            Some("websocket") => TransportKind::WebSocket,
            Some("http") => TransportKind::Http,
            _ => return Err(WebError::Transport),
        },
    };
    let user = match field("userId") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(UserId(positive_integer(&v).map_err(|()| WebError::UserId)?)),
    };
    let poll_interval_ms = match field("pollIntervalMs") {
        v if v.is_undefined() => None,
        v => match v.as_f64() {
            Some(ms) if ms.is_finite() && (50.0..=3_600_000.0).contains(&ms) => Some(ms as u64),
            _ => return Err(WebError::PollInterval),
        },
    };
    Ok(Options {
        url,
        get_token,
        storage,
        transport,
        user,
        poll_interval_ms,
    })
}

pub(crate) fn conversation_id(value: &JsValue) -> Result<ConversationId, WebError> {
    positive_integer(value)
        .map(ConversationId)
        .map_err(|()| WebError::ConversationId)
}

pub(crate) fn message_id(value: &JsValue) -> Result<MessageId, WebError> {
    positive_integer(value)
        .map(MessageId)
        .map_err(|()| WebError::MessageId)
}

pub(crate) fn user_ids(value: &JsValue) -> Result<Vec<UserId>, WebError> {
    if !js_sys::Array::is_array(value) {
        return Err(WebError::UserIds);
    }
    let array: &js_sys::Array = value.unchecked_ref();
    array
        .iter()
        .map(|v| {
            positive_integer(&v)
                .map(UserId)
                .map_err(|()| WebError::UserIdsItem)
        })
        .collect()
}

pub(crate) fn text(value: &JsValue) -> Result<String, WebError> {
    value.as_string().ok_or(WebError::Text)
}

pub(crate) fn token(value: &JsValue) -> Result<String, WebError> {
    match value.as_string() {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(WebError::Token),
    }
}

pub(crate) fn client_message_id(value: &JsValue) -> Result<ClientMessageId, WebError> {
    value
        .as_string()
        .and_then(|text| ClientMessageId::parse(&text).ok())
        .ok_or(WebError::ClientMessageId)
}

/// A listener; `refusal` says which (a subscriber or an event listener).
pub(crate) fn function(value: &JsValue, refusal: WebError) -> Result<Function, WebError> {
    value.clone().dyn_into::<Function>().map_err(|_| refusal)
}

/// A JS number that is an integer in 1..=2^53-1.
fn positive_integer(value: &JsValue) -> Result<i64, ()> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (1.0..=MAX_SAFE_INTEGER).contains(&n) => Ok(n as i64),
        _ => Err(()),
    }
}
