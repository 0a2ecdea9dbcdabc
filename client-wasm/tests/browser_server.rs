//! The engine in headless Chromium against a real chat-server (started by `cargo xtask
//! test`, which passes its URL at build time): connect, join, send and receive between
//! two engines, the ack turning `sending` into `sent`, a reload with a queued message
//! (the outbox survives in localStorage), offline/online, an expired token, and the
//! HTTP-only mode. Each test skips, saying so on the console, when no server answers the
//! Socket.IO handshake.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser_support;

use browser_support::*;
use client_wasm::web::{ChatEngine, outbox_storage_key};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TIMEOUT: f64 = 10_000.0;

#[wasm_bindgen_test]
async fn two_engines_chat_and_the_ack_turns_sending_into_sent() {
    let url = server("two_engines_chat").await;
    let (alice, bob) = (register(&url).await, register(&url).await);
    let conversation = create_conversation(&url, &alice, &[&bob]).await;
    let a = engine(&url, &alice);
    let b = engine(&url, &bob);
    for e in [&a, &b] {
        e.connect().unwrap();
        e.join(n(conversation)).unwrap();
    }
    wait_for(&a, "alice connected and synced", TIMEOUT, |s| {
        state(s) == "connected" && synced(s, conversation)
    })
    .await;
    wait_for(&b, "bob connected and synced", TIMEOUT, |s| {
        state(s) == "connected" && synced(s, conversation)
    })
    .await;

    let id = a.send(n(conversation), "hello bob".into()).unwrap();
    assert!(
        has_message(&a.snapshot(), conversation, "hello bob", "sending"),
        "a message shows as sending at once"
    );
    wait_for(&a, "the ack", TIMEOUT, |s| {
        has_message(s, conversation, "hello bob", "sent") && s.outbox_len == 0
    })
    .await;
    wait_for(&b, "bob receiving it", TIMEOUT, |s| {
        has_message(s, conversation, "hello bob", "sent")
    })
    .await;
    let received = b.snapshot();
    let message = &received
        .conversations
        .get(&chat_wire::ConversationId(conversation))
        .expect("the conversation")
        .messages[0];
    assert_eq!(message.client_message_id.as_deref(), Some(id.as_str()));
    assert_eq!(message.sender_id, Some(chat_wire::UserId(alice.id)));

    b.send(n(conversation), "hi alice".into()).unwrap();
    wait_for(&b, "bob's ack", TIMEOUT, |s| {
        has_message(s, conversation, "hi alice", "sent")
    })
    .await;
    wait_for(&a, "alice receiving the answer", TIMEOUT, |s| {
        has_message(s, conversation, "hi alice", "sent")
    })
    .await;
    let texts = |e: &ChatEngine| -> Vec<String> {
        messages(&e.snapshot(), conversation)
            .into_iter()
            .map(|(text, _)| text)
            .collect()
    };
    assert_eq!(
        texts(&a),
        texts(&b),
        "both see one timeline, in the same order"
    );
    // Bob's answer moved his watermark past Alice's message (SPEC section 9): she sees it read.
    wait_for(&a, "alice's message read by bob", TIMEOUT, |s| {
        has_message(s, conversation, "hello bob", "read")
    })
    .await;
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[wasm_bindgen_test]
async fn a_message_queued_before_a_reload_is_sent_after_it() {
    let url = server("reload_with_queued_message").await;
    let (alice, bob) = (register(&url).await, register(&url).await);
    let conversation = create_conversation(&url, &alice, &[&bob]).await;
    let token = Rc::new(RefCell::new(Some(alice.token.clone())));
    let key = outbox_storage_key(&url, chat_wire::UserId(alice.id));
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();

    // The first page: never connected, so the message waits in the outbox.
    let before = ChatEngine::new(options(
        &url,
        token.clone(),
        "local",
        "websocket",
        Some(alice.id),
    ))
    .unwrap();
    before
        .send(n(conversation), "sent after the reload".into())
        .unwrap();
    assert!(
        storage
            .get_item(&key)
            .unwrap()
            .is_some_and(|v| v.contains("sent after the reload")),
        "the outbox is in localStorage under {key}"
    );
    before.destroy().unwrap();

    // The "reloaded" page: the message is back as sending, then goes out.
    let after =
        ChatEngine::new(options(&url, token, "local", "websocket", Some(alice.id))).unwrap();
    assert!(has_message(
        &after.snapshot(),
        conversation,
        "sent after the reload",
        "sending"
    ));
    let b = engine(&url, &bob);
    b.connect().unwrap();
    b.join(n(conversation)).unwrap();
    after.connect().unwrap();
    wait_for(&after, "the restored message acknowledged", TIMEOUT, |s| {
        has_message(s, conversation, "sent after the reload", "sent") && s.outbox_len == 0
    })
    .await;
    assert_eq!(
        storage.get_item(&key).unwrap(),
        None,
        "an empty outbox removes the key"
    );
    wait_for(&b, "bob receiving it", TIMEOUT, |s| {
        has_message(s, conversation, "sent after the reload", "sent")
    })
    .await;
    assert_eq!(messages(&b.snapshot(), conversation).len(), 1, "sent once");
    after.destroy().unwrap();
    b.destroy().unwrap();
}

#[wasm_bindgen_test]
async fn offline_closes_the_socket_at_once_and_online_reconnects_and_flushes() {
    let url = server("offline_online").await;
    let (alice, bob) = (register(&url).await, register(&url).await);
    let conversation = create_conversation(&url, &alice, &[&bob]).await;
    let a = engine(&url, &alice);
    a.connect().unwrap();
    a.join(n(conversation)).unwrap();
    wait_for(&a, "connected and synced", TIMEOUT, |s| {
        state(s) == "connected" && synced(s, conversation)
    })
    .await;

    // What js/client's reachability adapter calls (on the web: the window's `offline`).
    a.set_online(false.into()).unwrap();
    assert_eq!(
        state(&a.snapshot()),
        "disconnected",
        "offline closes at once"
    );
    a.send(n(conversation), "written offline".into()).unwrap();
    assert!(has_message(
        &a.snapshot(),
        conversation,
        "written offline",
        "sending"
    ));
    assert_eq!(
        state(&a.snapshot()),
        "disconnected",
        "no attempt while offline"
    );

    a.set_online(true.into()).unwrap();
    assert_eq!(
        state(&a.snapshot()),
        "connecting",
        "online reconnects at once"
    );
    wait_for(
        &a,
        "reconnected and the queued message sent",
        TIMEOUT,
        |s| state(s) == "connected" && has_message(s, conversation, "written offline", "sent"),
    )
    .await;
    a.destroy().unwrap();
}

#[wasm_bindgen_test]
async fn the_foreground_reconnects_a_lost_connection_at_once() {
    let url = server("foreground").await;
    let alice = register(&url).await;
    let a = engine(&url, &alice);
    a.connect().unwrap();
    wait_for(&a, "connected", TIMEOUT, |s| state(s) == "connected").await;
    // The socket lost, as when a phone sleeps; then the app comes to the foreground.
    a.set_online(false.into()).unwrap();
    a.set_online(true.into()).unwrap();
    a.foreground().unwrap();
    assert_eq!(
        state(&a.snapshot()),
        "connecting",
        "the foreground leaves an attempt under way alone"
    );
    wait_for(&a, "reconnected", TIMEOUT, |s| state(s) == "connected").await;
    a.foreground().unwrap();
    assert_eq!(
        state(&a.snapshot()),
        "connected",
        "a live link is left alone"
    );
    a.destroy().unwrap();
}

#[wasm_bindgen_test]
async fn an_expired_token_is_an_auth_error_until_a_new_token_is_given() {
    let url = server("expired_token").await;
    let alice = register(&url).await;
    let expired = expired_token(&alice).await;
    let token = Rc::new(RefCell::new(Some(expired)));
    let a = ChatEngine::new(options(&url, token.clone(), "memory", "websocket", None)).unwrap();
    a.connect().unwrap();
    wait_for(&a, "state error with code auth", TIMEOUT, |s| {
        matches!(&s.connection.state,
            chat_engine::ConnectionState::Error(e) if e.code == chat_engine::ErrorKind::Auth)
    })
    .await;
    let error = browser_support::get(&a.get_snapshot().unwrap().into(), "connection");
    assert_eq!(
        browser_support::get(&browser_support::get(&error, "error"), "code")
            .as_string()
            .as_deref(),
        Some("auth")
    );
    // No reconnecting on its own: the state stays `error` (no timer is armed for it).
    assert_eq!(a.snapshot().connection.reconnect_at, None);

    *token.borrow_mut() = Some(alice.token.clone());
    a.set_token(alice.token.clone().into()).unwrap();
    wait_for(&a, "connected with the fresh token", TIMEOUT, |s| {
        state(s) == "connected"
    })
    .await;
    a.destroy().unwrap();
}

#[wasm_bindgen_test]
async fn http_only_mode_sends_by_post_and_receives_by_polling() {
    let url = server("http_only_mode").await;
    let (alice, bob) = (register(&url).await, register(&url).await);
    let conversation = create_conversation(&url, &alice, &[&bob]).await;
    let token = Rc::new(RefCell::new(Some(alice.token.clone())));
    let sockets_opened = count_websockets();
    let a = ChatEngine::new(options(&url, token, "memory", "http", Some(alice.id))).unwrap();
    assert_eq!(a.transport().unwrap().as_string().as_deref(), Some("http"));
    a.connect().unwrap();
    a.join(n(conversation)).unwrap();
    wait_for(&a, "http mode connected and synced", TIMEOUT, |s| {
        state(s) == "connected" && synced(s, conversation)
    })
    .await;
    assert_eq!(sockets_opened(), 0, "the HTTP-only mode opens no WebSocket");
    let b = engine(&url, &bob);
    b.connect().unwrap();
    b.join(n(conversation)).unwrap();
    wait_for(&b, "bob synced", TIMEOUT, |s| synced(s, conversation)).await;

    a.send(n(conversation), "by POST".into()).unwrap();
    wait_for(&a, "the POST answered", TIMEOUT, |s| {
        has_message(s, conversation, "by POST", "sent") && s.outbox_len == 0
    })
    .await;
    wait_for(&b, "bob receiving it live", TIMEOUT, |s| {
        has_message(s, conversation, "by POST", "sent")
    })
    .await;
    b.send(n(conversation), "by socket".into()).unwrap();
    wait_for(&a, "alice polling bob's message", TIMEOUT, |s| {
        has_message(s, conversation, "by socket", "sent")
    })
    .await;
    a.destroy().unwrap();
    b.destroy().unwrap();
}
