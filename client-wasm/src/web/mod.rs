//! wasm-bindgen bindings: the engine in a browser (or any JS runtime with `WebSocket`,
//! `fetch` and `setTimeout`), as one exported class, `ChatEngine`, whose methods are
//! reached through one export, [`ChatEngine::call`] (js/client/src/generated/bindings.ts
//! is the typed JS class over it).
//!
//! This is the run loop of the crate doc, wired to the platform:
//!
//! - [`socket`]: one `web_sys::WebSocket` per socket the engine asks for.
//! - [`timer`]: the one timer for [`Engine::poll_timeout`], and the clock (`performance.now()`).
//! - [`http`]: history requests (and sends in HTTP mode) through `fetch`, with the bearer token.
//! - [`storage`]: the outbox in a key–value store (`localStorage`, or the app's), keyed by
//!   server URL and user.
//! - [`to_js`]: snapshots and events as frozen JS objects, cached so identity means "unchanged".
//! - [`args`]: the options of `new ChatEngine`, parsed (the methods' arguments are parsed
//!   by their types, `crate::commands::Arg`).
//! - [`error`]: refusals thrown as their number (`crate::refusals`), the console, the panic hook.
//!
//! The methods and the one export `call` are written by `crate::commands` from its list.
//! Reachability and the app's lifecycle are not watched here: js/client's platform
//! adapters call the commands `setOnline` and `foreground` (so phones and browsers differ
//! only in JS).
//!
//! The driver ([`Driver`]) is shared by the class and by the callbacks it registers
//! (which hold it weakly). Every entry point changes the engine and then calls
//! [`Driver::pump`], which drains the engine's outputs, carries them out, re-arms the
//! timer and tells subscribers. JS listeners run with no Rust borrow held, so a listener
//! may call back into the engine: what that call produces is queued in the engine and
//! drained by the pump already running.

pub(crate) mod args;
mod error;
mod http;
mod socket;
mod storage;
mod timer;
mod to_js;

use chat_engine::text;
use js_sys::{Function, Promise};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use args::StorageKind;
pub(crate) use args::TransportKind;
use chat_engine::config::Config;
use chat_engine::engine::{Engine, Event, Output};
use chat_engine::ids::{RequestId, SocketId};
use chat_engine::time::Millis;
use chat_engine::vecmap::VecMap;
use error::console_error;
use socket::Socket;
use storage::OutboxStore;
use timer::{DeadlineTimer, now};
use to_js::JsCache;

/// HTTP-only mode: how often history is polled unless `pollIntervalMs` says otherwise.
const DEFAULT_POLL_MS: u64 = 2000;

pub use error::WebError;
pub use storage::storage_key as outbox_storage_key;

/// The engine's version (`client-wasm` crate version).
#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    chat_engine::VERSION.to_owned()
}

/// The `userId` claim of a JWT (not verified: only the server can), or `null`. The JS
/// package uses it to pick the outbox's storage key before the first connect.
#[wasm_bindgen(js_name = tokenUserId, unchecked_return_type = "number | null")]
pub fn token_user_id(#[wasm_bindgen(unchecked_param_type = "string")] token: JsValue) -> JsValue {
    token
        .as_string()
        .and_then(|token| chat_engine::token::user_id(&token))
        .map_or(JsValue::NULL, |user| JsValue::from(user.0 as f64))
}

/// The chat engine for JS: SPEC.md section 5. See the module doc.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ChatEngine {
    pub(crate) driver: Rc<Driver>,
}

#[wasm_bindgen]
impl ChatEngine {
    /// A disconnected engine with the stored outbox restored. Throws a `ChatEngineError`
    /// (code `invalid_options`) on bad options.
    #[wasm_bindgen(constructor)]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "object")] options: JsValue,
    ) -> Result<ChatEngine, WebError> {
        ChatEngine::new(options)
    }
}

// `ChatEngine::call` and the methods behind it are written by `crate::commands`, from its list.

impl ChatEngine {
    /// A disconnected engine with the stored outbox restored. Throws a `ChatEngineError`
    /// (code `invalid_options`) on bad options.
    pub fn new(options: JsValue) -> Result<ChatEngine, WebError> {
        error::install_panic_hook();
        let options = args::options(&options)?;
        Ok(ChatEngine {
            driver: Driver::new(options),
        })
    }
}

/// Rust-side access for tests and Rust callers.
impl ChatEngine {
    /// The engine's current snapshot (the data behind `getSnapshot`).
    pub fn snapshot(&self) -> std::sync::Arc<chat_engine::Snapshot> {
        self.driver.engine.borrow().snapshot()
    }

    /// Messages waiting in the outbox, as [`Engine::save_outbox`] stores them.
    pub fn saved_outbox(&self) -> String {
        self.driver.engine.borrow().save_outbox()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listeners {
    Snapshot,
    Event,
}

/// The engine and everything it drives. See the module doc.
#[derive(Debug)]
pub(crate) struct Driver {
    this: Weak<Driver>,
    pub(crate) engine: RefCell<Engine>,
    sockets: RefCell<VecMap<SocketId, Socket>>,
    timer: RefCell<DeadlineTimer>,
    pub(crate) cache: RefCell<JsCache>,
    store: OutboxStore,
    get_token: Function,
    pub(crate) user: Option<chat_wire::UserId>,
    pub(crate) transport: TransportKind,
    subscribers: RefCell<Vec<(u32, Function)>>,
    event_listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    notified_version: Cell<u64>,
    pumping: Cell<bool>,
    destroyed: Cell<bool>,
}

impl Driver {
    fn new(options: args::Options) -> Rc<Driver> {
        let mut config = Config::new(options.url.clone());
        if options.transport == TransportKind::Http {
            config.http_poll_ms = Some(options.poll_interval_ms.unwrap_or(DEFAULT_POLL_MS));
        }
        let store = match (options.storage, options.user) {
            (StorageKind::Store(store), Some(user)) => OutboxStore::new(store, &options.url, user),
            (StorageKind::Store(_), None) => {
                error::console_warn(
                    "chat engine: no userId known, so the outbox is kept in memory only \
                     (pass userId, or let createChatEngine read it from the token)",
                );
                OutboxStore::memory()
            }
            (StorageKind::Memory, _) => OutboxStore::memory(),
        };
        let mut engine = Engine::new(config, random_seed());
        let start = now();
        match store.load() {
            Ok(Some(stored)) => {
                if let Err(e) = engine.restore_outbox(start, &stored) {
                    let epoch_ms = (timer::time_origin() as u64).saturating_add(start.0);
                    error::console_warn(&store.set_aside(&stored, &e.0, epoch_ms));
                }
            }
            Ok(None) => {}
            Err(warning) => error::console_warn(&warning),
        }
        let driver = Rc::new_cyclic(|this| Driver {
            this: this.clone(),
            engine: RefCell::new(engine),
            sockets: RefCell::default(),
            timer: RefCell::default(),
            cache: RefCell::new(JsCache::new(timer::time_origin())),
            store,
            get_token: options.get_token,
            user: options.user,
            transport: options.transport,
            subscribers: RefCell::default(),
            event_listeners: RefCell::default(),
            next_listener: Cell::new(0),
            notified_version: Cell::new(0),
            pumping: Cell::new(false),
            destroyed: Cell::new(false),
        });
        driver
            .notified_version
            .set(driver.engine.borrow().version());
        driver.pump();
        driver
    }

    /// Runs an app command on the engine, then the run loop.
    pub(crate) fn command<T>(
        &self,
        f: impl FnOnce(&mut Engine, Millis) -> T,
    ) -> Result<T, WebError> {
        if self.destroyed.get() {
            return Err(WebError::Destroyed);
        }
        let result = f(&mut self.engine.borrow_mut(), now());
        self.pump();
        Ok(result)
    }

    /// Feeds an input from the platform (ignored once destroyed), then runs the loop.
    fn input(&self, f: impl FnOnce(&mut Engine, Millis)) {
        if self.destroyed.get() {
            return;
        }
        f(&mut self.engine.borrow_mut(), now());
        self.pump();
    }

    /// Step 2 and 3 of the run loop: drain the outputs, re-arm the timer; then tell
    /// subscribers if the snapshot moved.
    fn pump(&self) {
        if self.pumping.replace(true) {
            return; // The pump below us drains what this call queued.
        }
        loop {
            let output = self.engine.borrow_mut().poll_output();
            match output {
                Some(output) => self.carry_out(output),
                None => break,
            }
        }
        self.pumping.set(false);
        if self.destroyed.get() {
            return;
        }
        let deadline = self.engine.borrow().poll_timeout();
        self.timer.borrow_mut().set(deadline, self.this.clone());
        self.notify();
    }

    fn carry_out(&self, output: Output) {
        match output {
            Output::OpenSocket { socket, url } => {
                match Socket::open(&url, socket, self.this.clone()) {
                    Ok(opened) => {
                        self.sockets.borrow_mut().insert(socket, opened);
                    }
                    Err(error) => {
                        self.warn(&text!("cannot open a WebSocket: ", describe(&error)));
                        self.engine.borrow_mut().handle_socket_closed(now(), socket);
                    }
                }
            }
            Output::SendFrame { socket, text } => {
                let sent = self.sockets.borrow().get(&socket).map(|s| s.send(&text));
                if let Some(Err(error)) = sent {
                    self.warn(&text!("WebSocket send failed: ", describe(&error)));
                }
            }
            Output::CloseSocket { socket } => {
                let closed = self.sockets.borrow_mut().remove(&socket);
                drop(closed);
            }
            Output::RequestToken => self.request_token(),
            Output::Http(request) => http::start(request, self.this.clone()),
            Output::Event(Event::OutboxChanged) => {
                let saved = {
                    let engine = self.engine.borrow();
                    let empty = engine.snapshot().outbox_len == 0;
                    self.store.save(&engine.save_outbox(), empty)
                };
                if let Err(warning) = saved {
                    error::console_warn(&warning);
                    self.warn(&warning);
                }
            }
            Output::Event(event) => {
                let snapshot = self.engine.borrow().snapshot();
                if let Some(js) = to_js::event(&event, &snapshot) {
                    self.emit(&js);
                }
            }
        }
    }

    /// Asks the app's `getToken` (a value or a Promise) and answers the engine.
    fn request_token(&self) {
        let answer = match self.get_token.call0(&JsValue::UNDEFINED) {
            Ok(value) => Promise::resolve(&value),
            Err(error) => Promise::reject(&error),
        };
        let driver = self.this.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = JsFuture::from(answer).await;
            let Some(driver) = driver.upgrade() else {
                return;
            };
            match answer {
                Ok(value) if value.is_null() || value.is_undefined() => {
                    driver.input(|engine, now| engine.handle_token(now, None));
                }
                Ok(value) => match value.as_string() {
                    Some(token) if !token.is_empty() => {
                        driver.input(|engine, now| engine.handle_token(now, Some(token)));
                    }
                    _ => driver.token_failed("getToken returned something other than a string"),
                },
                Err(error) => driver.token_failed(&text!("getToken failed: ", describe(&error))),
            }
        });
    }

    /// The token could not be had (not "there is none"): the attempt fails and backs off.
    fn token_failed(&self, reason: &str) {
        self.warn(reason);
        self.input(|engine, now| engine.handle_token_failed(now));
    }

    fn socket_opened(&self, socket: SocketId) {
        self.input(|engine, now| engine.handle_socket_open(now, socket));
    }

    fn socket_frame(&self, socket: SocketId, text: &str) {
        self.input(|engine, now| engine.handle_frame(now, socket, text));
    }

    fn socket_closed(&self, socket: SocketId) {
        let closed = self.sockets.borrow_mut().remove(&socket);
        drop(closed);
        self.input(|engine, now| engine.handle_socket_closed(now, socket));
    }

    fn http_response(&self, id: RequestId, status: u16, body: &str) {
        self.input(|engine, now| engine.handle_http_response(now, id, status, body));
    }

    fn http_failed(&self, id: RequestId) {
        self.input(|engine, now| engine.handle_http_failed(now, id));
    }

    fn timer_fired(&self) {
        self.timer.borrow_mut().cancel();
        self.input(|engine, now| engine.handle_timeout(now));
    }

    /// A warning for the app's log (an `EngineEvent` of type `warning`).
    fn warn(&self, message: &str) {
        let event = Event::Warning(message.to_owned());
        let snapshot = self.engine.borrow().snapshot();
        if let Some(js) = to_js::event(&event, &snapshot) {
            self.emit(&js);
        }
    }

    fn emit(&self, event: &JsValue) {
        let listeners: Vec<Function> = self
            .event_listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for listener in listeners {
            if let Err(error) = listener.call1(&JsValue::UNDEFINED, event) {
                console_error("chat engine: an event listener threw", &error);
            }
        }
    }

    /// Tells subscribers once per new snapshot version.
    fn notify(&self) {
        let version = self.engine.borrow().version();
        if self.notified_version.replace(version) == version {
            return;
        }
        let subscribers: Vec<Function> = self
            .subscribers
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for subscriber in subscribers {
            if let Err(error) = subscriber.call0(&JsValue::UNDEFINED) {
                console_error("chat engine: a subscriber threw", &error);
            }
        }
    }

    pub(crate) fn add_listener(&self, kind: Listeners, listener: Function) -> JsValue {
        let id = self.next_listener.get();
        self.next_listener.set(id.wrapping_add(1));
        self.list(kind).borrow_mut().push((id, listener));
        let driver = self.this.clone();
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(driver) = driver.upgrade() {
                driver.list(kind).borrow_mut().retain(|(i, _)| *i != id);
            }
        });
        unsubscribe.into_js_value()
    }

    fn list(&self, kind: Listeners) -> &RefCell<Vec<(u32, Function)>> {
        match kind {
            Listeners::Snapshot => &self.subscribers,
            Listeners::Event => &self.event_listeners,
        }
    }

    pub(crate) fn destroy(&self) {
        if self.destroyed.get() {
            return;
        }
        self.engine.borrow_mut().disconnect(now());
        self.pump();
        self.destroyed.set(true);
        self.timer.borrow_mut().cancel();
        let sockets = std::mem::take(&mut *self.sockets.borrow_mut());
        drop(sockets);
        self.subscribers.borrow_mut().clear();
        self.event_listeners.borrow_mut().clear();
    }
}

/// 64 bits from `crypto.getRandomValues` (`Math.random` where there is none): client
/// message ids must not repeat across page loads, so the seed may not be fixed.
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if fill_random(&mut bytes).is_ok() && bytes != [0; 8] {
        return u64::from_le_bytes(bytes);
    }
    let high = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let low = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (high << 32) | low
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn fill_random(buffer: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// A JS error's message, for a log line.
fn describe(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    js_sys::Error::from(error.clone())
        .message()
        .as_string()
        .unwrap_or_else(|| "unknown error".into())
}
