//! The engine, driven natively, against a real chat-server (in-process, SQLite): two
//! clients chat, and a client that was cut off catches up exactly once, in order.
#![allow(clippy::unwrap_used)]

use chat_engine::{ConnectionState, Event, MessageStatus};
use chat_test_support::{TestServer, spawn_sqlite as spawn_server};
use chat_wire::{ConversationId, UserId};
use client_native::api::Api;
use client_native::{ClientOptions, NativeClient};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// Long enough for a reconnection after the first backoff step (1 s) on a busy machine.
const PATIENCE: Duration = Duration::from_secs(20);

struct Participant {
    id: UserId,
    client: NativeClient,
    events: UnboundedReceiver<Event>,
}

async fn participant(server: &TestServer, name: &str, seed: u64) -> (Participant, String) {
    let auth = Api::new(&server.url)
        .register(name, "correct horse battery")
        .await
        .unwrap();
    let token = auth.token.clone();
    let mut options = ClientOptions::new(&server.url, move || Some(token.clone()));
    options.seed = seed;
    let (client, events) = NativeClient::spawn(options);
    (
        Participant {
            id: auth.user.id,
            client,
            events,
        },
        auth.token,
    )
}

impl Participant {
    /// Waits, event by event, until `done` holds for this client.
    async fn wait_until(&mut self, what: &str, done: impl Fn(&NativeClient) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.client) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(_event)) => {}
                Ok(None) => panic!("the client stopped while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; snapshot: {:#?}",
                    self.client.snapshot()
                ),
            }
        }
    }

    fn texts(&self, conversation: ConversationId) -> Vec<(Option<i64>, String, MessageStatus)> {
        self.client
            .conversation(conversation)
            .map(|view| {
                view.messages
                    .iter()
                    .map(|m| (m.seq, m.text.clone(), m.status))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn connected(client: &NativeClient) -> bool {
    client.snapshot().connection.state == ConnectionState::Connected
}

fn has_sent(conversation: ConversationId, texts: &[&str]) -> impl Fn(&NativeClient) -> bool {
    let texts: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
    move |client| {
        let Some(view) = client.conversation(conversation) else {
            return false;
        };
        texts.iter().all(|text| {
            view.messages
                .iter()
                .any(|m| &m.text == text && m.seq.is_some() && m.status != MessageStatus::Sending)
        })
    }
}

async fn two_people_in_a_conversation() -> (TestServer, Participant, Participant, ConversationId) {
    let server = spawn_server().await;
    let (alice, alice_token) = participant(&server, "alice", 1).await;
    let (bob, _) = participant(&server, "bob", 2).await;
    let conversation = Api::new(&server.url)
        .create_conversation(&alice_token, &[bob.id], None)
        .await
        .unwrap()
        .id;
    (server, alice, bob, conversation)
}

#[tokio::test]
async fn two_engines_chat_through_the_server() {
    let (_server, mut alice, mut bob, conversation) = two_people_in_a_conversation().await;
    for person in [&mut alice, &mut bob] {
        person.client.connect();
        person.client.join(conversation);
        person.wait_until("connected", connected).await;
    }

    alice.client.send(conversation, "hello bob").unwrap();
    alice
        .wait_until(
            "alice's message acked",
            has_sent(conversation, &["hello bob"]),
        )
        .await;
    bob.wait_until("bob receives it", has_sent(conversation, &["hello bob"]))
        .await;
    bob.client.send(conversation, "hi alice").unwrap();
    alice
        .wait_until(
            "alice receives the reply",
            has_sent(conversation, &["hello bob", "hi alice"]),
        )
        .await;
    bob.wait_until(
        "bob's reply acked",
        has_sent(conversation, &["hello bob", "hi alice"]),
    )
    .await;

    // Bob's reply moved his watermark past alice's message (SPEC.md section 9: sending
    // reads what came before), so alice sees hers `read`; alice has not read bob's.
    let expected = |first| {
        vec![
            (Some(1), "hello bob".to_owned(), first),
            (Some(2), "hi alice".to_owned(), MessageStatus::Sent),
        ]
    };
    assert_eq!(alice.texts(conversation), expected(MessageStatus::Read));
    assert_eq!(bob.texts(conversation), expected(MessageStatus::Sent));
}

#[tokio::test]
async fn a_client_that_was_offline_catches_up_exactly_once_in_order() {
    let (_server, mut alice, mut bob, conversation) = two_people_in_a_conversation().await;
    for person in [&mut alice, &mut bob] {
        person.client.connect();
        person.client.join(conversation);
        person.wait_until("connected", connected).await;
    }
    alice.client.send(conversation, "before").unwrap();
    bob.wait_until(
        "bob has the first message",
        has_sent(conversation, &["before"]),
    )
    .await;

    bob.client.disconnect();
    let missed = ["one", "two", "three", "four", "five"];
    for text in missed {
        alice.client.send(conversation, text).unwrap();
    }
    alice
        .wait_until("alice's messages acked", has_sent(conversation, &missed))
        .await;

    bob.client.connect();
    bob.wait_until("bob caught up", has_sent(conversation, &missed))
        .await;
    let seqs: Vec<Option<i64>> = bob
        .texts(conversation)
        .iter()
        .map(|(seq, _, _)| *seq)
        .collect();
    assert_eq!(
        seqs,
        (1..=6).map(Some).collect::<Vec<_>>(),
        "each message once, in seq order"
    );
}

#[tokio::test]
async fn messages_sent_across_a_broken_connection_arrive_once() {
    let (_server, mut alice, mut bob, conversation) = two_people_in_a_conversation().await;
    for person in [&mut alice, &mut bob] {
        person.client.connect();
        person.client.join(conversation);
        person.wait_until("connected", connected).await;
    }
    // Alice's connection breaks as a network failure would; she keeps typing.
    alice.client.drop_connection();
    let texts = ["sent while cut off", "and another"];
    for text in texts {
        alice.client.send(conversation, text).unwrap();
    }
    alice
        .wait_until(
            "alice reconnected and flushed",
            has_sent(conversation, &texts),
        )
        .await;
    bob.wait_until("bob received both", has_sent(conversation, &texts))
        .await;
    let received: Vec<String> = bob
        .texts(conversation)
        .into_iter()
        .map(|(_, text, _)| text)
        .collect();
    assert_eq!(received, texts);
}
