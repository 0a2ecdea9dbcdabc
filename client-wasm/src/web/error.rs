//! The one place where the bindings' refusals are defined.
//!
//! Every exported method returns `Result<_, WebError>`; wasm-bindgen throws the `Err`
//! through `From<WebError> for JsValue` as its number alone. js/client/src/engine.ts
//! catches that number and throws an `Error` named `ChatEngineError` with a `code` and a
//! message naming the bad value: the texts live in JS, where they cost no wasm (format
//! strings and value descriptions took ~3 KB gzipped, docs/CLIENT.md "Size"). A caller of
//! the package never sees the number, nor a wasm trap.

use wasm_bindgen::prelude::*;

/// Why a call into the engine was refused. The numbers are `REFUSALS` of
/// js/client/src/engine.ts, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebError {
    // The options of `new ChatEngine` (code `invalid_options`).
    OptionsNotObject = 1,
    Url,
    UrlScheme,
    GetToken,
    Storage,
    Transport,
    UserId,
    PollInterval,
    // A method argument (code `invalid_argument`).
    ConversationId,
    MessageId,
    UserIds,
    UserIdsItem,
    Text,
    Token,
    ClientMessageId,
    Subscriber,
    EventListener,
    // `send` refused the text (code `invalid_text`).
    TextEmpty,
    TextTooLong,
    TextControlCharacter,
    /// The engine was destroyed (code `destroyed`).
    Destroyed,
}

impl WebError {
    /// The `code` of the `ChatEngineError` the JS package throws for this refusal.
    pub fn code(self) -> &'static str {
        use WebError::*;
        match self {
            OptionsNotObject | Url | UrlScheme | GetToken | Storage | Transport | UserId
            | PollInterval => "invalid_options",
            TextEmpty | TextTooLong | TextControlCharacter => "invalid_text",
            Destroyed => "destroyed",
            _ => "invalid_argument",
        }
    }
}

impl From<chat_wire::text::TextError> for WebError {
    fn from(error: chat_wire::text::TextError) -> WebError {
        match error {
            chat_wire::text::TextError::Empty => WebError::TextEmpty,
            chat_wire::text::TextError::TooLong => WebError::TextTooLong,
            chat_wire::text::TextError::ControlCharacter => WebError::TextControlCharacter,
        }
    }
}

impl From<WebError> for JsValue {
    fn from(error: WebError) -> JsValue {
        JsValue::from(error as u32)
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub(crate) fn console_warn(message: &str);
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub(crate) fn console_error(message: &str, error: &JsValue);
    #[cfg(debug_assertions)]
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error_text(message: &str);
}

/// Turns a panic (which should never happen: inputs are validated first) into a console
/// error instead of a bare `unreachable` trap, so the cause is visible. Installed once.
/// Debug and test builds only: the size-budgeted release build aborts at once on a panic
/// (`-Cpanic=immediate-abort`), where the hook would never run but its formatting code
/// would still be linked.
pub(crate) fn install_panic_hook() {
    #[cfg(debug_assertions)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                console_error_text(&format!("chat engine panic: {info}"));
            }));
        });
    }
}
