//! Limits: frame and payload size on both transports, sockets per user, join floods,
//! the send rate; and graceful shutdown.

use chat_test_support::socket::{Connect, ConnectFailure, SioClient, WAIT, ws_url};
use chat_test_support::{
    assert_failure, new_id, on_both_backends, send_args, test_config, users_in_conversation,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server::Application;
use server::auth::Passwords;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message as Ws;

async fn acks(receivers: Vec<tokio::sync::oneshot::Receiver<Value>>) -> Vec<Value> {
    let mut all = Vec::new();
    for rx in receivers {
        all.push(
            tokio::time::timeout(WAIT, rx)
                .await
                .expect("an ack in time")
                .unwrap(),
        );
    }
    all
}

on_both_backends! {
    async fn a_websocket_frame_announcing_megabytes_is_refused_from_its_header(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;

        let url = ws_url(&app.address, &format!("&token={}", users[0].token));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        assert!(matches!(ws.next().await, Some(Ok(Ws::Text(t))) if t.starts_with('0')));
        ws.send(Ws::text("40")).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Ws::Text(t))) if t.starts_with("40") => break,
                Some(Ok(Ws::Text(t))) if t.as_str() == "2" => ws.send(Ws::text("3")).await.unwrap(),
                other => panic!("expected the connect answer, got {other:?}"),
            }
        }
        let MaybeTlsStream::Plain(tcp) = ws.get_mut() else { panic!("plain TCP") };
        // A masked text frame header announcing 8 MiB, then only 128 KiB of it: the
        // server must close the connection without waiting for (or buffering) the rest.
        let announced: u64 = 8 << 20;
        let mut header = vec![0x81, 0x80 | 127];
        header.extend_from_slice(&announced.to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        tcp.write_all(&header).await.unwrap();
        let chunk = vec![b'a'; 128 << 10];
        // The server may already have closed: a failed write is the same answer.
        let _ = tcp.write_all(&chunk).await;
        let mut buf = vec![0u8; 4096];
        let closed = tokio::time::timeout(WAIT, async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {} // a close frame, then EOF
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the server closed the connection after the header");
        // A several-MiB message sent the ordinary way is refused the same way.
        let mut big = SioClient::connect(&app.address, &users[0].token).await;
        let text = "x".repeat(3 << 20);
        big.send_raw(format!("42[\"message:send\",{conversation},{{\"clientMessageId\":\"{}\",\"text\":\"{text}\"}}]", new_id()));
        big.closed().await;
        // Just under the limit is fine on the wire (and refused as too long by the rules).
        let mut ok = SioClient::connect(&app.address, &users[0].token).await;
        let near = "y".repeat(60 << 10);
        let ack = ok.call("message:send", send_args(conversation, &new_id(), &near)).await;
        assert_failure(&ack, "too_long");
        // Bob never noticed.
        let ack = b.call("message:send", send_args(conversation, &new_id(), "fine")).await;
        assert_eq!(ack["success"], true);
    }

    async fn an_oversize_polling_payload_is_refused(app: TestApp) {
        let alice = app.register("alice").await;
        let handshake = app
            .client
            .get(app.url(&format!("/socket.io/?EIO=4&transport=polling&token={}", alice.token)))
            .send()
            .await
            .unwrap();
        let open = handshake.text().await.unwrap();
        let open: Value = serde_json::from_str(&open[1..]).unwrap();
        let sid = open["sid"].as_str().unwrap();
        assert!(open["maxPayload"].as_u64().unwrap() <= 64 * 1024, "{open}");
        let url = app.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
        let body = format!("4{}", "z".repeat(200 << 10));
        let refused = app.client.post(&url).body(body).send().await.unwrap();
        assert!(refused.status().is_client_error(), "{}", refused.status());
    }

    async fn a_user_cannot_hold_more_than_sixteen_sockets(app: TestApp) {
        let alice = app.register("alice").await;
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(SioClient::connect(&app.address, &alice.token).await);
        }
        match SioClient::connect_with(&app.address, Connect::token(&alice.token)).await {
            Err(ConnectFailure::Refused(message)) => assert_eq!(message, "Too many connections for this user"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Another user is not affected.
        let bob = app.register("bob").await;
        SioClient::connect(&app.address, &bob.token).await;
    }

    async fn a_join_flood_is_answered_and_bounded(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        b.call("conversation:join", vec![json!(conversation)]).await;
        // Paced by windows of 100 in flight (what a client reading its acks does): every
        // join is answered, most of them without touching the database.
        let mut a = SioClient::connect(&app.address, &users[0].token).await;
        let mut answers = Vec::new();
        for window in 0..30 {
            let pending: Vec<_> = (0..100)
                .map(|i| a.start_call("conversation:join", vec![json!(1_000_000 + window * 100 + i)]))
                .collect();
            answers.extend(acks(pending).await);
        }
        assert_eq!(answers.len(), 3000);
        let limited = answers.iter().filter(|a| a["code"] == "rate_limited").count();
        assert!(answers.iter().all(|a| a["success"] == false && (a["code"] == "forbidden" || a["code"] == "rate_limited")));
        assert!(limited > 2000, "most of the flood never reached the database: {limited}");
        assert!(answers.iter().filter(|a| a["code"] == "rate_limited").all(|a| a["retryAfterMs"].as_u64().unwrap() > 0));
        // Unpaced, the acks overflow the socket's send buffer: that socket is closed.
        let mut flooder = SioClient::connect(&app.address, &users[0].token).await;
        let pending: Vec<_> = (0..3000).map(|i| flooder.start_call("conversation:join", vec![json!(i + 5_000_000)])).collect();
        let mut answered = 0;
        for rx in pending {
            match tokio::time::timeout(WAIT, rx).await {
                Ok(Ok(ack)) => {
                    assert_eq!(ack["success"], false);
                    answered += 1;
                }
                _ => break,
            }
        }
        if answered < 3000 {
            flooder.closed().await;
        }
        let ack = b.call("message:send", send_args(conversation, &new_id(), "unbothered")).await;
        assert_eq!(ack["success"], true);
    }

    async fn sends_are_rate_limited_per_user_across_sockets(app: TestApp) {
        let (users, conversation) = users_in_conversation(&app, &["alice", "bob"]).await;
        let mut a1 = SioClient::connect(&app.address, &users[0].token).await;
        let mut a2 = SioClient::connect(&app.address, &users[0].token).await;
        let mut pending = Vec::new();
        for i in 0..10 {
            pending.push(a1.start_call("message:send", send_args(conversation, &new_id(), &format!("a1 {i}"))));
            pending.push(a2.start_call("message:send", send_args(conversation, &new_id(), &format!("a2 {i}"))));
        }
        let answers = acks(pending).await;
        let sent = answers.iter().filter(|a| a["success"] == true).count();
        let limited: Vec<&Value> = answers.iter().filter(|a| a["code"] == "rate_limited").collect();
        assert_eq!(sent + limited.len(), 20, "{answers:?}");
        assert!((10..=13).contains(&sent), "a burst of 10 plus what refilled meanwhile: {sent}");
        for refused in limited {
            let wait = refused["retryAfterMs"].as_u64().unwrap();
            assert!((1..=100).contains(&wait), "{refused}");
        }
        // Bob has a bucket of his own.
        let mut b = SioClient::connect(&app.address, &users[1].token).await;
        assert_eq!(b.call("message:send", send_args(conversation, &new_id(), "mine")).await["success"], true);
    }
}

/// SPEC.md section 8: on shutdown, sockets are told (a Socket.IO disconnect), and no new
/// socket is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_every_socket() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(format!("sqlite://{}", dir.path().join("chat.db").display()));
    let app = Application::build_with(config, Passwords::for_tests())
        .await
        .unwrap();
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{address}/api/auth/register"))
        .json(&json!({ "username": "alice", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["token"].as_str().unwrap();
    let mut socket = SioClient::connect(&address, token).await;
    stop.send(()).unwrap();
    // The Engine.IO close: socket.io-client reports "transport close" and reconnects.
    socket.closed().await;
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

/// A user's handshakes beyond the per-node rate are refused (a client stuck in a reconnect
/// loop, or a script); other users are not affected, and the bucket refills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_beyond_the_per_user_rate_are_refused() {
    let app = chat_test_support::TestApp::spawn_with(chat_test_support::Backend::Sqlite, |c| {
        c.handshakes_per_user_per_sec = 3;
    })
    .await
    .unwrap();
    let alice = app.register("alice").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(SioClient::connect(&app.address, &alice.token).await);
    }
    // Closing sockets gives no handshakes back: the rate counts attempts.
    drop(held);
    match SioClient::connect_with(&app.address, Connect::token(&alice.token)).await {
        Err(ConnectFailure::Refused(message)) => assert_eq!(
            message,
            "Too many connection attempts for this user; try again shortly"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let bob = app.register("bob").await;
    SioClient::connect(&app.address, &bob.token).await;
    // One token is back after a third of a second (the rate is 3/s).
    tokio::time::sleep(Duration::from_millis(400)).await;
    SioClient::connect(&app.address, &alice.token).await;
}
