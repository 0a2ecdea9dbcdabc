//! Parsing the options of `new ChatEngine`: they arrive as a raw `JsValue`, so a wrong
//! type from plain JS or a cast-away TypeScript check becomes a refusal ([`WebError`],
//! thrown by js/client as a `ChatEngineError` with the text), never a silent coercion
//! (wasm-bindgen would turn `"7"` into 7 and `NaN` into 0) or a panic. The methods'
//! arguments are parsed by their types ([`crate::commands::Arg`]).

use chat_wire::UserId;
use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::storage::{KeyValueStore, key_value_store, local_storage};
use crate::refusals::WebError;

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Where the outbox is kept: a key–value store (`localStorage` for `"local"`, or the
/// app's object), or memory.
#[derive(Clone, Debug)]
pub(crate) enum StorageKind {
    Store(KeyValueStore),
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
        v if v.is_undefined() => local_storage().map_or(StorageKind::Memory, StorageKind::Store),
        v => match v.as_string().as_deref() {
            Some("local") => local_storage().map_or(StorageKind::Memory, StorageKind::Store),
            Some("memory") => StorageKind::Memory,
            Some(_) => return Err(WebError::Storage),
            None => StorageKind::Store(key_value_store(&v).ok_or(WebError::Storage)?),
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
        v => Some(UserId(positive_integer(&v).ok_or(WebError::UserId)?)),
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

/// A JS number that is an integer in 1..=2^53-1.
pub(crate) fn positive_integer(value: &JsValue) -> Option<i64> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (1.0..=MAX_SAFE_INTEGER).contains(&n) => Some(n as i64),
        _ => None,
    }
}
