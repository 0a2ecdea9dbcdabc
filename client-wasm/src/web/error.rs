//! How refusals reach JS, and the console: every exported method returns
//! `Result<_, WebError>` (the refusals are listed in `crate::refusals`); wasm-bindgen
//! throws the `Err` through `From<WebError> for JsValue` as its number alone.
//! js/client turns that number into a `ChatEngineError` with a `code` and a message
//! naming the bad value (the texts live in JS, where they cost no wasm). A caller of the
//! package never sees the number, nor a wasm trap.

use wasm_bindgen::prelude::*;

pub use crate::refusals::WebError;

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
