//! wasm-bindgen bindings: the JS-facing surface of the engine.

use wasm_bindgen::prelude::*;

/// The engine's version (`client-wasm` crate version).
#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    crate::VERSION.to_owned()
}
