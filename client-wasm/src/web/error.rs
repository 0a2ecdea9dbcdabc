//! The one place where the bindings' failures become JS `Error`s.
//!
//! Every exported method returns `Result<_, WebError>`; wasm-bindgen turns the `Err` into
//! a thrown value through `From<WebError> for JsValue`, so callers always catch an
//! `Error` named `ChatEngineError` with a `code` they can switch on, never a string and
//! never a wasm trap.

use wasm_bindgen::prelude::*;

/// Why a call into the engine was refused (thrown to JS as a `ChatEngineError`).
#[derive(Debug, PartialEq, Eq)]
pub enum WebError {
    /// `createChatEngine` / `new ChatEngine` options are wrong.
    Options(String),
    /// A method argument has the wrong type or range.
    Argument(String),
    /// `send` refused the text (empty, too long, control characters).
    Text(String),
    /// The engine was destroyed.
    Destroyed,
}

impl WebError {
    /// The `code` of the thrown error.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::Options(_) => "invalid_options",
            WebError::Argument(_) => "invalid_argument",
            WebError::Text(_) => "invalid_text",
            WebError::Destroyed => "destroyed",
        }
    }

    /// The `message` of the thrown error.
    pub fn message(&self) -> String {
        match self {
            WebError::Options(m) => format!("createChatEngine: {m}"),
            WebError::Argument(m) => m.clone(),
            WebError::Text(m) => format!("the message cannot be sent: {m}"),
            WebError::Destroyed => "the chat engine was destroyed".to_owned(),
        }
    }
}

impl From<WebError> for JsValue {
    fn from(error: WebError) -> JsValue {
        let js = js_sys::Error::new(&error.message());
        js.set_name("ChatEngineError");
        // Setting a property on a fresh Error cannot fail.
        let _ = js_sys::Reflect::set(&js, &"code".into(), &error.code().into());
        js.into()
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
