//! The JS-facing `ChatEngine` in headless Chromium, without a server: bad options and bad
//! arguments are refused (thrown, never a trap that kills the engine; js/client turns the
//! refusal into a `ChatEngineError`), snapshots keep their identity while nothing changed,
//! and `destroy` ends everything.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser_support;

use browser_support::{get, n, options};
use client_wasm::web::{ChatEngine, WebError};
use js_sys::{Object, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// An engine for a server that is never contacted (nothing listens on port 9).
fn offline_engine() -> ChatEngine {
    let token = Rc::new(RefCell::new(Some("t".to_owned())));
    ChatEngine::new(options(
        "http://127.0.0.1:9",
        token,
        "memory",
        "websocket",
        Some(1),
    ))
    .unwrap()
}

fn code(error: WebError) -> &'static str {
    error.code()
}

#[wasm_bindgen_test]
fn bad_options_are_refused_with_a_clear_error() {
    let valid = || {
        options(
            "http://127.0.0.1:9",
            Rc::default(),
            "memory",
            "websocket",
            None,
        )
    };
    let with = |key: &str, value: JsValue| {
        let o = valid();
        Reflect::set(&o, &key.into(), &value).unwrap();
        o
    };
    let cases = [
        (JsValue::UNDEFINED, WebError::OptionsNotObject),
        (with("url", JsValue::UNDEFINED), WebError::Url),
        (with("url", "chat.example".into()), WebError::UrlScheme),
        (with("getToken", "token".into()), WebError::GetToken),
        (with("storage", "disk".into()), WebError::Storage),
        (
            with("transport", "carrier-pigeon".into()),
            WebError::Transport,
        ),
        (with("userId", (-3.0).into()), WebError::UserId),
        (
            with("pollIntervalMs", f64::NAN.into()),
            WebError::PollInterval,
        ),
    ];
    for (options, expected) in cases {
        let error = ChatEngine::new(options).unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(error.code(), "invalid_options");
    }
}

#[wasm_bindgen_test]
fn wrong_argument_types_throw_and_leave_the_engine_working() {
    let engine = offline_engine();
    for bad in [
        JsValue::from("7"),
        JsValue::from(f64::NAN),
        JsValue::from(-1.0),
        JsValue::from(0.0),
        JsValue::from(1.5),
        JsValue::from(f64::INFINITY),
        JsValue::from(9_007_199_254_740_992.0),
        Object::new().into(),
        JsValue::NULL,
        JsValue::UNDEFINED,
    ] {
        assert_eq!(
            code(engine.join(bad.clone()).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code(engine.leave(bad.clone()).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code(engine.typing(bad.clone()).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code(engine.mark_read(bad.clone()).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code(engine.load_older(bad.clone()).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code(engine.send(bad.clone(), "hi".into()).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code(engine.get_conversation(bad.clone()).unwrap_err()),
            "invalid_argument"
        );
    }
    assert_eq!(
        code(engine.send(n(1), n(5)).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(
        code(engine.send(n(1), "   ".into()).unwrap_err()),
        "invalid_text"
    );
    assert_eq!(
        code(engine.send(n(1), "x".repeat(1001).into()).unwrap_err()),
        "invalid_text"
    );
    assert_eq!(
        code(engine.retry("not-a-uuid".into()).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(code(engine.retry(n(3)).unwrap_err()), "invalid_argument");
    assert_eq!(
        code(engine.set_token(JsValue::NULL).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(
        code(engine.set_token("".into()).unwrap_err()),
        "invalid_argument"
    );
    let strings = js_sys::Array::of2(&"1".into(), &"2".into());
    assert_eq!(
        code(engine.set_participants(n(1), strings.into()).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(
        code(engine.subscribe("nope".into()).unwrap_err()),
        "invalid_argument"
    );

    // Still alive and well: a valid call works.
    let id = engine.send(n(1), "still here".into()).unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(engine.snapshot().outbox_len, 1);
    assert!(
        !engine.retry(id.into()).unwrap(),
        "a sending message is not failed"
    );
}

/// js/client turns the thrown number into its `ChatEngineError` (the texts are in
/// js/client/src/generated/bindings.ts, rendered from `client_wasm::refusals`;
/// js/client/test/refusals.test.ts checks every one).
#[wasm_bindgen_test]
fn a_refusal_is_thrown_as_its_number() {
    let number = |error: WebError| JsValue::from(error).as_f64();
    assert_eq!(number(WebError::OptionsNotObject), Some(1.0));
    assert_eq!(number(WebError::ConversationId), Some(9.0));
    assert_eq!(number(WebError::TextEmpty), Some(19.0));
    assert_eq!(number(WebError::Destroyed), Some(22.0));
}

#[wasm_bindgen_test]
fn snapshots_keep_their_identity_until_something_changes() {
    let engine = offline_engine();
    let first = engine.get_snapshot().unwrap();
    assert!(Object::is_frozen(&first));
    assert!(
        Object::is(&first, &engine.get_snapshot().unwrap()),
        "same object while unchanged"
    );

    engine.join(n(1)).unwrap();
    engine.join(n(2)).unwrap();
    let second = engine.get_snapshot().unwrap();
    assert!(!Object::is(&first, &second), "a change gives a new object");
    let one = engine.get_conversation(n(1)).unwrap();
    let two = engine.get_conversation(n(2)).unwrap();
    assert!(Object::is(&one, &get(&get(&second, "conversations"), "1")));

    engine.send(n(2), "only two changes".into()).unwrap();
    let third = engine.get_snapshot().unwrap();
    assert!(!Object::is(&second, &third));
    assert!(
        Object::is(&one, &engine.get_conversation(n(1)).unwrap()),
        "an untouched conversation keeps its object"
    );
    assert!(!Object::is(&two, &engine.get_conversation(n(2)).unwrap()));
    assert!(
        Object::is(&get(&second, "connection"), &get(&third, "connection")),
        "the connection object keeps its identity while the connection is unchanged"
    );
    let messages = get(&engine.get_conversation(n(2)).unwrap(), "messages");
    let message = js_sys::Array::from(&messages).get(0);
    assert_eq!(
        get(&message, "status").as_string().as_deref(),
        Some("sending")
    );
    assert_eq!(get(&message, "id"), JsValue::NULL);
    assert_eq!(engine.get_conversation(n(3)).unwrap(), JsValue::UNDEFINED);
}

#[wasm_bindgen_test]
fn subscribers_hear_each_change_once_and_stop_after_unsubscribing() {
    let engine = offline_engine();
    let calls = Rc::new(RefCell::new(0));
    let listener = {
        let calls = calls.clone();
        wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || *calls.borrow_mut() += 1)
            .into_js_value()
    };
    let unsubscribe: js_sys::Function = engine.subscribe(listener).unwrap().into();
    engine.join(n(1)).unwrap();
    assert_eq!(*calls.borrow(), 1);
    engine.join(n(1)).unwrap();
    assert_eq!(*calls.borrow(), 1, "no change, no call");
    unsubscribe.call0(&JsValue::NULL).unwrap();
    unsubscribe.call0(&JsValue::NULL).unwrap();
    engine.join(n(2)).unwrap();
    assert_eq!(*calls.borrow(), 1);
}

#[wasm_bindgen_test]
fn a_destroyed_engine_refuses_commands_but_still_reads() {
    let engine = offline_engine();
    engine.join(n(1)).unwrap();
    engine.destroy().unwrap();
    assert_eq!(code(engine.connect().unwrap_err()), "destroyed");
    assert_eq!(code(engine.join(n(2)).unwrap_err()), "destroyed");
    assert!(Object::is(
        &engine.get_snapshot().unwrap(),
        &engine.get_snapshot().unwrap()
    ));
    engine.destroy().unwrap();
}
