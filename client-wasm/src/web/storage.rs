//! Where the outbox lives between page loads: `localStorage`, one key per server URL and
//! user, so two accounts (or two servers) in one browser never send each other's messages.
//!
//! The key is `chat-client/outbox/v1/<url without trailing slash>/<userId>`; the value is
//! the engine's own format ([`chat_engine::Engine::save_outbox`]). An empty outbox removes the
//! key. Storage failures (quota, private mode) are logged, never thrown: the engine keeps
//! working from memory.

use chat_wire::UserId;
use wasm_bindgen::JsValue;

use super::error::console_warn;

/// `localStorage`, if this global has one and it may be used (it throws in some privacy modes).
pub(crate) fn local_storage() -> Option<web_sys::Storage> {
    let window = web_sys::window()?;
    window.local_storage().ok().flatten()
}

/// The outbox's place in `localStorage`, or nowhere (memory only).
#[derive(Debug)]
pub(crate) struct OutboxStore {
    key: Option<String>,
}

impl OutboxStore {
    pub(crate) fn memory() -> Self {
        OutboxStore { key: None }
    }

    pub(crate) fn local(url: &str, user: UserId) -> Self {
        OutboxStore {
            key: Some(storage_key(url, user)),
        }
    }

    /// What was stored, if anything.
    pub(crate) fn load(&self) -> Option<String> {
        let key = self.key.as_deref()?;
        match local_storage()?.get_item(key) {
            Ok(value) => value,
            Err(error) => {
                warn_storage("read", &error);
                None
            }
        }
    }

    /// Stores the outbox (`saved` is [`chat_engine::Engine::save_outbox`]); `empty` removes the key.
    pub(crate) fn save(&self, saved: &str, empty: bool) {
        let Some(key) = self.key.as_deref() else {
            return;
        };
        let Some(storage) = local_storage() else {
            return;
        };
        let result = if empty {
            storage.remove_item(key)
        } else {
            storage.set_item(key, saved)
        };
        if let Err(error) = result {
            warn_storage("write", &error);
        }
    }
}

/// `chat-client/outbox/v1/<url>/<userId>`.
pub fn storage_key(url: &str, user: UserId) -> String {
    format!(
        "chat-client/outbox/v1/{}/{}",
        url.trim_end_matches('/'),
        user.0
    )
}

fn warn_storage(what: &str, error: &JsValue) {
    let detail = js_sys::Error::from(error.clone())
        .message()
        .as_string()
        .unwrap_or_default();
    console_warn(&format!(
        "chat engine: could not {what} the outbox in localStorage ({detail}); keeping it in memory"
    ));
}
