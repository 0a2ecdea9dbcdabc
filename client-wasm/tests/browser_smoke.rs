//! Proves the wasm-bindgen-test harness runs in headless Chromium: the module loads, the
//! exported API answers, and browser APIs the engine depends on exist.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn engine_loads_in_a_browser_and_reports_its_version() {
    assert_eq!(
        client_wasm::web::engine_version(),
        env!("CARGO_PKG_VERSION")
    );
}

#[wasm_bindgen_test]
fn browser_provides_local_storage_for_the_outbox() {
    let window = web_sys::window().expect("running in a browser window");
    let storage = window
        .local_storage()
        .expect("localStorage is allowed")
        .expect("localStorage exists");
    storage
        .set_item("chat-smoke", "1")
        .expect("localStorage is writable");
    assert_eq!(
        storage.get_item("chat-smoke").unwrap().as_deref(),
        Some("1")
    );
    storage.remove_item("chat-smoke").unwrap();
}
