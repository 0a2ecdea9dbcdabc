//! The HTTP-only mode (DESIGN.md section 9's rollback flag), driven by hand in simulated
//! time: no socket, the newest page on join, polling after the highest seq, sends as
//! `POST`s with the same outbox and the same idempotent `clientMessageId`, and the
//! connection state following the HTTP answers. Also the token callback's failure.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

use chat_engine::{
    Config, ConnectionState, Engine, ErrorKind, Event, HttpRequest, MessageStatus, Millis, Output,
};
use chat_wire::{ConversationId, UserId};
use serde_json::json;

const ME: i64 = 1;
const OTHER: i64 = 2;
const CONVERSATION: ConversationId = ConversationId(5);

/// A token shaped like the server's (the engine reads its `userId`).
fn token(user: i64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let payload = format!(r#"{{"userId":{user},"exp":4102444800}}"#);
    let mut out = String::new();
    for chunk in payload.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    format!("eyJhbGciOiJIUzI1NiJ9.{out}.sig")
}

fn message(seq: i64, sender: i64, text: &str, cmid: Option<&str>) -> serde_json::Value {
    json!({
        "id": 100 + seq, "conversationId": CONVERSATION.0, "seq": seq, "senderId": sender,
        "text": text, "clientMessageId": cmid, "createdAt": "2026-01-01T00:00:00.000Z"
    })
}

fn page(messages: Vec<serde_json::Value>, has_more: bool) -> String {
    json!({ "messages": messages, "hasMore": has_more }).to_string()
}

struct Harness {
    engine: Engine,
    now: Millis,
    events: Vec<Event>,
}

impl Harness {
    fn new() -> Self {
        let config = Config {
            http_poll_ms: Some(1000),
            reconnect_jitter_percent: 0,
            ..Config::new("http://chat.test")
        };
        Harness {
            engine: Engine::new(config, 7),
            now: Millis(0),
            events: Vec::new(),
        }
    }

    /// Drains the outputs: HTTP requests are returned, events kept, nothing else allowed.
    fn requests(&mut self) -> Vec<HttpRequest> {
        let mut requests = Vec::new();
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Http(request) => requests.push(request),
                Output::Event(event) => self.events.push(event),
                Output::RequestToken => panic!("unexpected token request"),
                other => panic!("the HTTP-only mode made a socket output: {other:?}"),
            }
        }
        requests
    }

    fn connect(&mut self) {
        self.engine.connect(self.now);
        assert_eq!(self.engine.poll_output(), Some(Output::RequestToken));
        self.engine.handle_token(self.now, Some(token(ME)));
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now + ms;
        self.engine.handle_timeout(self.now);
    }

    fn one(&mut self) -> HttpRequest {
        let mut requests = self.requests();
        assert_eq!(requests.len(), 1, "one request expected: {requests:?}");
        requests.remove(0)
    }

    fn answer(&mut self, request: &HttpRequest, status: u16, body: &str) {
        self.engine
            .handle_http_response(self.now, request.id, status, body);
    }

    fn texts(&self) -> Vec<(String, MessageStatus)> {
        self.engine
            .conversation(CONVERSATION)
            .map(|c| {
                c.messages
                    .iter()
                    .map(|m| (m.text.clone(), m.status))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Connected, joined, the newest page (one message of the other user) loaded.
    fn joined() -> Self {
        let mut h = Harness::new();
        h.connect();
        assert_eq!(h.engine.state(), ConnectionState::Connecting);
        assert!(
            h.requests().is_empty(),
            "no conversation, nothing to ask yet"
        );
        h.engine.join(h.now, CONVERSATION);
        let latest = h.one();
        assert_eq!(latest.method, "GET");
        assert_eq!(
            latest.url,
            "http://chat.test/api/conversations/5/messages?limit=100"
        );
        assert_eq!(latest.bearer.as_deref(), Some(token(ME).as_str()));
        h.answer(
            &latest,
            200,
            &page(vec![message(1, OTHER, "first", None)], false),
        );
        assert_eq!(h.engine.state(), ConnectionState::Connected);
        assert!(h.engine.conversation(CONVERSATION).unwrap().synced);
        h
    }
}

#[test]
fn sends_are_posts_and_their_answer_turns_sending_into_sent() {
    let mut h = Harness::joined();
    let id = h.engine.send(h.now, CONVERSATION, "hello").unwrap();
    let post = h.one();
    assert_eq!(post.method, "POST");
    assert_eq!(post.url, "http://chat.test/api/conversations/5/messages");
    let body: serde_json::Value = serde_json::from_str(post.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "clientMessageId": id.as_str(), "text": "hello" })
    );
    assert_eq!(h.texts().last().unwrap().1, MessageStatus::Sending);

    let stored = message(2, ME, "hello", Some(id.as_str())).to_string();
    h.answer(&post, 201, &stored);
    h.requests();
    assert_eq!(
        h.texts(),
        [
            ("first".into(), MessageStatus::Sent),
            ("hello".into(), MessageStatus::Sent)
        ]
    );
    assert!(h.engine.sending_ids().is_empty());
    assert!(h.events.iter().any(
        |e| matches!(e, Event::Sent { client_message_id, seq: 2, .. } if *client_message_id == id)
    ));
}

#[test]
fn history_is_polled_after_the_highest_seq_and_new_messages_are_announced() {
    let mut h = Harness::joined();
    h.requests();
    h.advance(999);
    assert!(h.requests().is_empty(), "not before the poll interval");
    h.advance(1);
    let poll = h.one();
    assert_eq!(
        poll.url,
        "http://chat.test/api/conversations/5/messages?afterSeq=1&limit=100"
    );
    h.answer(
        &poll,
        200,
        &page(vec![message(2, OTHER, "news", None)], false),
    );
    h.requests();
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::MessageReceived(m) if m.text == "news"))
    );
    h.advance(1000);
    let next = h.one();
    assert!(next.url.ends_with("afterSeq=2&limit=100"), "{}", next.url);
}

#[test]
fn an_unanswered_post_is_tried_again_with_the_same_client_message_id() {
    let mut h = Harness::joined();
    h.requests();
    let id = h.engine.send(h.now, CONVERSATION, "again").unwrap();
    let first = h.one();
    h.advance(5000); // the ack timeout: the try is lost, the retry waits 1000 ms
    h.advance(1000);
    let retry = h
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a second POST");
    assert_eq!(first.body, retry.body, "same clientMessageId, same text");
    // The server stored the first try late; its answer settles the message, the repeat's
    // answer (200, the same message) changes nothing.
    let stored = message(2, ME, "again", Some(id.as_str())).to_string();
    h.answer(&first, 201, &stored);
    h.answer(&retry, 200, &stored);
    h.requests();
    let texts = h.texts();
    assert_eq!(texts.iter().filter(|(t, _)| t == "again").count(), 1);
    assert_eq!(texts.last().unwrap().1, MessageStatus::Sent);
}

#[test]
fn refused_posts_fail_the_message_and_rate_limits_wait() {
    let mut h = Harness::joined();
    h.requests();
    let id = h.engine.send(h.now, CONVERSATION, "too much").unwrap();
    let post = h.one();
    h.answer(
        &post,
        429,
        r#"{"error":{"code":"rate_limited","message":"slow down"}}"#,
    );
    assert!(h.requests().is_empty(), "waits before trying again");
    h.advance(1000);
    let again = h
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("the POST again after the wait");
    h.answer(
        &again,
        403,
        r#"{"error":{"code":"forbidden","message":"not a participant"}}"#,
    );
    h.requests();
    assert_eq!(h.engine.failed_ids(), std::slice::from_ref(&id));
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::SendFailed { client_message_id, code: Some(chat_wire::ErrorCode::Forbidden) }
            if *client_message_id == id
    )));
}

#[test]
fn an_unavailable_server_uses_up_no_try_and_its_wait_is_honoured() {
    let mut h = Harness::joined();
    h.requests();
    let id = h
        .engine
        .send(h.now, CONVERSATION, "during the outage")
        .unwrap();
    // Polls are answered (nothing new); the POSTs, with the outage's 503.
    let posts = |h: &mut Harness| {
        let mut posts = Vec::new();
        for request in h.requests() {
            if request.method == "POST" {
                posts.push(request);
            } else {
                h.answer(&request, 200, &page(vec![], false));
            }
        }
        posts
    };
    // Far more answers than the four tries: none counts against the message.
    let mut pending = posts(&mut h);
    for _ in 0..10 {
        assert_eq!(pending.len(), 1, "the POST again after the wait");
        h.answer(
            &pending[0],
            503,
            r#"{"error":{"code":"unavailable","message":"down","retryAfterMs":3000}}"#,
        );
        for _ in 0..29 {
            h.advance(100);
            assert!(posts(&mut h).is_empty(), "waits retryAfterMs");
        }
        h.advance(100);
        pending = posts(&mut h);
    }
    assert!(h.engine.failed_ids().is_empty());
    assert_eq!(h.engine.sending_ids(), std::slice::from_ref(&id));
}

#[test]
fn no_answer_is_a_lost_connection_and_the_outbox_waits_for_the_next_one() {
    let mut h = Harness::joined();
    h.requests();
    h.advance(1000);
    let poll = h.one();
    h.engine.handle_http_failed(h.now, poll.id);
    assert_eq!(h.engine.state(), ConnectionState::Disconnected);
    let reconnect_at = h.engine.snapshot().connection.reconnect_at.unwrap();
    h.engine.send(h.now, CONVERSATION, "queued").unwrap();
    assert!(
        h.requests().is_empty(),
        "nothing is sent while disconnected"
    );

    h.now = reconnect_at;
    h.engine.handle_timeout(h.now);
    assert_eq!(h.engine.poll_output(), Some(Output::RequestToken));
    h.engine.handle_token(h.now, Some(token(ME)));
    let rejoin = h.one();
    assert!(
        rejoin.url.ends_with("afterSeq=1&limit=100"),
        "{}",
        rejoin.url
    );
    h.answer(&rejoin, 200, &page(vec![], false));
    let post = h.one();
    assert_eq!(post.method, "POST", "the outbox flushes once caught up");
}

#[test]
fn http_401_is_an_auth_error_and_403_a_refused_join() {
    let mut h = Harness::new();
    h.connect();
    h.engine.join(h.now, CONVERSATION);
    let latest = h.one();
    h.answer(
        &latest,
        403,
        r#"{"error":{"code":"forbidden","message":"no"}}"#,
    );
    h.requests();
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::JoinFailed { .. }))
    );

    h.engine.join(h.now, ConversationId(6));
    let other = h.one();
    h.answer(
        &other,
        401,
        r#"{"error":{"code":"unauthorized","message":"expired"}}"#,
    );
    assert!(matches!(
        h.engine.state(),
        ConnectionState::Error(e) if e.code == ErrorKind::Auth
    ));
    assert_eq!(h.engine.snapshot().connection.reconnect_at, None);
}

#[test]
fn a_failing_token_callback_fails_the_attempt_and_backs_off() {
    let config = Config {
        reconnect_jitter_percent: 0,
        ..Config::new("http://chat.test")
    };
    let mut engine = Engine::new(config, 1);
    engine.connect(Millis(0));
    assert_eq!(engine.poll_output(), Some(Output::RequestToken));
    engine.handle_token_failed(Millis(10));
    assert_eq!(engine.state(), ConnectionState::Disconnected);
    assert_eq!(
        engine.snapshot().connection.reconnect_at,
        Some(Millis(1010))
    );
    engine.handle_timeout(Millis(1010));
    let outputs: Vec<_> = std::iter::from_fn(|| engine.poll_output()).collect();
    assert!(outputs.contains(&Output::RequestToken), "{outputs:?}");
    assert_eq!(engine.user(), None::<UserId>);
}
