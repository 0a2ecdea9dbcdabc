//! The engine's JS methods, in one list: the one place besides the engine itself that
//! adding a command touches (docs/CLIENT.md, "Adding a command").
//!
//! Each entry of [`commands!`] gives the command's number (what JS passes to the wasm's
//! one export, `ChatEngine.call(command, a, b)`), `method` or `getter`, its name (camelCased
//! for JS), its parameters as Rust types that know their TypeScript type and their check
//! ([`Arg`]), its Rust and TypeScript return types, its doc (which becomes the TypeScript
//! doc), and the body that runs it on the driver. From that one list:
//!
//! - on wasm32, the macro writes a Rust method per entry (parse the arguments, run the
//!   body; the browser tests call these) and the `match` of `ChatEngine::call`;
//! - natively, it writes [`COMMANDS`], from which [`crate::ts`] renders the TypeScript
//!   (js/client/src/generated/bindings.ts: the command numbers, the `ChatEngine`
//!   interface and the class over `call`). `tests/bindings_ts.rs` fails when the
//!   committed file differs from it.
//!
//! Texts (docs, TypeScript types) exist only in the native expansion, so none of them
//! costs wasm. A command takes at most two arguments (`call`'s `a` and `b`).

use chat_engine::ids::ClientMessageId;
use chat_wire::{ConversationId, MessageId, UserId};

#[cfg(target_arch = "wasm32")]
use crate::refusals::WebError;
#[cfg(target_arch = "wasm32")]
use crate::web::{ChatEngine, Listeners, TransportKind, args::positive_integer};
#[cfg(target_arch = "wasm32")]
use js_sys::{Function, Object};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// Declares the commands: see the module doc.
macro_rules! commands {
    // The call of one command's method with `call`'s arguments, by its parameter count.
    (@call $this:ident $name:ident () $a:ident $b:ident) => { $this.$name() };
    (@call $this:ident $name:ident ($p:ident) $a:ident $b:ident) => { $this.$name($a) };
    (@call $this:ident $name:ident ($p:ident $q:ident) $a:ident $b:ident) => {
        $this.$name($a, $b)
    };
    (@getter method) => { false };
    (@getter getter) => { true };

    ($(
        $(#[doc = $doc:literal])*
        $number:literal $kind:ident $name:ident ($($param:ident : $ty:ty),*) -> $ret:ty as $ts:literal
            = |$driver:ident| $body:expr;
    )*) => {
        /// Every command in number order, as the TypeScript generator reads it.
        #[cfg(not(target_arch = "wasm32"))]
        pub const COMMANDS: &[Command] = &[$(Command {
            number: $number,
            name: stringify!($name),
            getter: commands!(@getter $kind),
            doc: &[$($doc),*],
            params: &[$(Param { name: stringify!($param), ts: <$ty as Arg>::TS }),*],
            returns: $ts,
        },)*];

        /// The methods behind [`ChatEngine::call`], for Rust callers and the browser tests.
        #[cfg(target_arch = "wasm32")]
        impl ChatEngine {
            $(
                $(#[doc = $doc])*
                pub fn $name(&self, $($param: JsValue),*) -> Result<$ret, WebError> {
                    $(let $param = <$ty as Arg>::from_js(&$param)?;)*
                    let $driver = &*self.driver;
                    $body
                }
            )*
        }

        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen]
        impl ChatEngine {
            /// Every method of the JS class, by number: one export instead of one
            /// wasm-bindgen shim (and one JS glue method) per method, which cost ~21 KB of
            /// wasm. js/client/src/generated/bindings.ts builds the typed class over this.
            #[wasm_bindgen(unchecked_return_type = "unknown")]
            pub fn call(
                &self,
                command: u32,
                #[wasm_bindgen(unchecked_param_type = "unknown")] a: JsValue,
                #[wasm_bindgen(unchecked_param_type = "unknown")] b: JsValue,
            ) -> Result<JsValue, WebError> {
                Ok(match command {
                    $($number => IntoJs::into_js(commands!(@call self $name ($($param)*) a b)?),)*
                    _ => JsValue::UNDEFINED,
                })
            }
        }
    };
}

commands! {
    /// Connect, and stay connected (reconnecting with backoff) until `disconnect`.
    0 method connect() -> () as "void" = |driver| driver.command(|engine, now| engine.connect(now));

    /// Close the connection and stay disconnected.
    1 method disconnect() -> () as "void" =
        |driver| driver.command(|engine, now| engine.disconnect(now));

    /// A new token (after a login or refresh): leaves an `auth` error and connects with it.
    2 method set_token(token: Token) -> () as "void" =
        |driver| driver.command(move |engine, now| engine.set_token(now, token.0));

    /// Follow a conversation: join it now and on every reconnection, keep it in sync.
    3 method join(conversation_id: ConversationId) -> () as "void" =
        |driver| driver.command(|engine, now| engine.join(now, conversation_id));

    /// Stop following it; its messages stay in memory.
    4 method leave(conversation_id: ConversationId) -> () as "void" =
        |driver| driver.command(|engine, now| engine.leave(now, conversation_id));

    /// Queue a message; returns its `clientMessageId` at once (the message shows as `sending`). Throws on empty or over-long text.
    5 method send(conversation_id: ConversationId, text: Text) -> String as "string" = |driver| {
        let sent = driver.command(|engine, now| engine.send(now, conversation_id, &text.0))?;
        match sent {
            Ok(id) => Ok(id.as_str().to_owned()),
            Err(chat_engine::engine::SendError::Text(e)) => Err(e.into()),
        }
    };

    /// Try a `failed` message again; false if it is not a failed message.
    6 method retry(client_message_id: ClientMessageId) -> bool as "boolean" =
        |driver| driver.command(|engine, now| engine.retry(now, &client_message_id));

    /// Call on every keystroke in the conversation's input.
    7 method typing(conversation_id: ConversationId) -> () as "void" =
        |driver| driver.command(|engine, now| engine.typing(now, conversation_id));

    /// Tell the sender the message was read (now, or on the next connection).
    8 method mark_read(message_id: MessageId) -> () as "void" =
        |driver| driver.command(|engine, now| engine.mark_read(now, message_id));

    /// Fetch the page before the oldest message shown; false if nothing to fetch or under way.
    9 method load_older(conversation_id: ConversationId) -> bool as "boolean" =
        |driver| driver.command(|engine, now| engine.load_older(now, conversation_id));

    /// Who is in a conversation (from `GET /api/conversations`), so presence can be placed.
    10 method set_participants(conversation_id: ConversationId, user_ids: Vec<UserId>) -> ()
        as "void" = |driver| {
        driver.command(|engine, now| engine.set_participants(now, conversation_id, &user_ids))
    };

    /// For `useSyncExternalStore`: `listener` runs after every change of the snapshot.
    11 method subscribe(listener: Subscriber) -> JsValue as "Unsubscribe" =
        |driver| Ok(driver.add_listener(Listeners::Snapshot, listener.0));

    /// Every event, in order. Listener errors are logged, never break the engine.
    12 method on_event(listener: EventListener) -> JsValue as "Unsubscribe" =
        |driver| Ok(driver.add_listener(Listeners::Event, listener.0));

    /// Everything the UI reads: the same frozen object until something changes.
    13 method get_snapshot() -> Object as "EngineSnapshot" = |driver| {
        let snapshot = driver.engine.borrow().snapshot();
        Ok(driver.cache.borrow_mut().snapshot(&snapshot))
    };

    /// One conversation's snapshot (the same object as in `getSnapshot().conversations`).
    14 method get_conversation(conversation_id: ConversationId) -> JsValue
        as "ConversationSnapshot | undefined" = |driver| {
        let snapshot = driver.engine.borrow().snapshot();
        let js = driver.cache.borrow_mut().conversation_of(&snapshot, conversation_id);
        Ok(js.map_or(JsValue::UNDEFINED, JsValue::from))
    };

    /// The user the token names, once a token was seen.
    15 getter user_id() -> JsValue as "number | null" = |driver| {
        let user = driver.engine.borrow().user().or(driver.user);
        Ok(user.map_or(JsValue::NULL, |u| JsValue::from(u.0 as f64)))
    };

    /// `"websocket"` or `"http"`.
    16 getter transport() -> JsValue as "Transport" = |driver| {
        Ok(match driver.transport {
            TransportKind::WebSocket => "websocket".into(),
            TransportKind::Http => "http".into(),
        })
    };

    /// Close the socket, stop every timer and listener. The engine cannot be used again.
    17 method destroy() -> () as "void" = |driver| {
        driver.destroy();
        Ok(())
    };

    /// What the reachability adapter reports: `false` closes the connection at once and queues sends (retries do not count down); `true` reconnects at once.
    18 method set_online(online: Online) -> () as "void" =
        |driver| driver.command(|engine, now| engine.handle_network(now, online.0));

    /// What the lifecycle adapter reports when the app comes back to the foreground: a connection that is down (lost while asleep, or waiting out a backoff) is tried again at once, and catches up.
    19 method foreground() -> () as "void" =
        |driver| driver.command(|engine, now| engine.handle_foreground(now));

    /// The user has seen the whole conversation: its unread count is 0 at once, and the
    /// server hears it now or after reconnecting (every device of the user clears too).
    20 method mark_conversation_read(conversation_id: ConversationId) -> () as "void" =
        |driver| driver.command(|engine, now| engine.mark_conversation_read(now, conversation_id));

    /// Queue a message under a `clientMessageId` the caller chose (a UUID): how the tabs of a browser send through the one that holds the connection. False, and nothing changes, if that id is already queued or shown. Throws on empty or over-long text.
    21 method send_as(conversation_id: ConversationId, message: Draft) -> bool as "boolean" = |driver| {
        let Draft { id, text } = message;
        let sent = driver.command(|engine, now| engine.send_as(now, conversation_id, &id, &text))?;
        sent.map_err(|chat_engine::engine::SendError::Text(e)| e.into())
    };
}

/// The doc of the TypeScript `ChatEngine` interface.
#[cfg(not(target_arch = "wasm32"))]
pub const INTERFACE_DOC: &str = "\
The chat engine (SPEC.md section 5). Every method validates its arguments and throws a
`ChatEngineError` (with a `code`) on bad input; none of them blocks.
After `destroy()` every method but `getSnapshot`/`getConversation` throws.";

/// One command, as [`COMMANDS`] lists it.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug)]
pub struct Command {
    /// What JS passes to `call`.
    pub number: u32,
    /// The Rust name; JS has it camelCased.
    pub name: &'static str,
    /// A read-only property in JS rather than a method (no parameters).
    pub getter: bool,
    /// The doc comment's lines.
    pub doc: &'static [&'static str],
    pub params: &'static [Param],
    /// The TypeScript return type.
    pub returns: &'static str,
}

/// One parameter of a [`Command`].
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The Rust name; JS has it camelCased.
    pub name: &'static str,
    pub ts: &'static str,
}

/// A parameter type: its TypeScript type and (wasm32) how a JS value is checked and
/// parsed into it. Arguments arrive as raw `JsValue`s, so a wrong type from plain JS or a
/// cast-away TypeScript check becomes a refusal ([`crate::refusals::WebError`]), never a silent coercion
/// (wasm-bindgen would turn `"7"` into 7 and `NaN` into 0) or a panic.
pub trait Arg: Sized {
    const TS: &'static str;
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError>;
}

/// An id is an integer in 1..=2^53-1 (a string `"7"`, `NaN`, `-1`, `1.5` are refused).
impl Arg for ConversationId {
    const TS: &'static str = "number";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        positive_integer(value)
            .map(ConversationId)
            .ok_or(WebError::ConversationId)
    }
}

impl Arg for MessageId {
    const TS: &'static str = "number";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        positive_integer(value)
            .map(MessageId)
            .ok_or(WebError::MessageId)
    }
}

impl Arg for Vec<UserId> {
    const TS: &'static str = "readonly number[]";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        if !js_sys::Array::is_array(value) {
            return Err(WebError::UserIds);
        }
        let array: &js_sys::Array = wasm_bindgen::JsCast::unchecked_ref(value);
        array
            .iter()
            .map(|v| {
                positive_integer(&v)
                    .map(UserId)
                    .ok_or(WebError::UserIdsItem)
            })
            .collect()
    }
}

impl Arg for ClientMessageId {
    const TS: &'static str = "string";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        value
            .as_string()
            .and_then(|text| ClientMessageId::parse(&text).ok())
            .ok_or(WebError::ClientMessageId)
    }
}

/// A message's text: any string (the engine checks its content when sending).
#[derive(Debug)]
pub struct Text(pub String);

impl Arg for Text {
    const TS: &'static str = "string";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        value.as_string().map(Text).ok_or(WebError::Text)
    }
}

/// A message with the `clientMessageId` it is to be sent under (`sendAs`).
#[derive(Debug)]
pub struct Draft {
    pub id: ClientMessageId,
    pub text: String,
}

impl Arg for Draft {
    const TS: &'static str = "{ readonly clientMessageId: string; readonly text: string }";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        let field = |name: &str| js_sys::Reflect::get(value, &JsValue::from_str(name));
        let id = field("clientMessageId").map_err(|_| WebError::ClientMessageId)?;
        let text = field("text").map_err(|_| WebError::Text)?;
        Ok(Draft {
            id: ClientMessageId::from_js(&id)?,
            text: Text::from_js(&text)?.0,
        })
    }
}

/// A token: a non-empty string.
#[derive(Debug)]
pub struct Token(pub String);

impl Arg for Token {
    const TS: &'static str = "string";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        match value.as_string() {
            Some(token) if !token.is_empty() => Ok(Token(token)),
            _ => Err(WebError::Token),
        }
    }
}

/// Whether the network is reachable (`setOnline`): a boolean.
#[derive(Debug)]
pub struct Online(pub bool);

impl Arg for Online {
    const TS: &'static str = "boolean";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        value.as_bool().map(Online).ok_or(WebError::Online)
    }
}

/// A listener of snapshot changes (`subscribe`).
#[derive(Debug)]
pub struct Subscriber(#[cfg(target_arch = "wasm32")] pub Function);

impl Arg for Subscriber {
    const TS: &'static str = "() => void";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        function(value).map(Subscriber).ok_or(WebError::Subscriber)
    }
}

/// A listener of events (`onEvent`).
#[derive(Debug)]
pub struct EventListener(#[cfg(target_arch = "wasm32")] pub Function);

impl Arg for EventListener {
    const TS: &'static str = "(event: EngineEvent) => void";
    #[cfg(target_arch = "wasm32")]
    fn from_js(value: &JsValue) -> Result<Self, WebError> {
        function(value)
            .map(EventListener)
            .ok_or(WebError::EventListener)
    }
}

#[cfg(target_arch = "wasm32")]
fn function(value: &JsValue) -> Option<Function> {
    wasm_bindgen::JsCast::dyn_into::<Function>(value.clone()).ok()
}

/// What a command's body returns, as `call` hands it to JS.
#[cfg(target_arch = "wasm32")]
trait IntoJs {
    fn into_js(self) -> JsValue;
}

#[cfg(target_arch = "wasm32")]
impl IntoJs for () {
    fn into_js(self) -> JsValue {
        JsValue::UNDEFINED
    }
}

#[cfg(target_arch = "wasm32")]
macro_rules! into_js {
    ($($t:ty),*) => {$(
        impl IntoJs for $t {
            fn into_js(self) -> JsValue {
                self.into()
            }
        }
    )*};
}

#[cfg(target_arch = "wasm32")]
into_js!(bool, String, JsValue, Object);
