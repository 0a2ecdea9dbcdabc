//! Where the outbox lives between runs: a synchronous key–value store (`getItem`,
//! `setItem`, `removeItem`, as Web Storage has them), one key per server URL and user, so
//! two accounts (or two servers) on one device never send each other's messages. The
//! store is `localStorage` (option `storage: "local"`) or whatever object the app passes
//! (js/client passes `expo-sqlite/kv-store` on phones): the bindings only call it.
//!
//! The key is `chat-client/outbox/v1/<url without trailing slash>/<userId>`; the value is
//! the engine's own format ([`chat_engine::Engine::save_outbox`]). An empty outbox removes the
//! key. Faults are never thrown at the app:
//!
//! - a store that throws (quota, a corrupt database, a privacy mode) is given up: the
//!   outbox stays in memory from then on, and the driver warns once;
//! - a stored value the engine cannot read is set aside under `<key>/unreadable/<epoch
//!   ms>` (and removed from the key), reported, and neither sent nor overwritten.

use chat_engine::text;
use chat_wire::UserId;
use std::cell::Cell;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Any object with Web Storage's three synchronous methods.
    #[derive(Debug, Clone)]
    pub(crate) type KeyValueStore;
    #[wasm_bindgen(method, structural, catch, js_name = getItem)]
    fn get_item(this: &KeyValueStore, key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(method, structural, catch, js_name = setItem)]
    fn set_item(this: &KeyValueStore, key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, structural, catch, js_name = removeItem)]
    fn remove_item(this: &KeyValueStore, key: &str) -> Result<JsValue, JsValue>;
}

/// `localStorage`, if this global has one and it may be used (it throws in some privacy modes).
pub(crate) fn local_storage() -> Option<KeyValueStore> {
    let window = web_sys::window()?;
    let storage = window.local_storage().ok().flatten()?;
    Some(storage.unchecked_into())
}

/// The object if it has `getItem`, `setItem` and `removeItem` functions.
pub(crate) fn key_value_store(value: &JsValue) -> Option<KeyValueStore> {
    let is_function = |name: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(name)).is_ok_and(|f| f.is_function())
    };
    (value.is_object()
        && is_function("getItem")
        && is_function("setItem")
        && is_function("removeItem"))
    .then(|| value.clone().unchecked_into())
}

/// The outbox's place in a store, or nowhere (memory only).
#[derive(Debug)]
pub(crate) struct OutboxStore {
    place: Option<(KeyValueStore, String)>,
    /// The store threw once: it is not used again.
    given_up: Cell<bool>,
}

impl OutboxStore {
    pub(crate) fn memory() -> Self {
        OutboxStore {
            place: None,
            given_up: Cell::new(false),
        }
    }

    pub(crate) fn new(store: KeyValueStore, url: &str, user: UserId) -> Self {
        OutboxStore {
            place: Some((store, storage_key(url, user))),
            given_up: Cell::new(false),
        }
    }

    fn place(&self) -> Option<&(KeyValueStore, String)> {
        self.place.as_ref().filter(|_| !self.given_up.get())
    }

    /// What was stored, if anything; `Err` (the warning, once) if the store threw.
    pub(crate) fn load(&self) -> Result<Option<String>, String> {
        let Some((store, key)) = self.place() else {
            return Ok(None);
        };
        store.get_item(key).map_err(|e| self.give_up("read", &e))
    }

    /// Stores the outbox (`saved` is [`chat_engine::Engine::save_outbox`]); `empty`
    /// removes the key. `Err` (the warning, once) if the store threw.
    pub(crate) fn save(&self, saved: &str, empty: bool) -> Result<(), String> {
        let Some((store, key)) = self.place() else {
            return Ok(());
        };
        let result = if empty {
            store.remove_item(key).map(drop)
        } else {
            store.set_item(key, saved)
        };
        result.map_err(|e| self.give_up("write", &e))
    }

    /// Moves a stored value the engine could not read (`reason`) out of the key, so that
    /// it is kept but never sent; returns the report.
    pub(crate) fn set_aside(&self, stored: &str, reason: &str, epoch_ms: u64) -> String {
        let Some((store, key)) = self.place() else {
            return text!(
                "chat engine: the stored outbox is unreadable (",
                reason,
                ")"
            );
        };
        let aside = text!(key, "/unreadable/", epoch_ms);
        let moved = store.set_item(&aside, stored).is_ok() && store.remove_item(key).is_ok();
        if moved {
            text!(
                "chat engine: the stored outbox is unreadable (",
                reason,
                "): it was set aside under \"",
                aside,
                "\" and none of it will be sent"
            )
        } else {
            self.given_up.set(true);
            text!(
                "chat engine: the stored outbox is unreadable (",
                reason,
                ") and could not be set aside: it is left under \"",
                key,
                "\", unsent, and the outbox is kept in memory"
            )
        }
    }

    fn give_up(&self, what: &str, error: &JsValue) -> String {
        self.given_up.set(true);
        let detail = js_sys::Error::from(error.clone())
            .message()
            .as_string()
            .or_else(|| error.as_string())
            .unwrap_or_default();
        text!(
            "chat engine: could not ",
            what,
            " the outbox in its storage (",
            detail,
            "); keeping it in memory from now on"
        )
    }
}

/// `chat-client/outbox/v1/<url>/<userId>`.
pub fn storage_key(url: &str, user: UserId) -> String {
    text!(
        "chat-client/outbox/v1/",
        url.trim_end_matches('/'),
        "/",
        user.0
    )
}
