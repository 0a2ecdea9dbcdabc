//! Helpers of the browser tests: the chat-server under test (its URL comes from the task
//! runner at compile time), REST calls, engines, and waiting on an engine's snapshot with a
//! timeout (woken by the engine's own `subscribe`, never by polling or sleeping).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chat_engine::Snapshot;
use client_wasm::web::ChatEngine;
use js_sys::{Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, MessageEvent, Request, RequestInit, Response, WebSocket};

/// The chat-server the task runner started (`cargo xtask test`), if any.
pub const SERVER_URL: Option<&str> = option_env!("CHAT_TEST_SERVER_URL");
/// Its `JWT_SECRET`, to sign an already-expired token.
pub const JWT_SECRET: Option<&str> = option_env!("CHAT_TEST_JWT_SECRET");

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timer(f: &Function, ms: i32) -> JsValue;
}

/// HS256 with WebCrypto (a secure context: the test page is on 127.0.0.1).
const SIGN_JWT: &str = r#"
const enc = new TextEncoder();
const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const header = b64(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
const payload = b64(enc.encode(payloadJson));
return crypto.subtle
  .importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
  .then((key) => crypto.subtle.sign("HMAC", key, enc.encode(header + "." + payload)))
  .then((signature) => header + "." + payload + "." + b64(signature));
"#;

fn sign_jwt(secret: &str, payload_json: &str) -> Promise {
    let sign = Function::new_with_args("secret, payloadJson", SIGN_JWT);
    sign.call2(&JsValue::NULL, &secret.into(), &payload_json.into())
        .unwrap()
        .unchecked_into()
}

/// The server's URL, once it answers the Socket.IO handshake. wasm-bindgen-test cannot
/// skip a test at run time, and a test that returns early would count as passed: so
/// without a server the test fails, saying how to run it.
pub async fn server(test: &str) -> String {
    let Some(url) = SERVER_URL else {
        panic!(
            "{test} needs a chat-server: CHAT_TEST_SERVER_URL was unset at build time \
             (`cargo xtask test` starts one and sets it; docs/CLIENT.md shows how by hand)"
        );
    };
    assert!(
        socket_io_answers(url).await,
        "{test}: the chat-server at {url} does not answer the Socket.IO handshake"
    );
    url.trim_end_matches('/').to_owned()
}

/// Whether `url` answers an Engine.IO WebSocket handshake with its open packet (`0{…}`).
async fn socket_io_answers(url: &str) -> bool {
    let ws_url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        url.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let Ok(ws) = WebSocket::new(&ws_url) else {
        return false;
    };
    let answer = Promise::new(&mut |resolve, _| {
        let on_message = {
            let resolve = resolve.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let open = e.data().as_string().is_some_and(|t| t.starts_with('0'));
                let _ = resolve.call1(&JsValue::NULL, &open.into());
            })
        };
        let on_close = {
            let resolve = resolve.clone();
            Closure::<dyn FnMut()>::new(move || {
                let _ = resolve.call1(&JsValue::NULL, &false.into());
            })
        };
        let timeout = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &false.into());
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        set_timer(timeout.unchecked_ref(), 3000);
        on_message.forget();
        on_close.forget();
    });
    let open = JsFuture::from(answer).await.ok().and_then(|v| v.as_bool()) == Some(true);
    ws.set_onmessage(None);
    ws.set_onclose(None);
    let _ = ws.close();
    open
}

/// A registered user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub token: String,
}

/// Registers a fresh user (a random name, so tests never collide).
pub async fn register(url: &str) -> User {
    let name = format!("u{}", (js_sys::Math::random() * 1e12) as u64);
    let body = format!(r#"{{"username":"{name}","password":"correct-horse-battery-staple"}}"#);
    let (status, json) = fetch_json(
        "POST",
        &format!("{url}/api/auth/register"),
        None,
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "register {name}: {status}");
    let token = get(&json, "token").as_string().unwrap();
    let id = get(&get(&json, "user"), "id").as_f64().unwrap() as i64;
    User { id, name, token }
}

/// Creates a conversation of `owner` with `others`; returns its id.
pub async fn create_conversation(url: &str, owner: &User, others: &[&User]) -> i64 {
    let ids: Vec<String> = others.iter().map(|u| u.id.to_string()).collect();
    let body = format!(r#"{{"participantIds":[{}]}}"#, ids.join(","));
    let (status, json) = fetch_json(
        "POST",
        &format!("{url}/api/conversations"),
        Some(&owner.token),
        Some(&body),
    )
    .await;
    assert!(
        status == 200 || status == 201,
        "create conversation: {status}"
    );
    get(&json, "id").as_f64().unwrap() as i64
}

/// A JWT for `user` that expired a minute ago, signed with the server's secret.
pub async fn expired_token(user: &User) -> String {
    let secret = JWT_SECRET.expect(
        "CHAT_TEST_JWT_SECRET was unset at build time (`cargo xtask test` sets it with the server)",
    );
    let exp = (js_sys::Date::now() / 1000.0) as u64 - 60;
    let payload = format!(r#"{{"userId":{},"exp":{exp}}}"#, user.id);
    let token = JsFuture::from(sign_jwt(secret, &payload)).await.unwrap();
    token.as_string().expect("WebCrypto signs a token")
}

pub async fn fetch_json(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, JsValue) {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().unwrap();
    if let Some(token) = token {
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .unwrap();
    }
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").unwrap();
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(url, &init).unwrap();
    let window = web_sys::window().unwrap();
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e:?}"))
        .dyn_into()
        .unwrap();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap();
    let json = js_sys::JSON::parse(&text.as_string().unwrap_or_default()).unwrap_or(JsValue::NULL);
    (response.status(), json)
}

/// Counts WebSockets constructed from now on (wraps the page's `WebSocket` constructor);
/// the returned function reads the count.
pub fn count_websockets() -> impl Fn() -> u32 {
    let install = Function::new_no_args(
        "if (!globalThis.__wsCount) {\n\
           globalThis.__wsCount = { n: 0 };\n\
           const Original = globalThis.WebSocket;\n\
           globalThis.WebSocket = new Proxy(Original, {\n\
             construct(target, args) { globalThis.__wsCount.n += 1; return new target(...args); }\n\
           });\n\
         }\n\
         return globalThis.__wsCount.n;",
    );
    let start = install
        .call0(&JsValue::NULL)
        .unwrap()
        .as_f64()
        .unwrap_or(0.0) as u32;
    move || {
        let count = Function::new_no_args("return globalThis.__wsCount.n;");
        count.call0(&JsValue::NULL).unwrap().as_f64().unwrap_or(0.0) as u32 - start
    }
}

/// A JS number (`JsValue::from(i64)` would be a BigInt).
pub fn n(value: i64) -> JsValue {
    JsValue::from(value as f64)
}

pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// Options for `new ChatEngine`: the token comes from `token` (read on every connect, so a
/// test can change it).
pub fn options(
    url: &str,
    token: Rc<RefCell<Option<String>>>,
    storage: &str,
    transport: &str,
    user: Option<i64>,
) -> JsValue {
    let options = Object::new();
    let set = |k: &str, v: &JsValue| {
        Reflect::set(&options, &k.into(), v).unwrap();
    };
    set("url", &url.into());
    let get_token = Closure::<dyn FnMut() -> JsValue>::new(move || match &*token.borrow() {
        Some(t) => JsValue::from_str(t),
        None => JsValue::NULL,
    });
    set("getToken", &get_token.into_js_value());
    set("storage", &storage.into());
    set("transport", &transport.into());
    if let Some(user) = user {
        set("userId", &JsValue::from(user as f64));
    }
    set("pollIntervalMs", &JsValue::from(200));
    options.into()
}

/// An engine for `user` (memory storage, WebSocket).
pub fn engine(url: &str, user: &User) -> ChatEngine {
    let token = Rc::new(RefCell::new(Some(user.token.clone())));
    ChatEngine::new(options(url, token, "memory", "websocket", Some(user.id))).unwrap()
}

/// Waits until `predicate` holds for the engine's snapshot, waking on the engine's own
/// change notifications; panics after `timeout_ms` saying what it waited for.
pub async fn wait_for(
    engine: &ChatEngine,
    what: &str,
    timeout_ms: f64,
    predicate: impl Fn(&Snapshot) -> bool,
) {
    let deadline = js_sys::Date::now() + timeout_ms;
    loop {
        if predicate(&engine.snapshot()) {
            return;
        }
        let remaining = deadline - js_sys::Date::now();
        if remaining <= 0.0 {
            panic!(
                "timed out after {timeout_ms} ms waiting for {what}; snapshot: {:#?}",
                engine.snapshot()
            );
        }
        next_change(engine, remaining).await;
    }
}

/// Resolves at the engine's next snapshot change, or after `ms`.
async fn next_change(engine: &ChatEngine, ms: f64) {
    let resolver: Rc<RefCell<Option<Function>>> = Rc::default();
    let promise = Promise::new(&mut |resolve, _| {
        let timeout = {
            let resolve = resolve.clone();
            Closure::once_into_js(move || {
                let _ = resolve.call0(&JsValue::NULL);
            })
        };
        set_timer(timeout.unchecked_ref(), ms.ceil() as i32);
        *resolver.borrow_mut() = Some(resolve);
    });
    let listener = {
        let resolver = resolver.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(resolve) = resolver.borrow().as_ref() {
                let _ = resolve.call0(&JsValue::NULL);
            }
        })
        .into_js_value()
    };
    let unsubscribe: Function = engine.subscribe(listener).unwrap().unchecked_into();
    let _ = JsFuture::from(promise).await;
    let _ = unsubscribe.call0(&JsValue::NULL);
}

/// The texts and statuses of a conversation's messages.
pub fn messages(snapshot: &Snapshot, conversation: i64) -> Vec<(String, &'static str)> {
    snapshot
        .conversations
        .get(&chat_wire::ConversationId(conversation))
        .map(|c| {
            c.messages
                .iter()
                .map(|m| (m.text.clone(), m.status.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn has_message(snapshot: &Snapshot, conversation: i64, text: &str, status: &str) -> bool {
    messages(snapshot, conversation)
        .iter()
        .any(|(t, s)| t == text && *s == status)
}

pub fn state(snapshot: &Snapshot) -> &'static str {
    snapshot.connection.state.as_str()
}

pub fn synced(snapshot: &Snapshot, conversation: i64) -> bool {
    snapshot
        .conversations
        .get(&chat_wire::ConversationId(conversation))
        .is_some_and(|c| c.synced)
}
