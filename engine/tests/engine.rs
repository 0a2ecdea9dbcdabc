//! The engine's behaviours one at a time: handshake, auth errors, heartbeat, bad input,
//! outbox storage, snapshots. Simulated time only.
// Native: simulated time, and proptest (a native-only dev-dependency).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

mod support;

use chat_engine::ids::ClientMessageId;
use chat_engine::{
    Config, ConnectionState, Engine, ErrorKind, Event, MessageStatus, Millis, Output, SocketId,
};
use chat_wire::{ConversationId, UserId};
use proptest::prelude::*;
use support::server::FakeServer;
use support::sim::{NetParams, Sim};

const ME: UserId = UserId(1);
const OTHER: UserId = UserId(2);
const ROOM: ConversationId = ConversationId(10);

fn connected_sim() -> Sim {
    let mut server = FakeServer::new();
    server.add_conversation(ROOM, &[ME, OTHER]);
    let mut sim = Sim::new(
        Engine::new(Config::new("http://chat.test"), 7),
        server,
        ME,
        7,
        NetParams::perfect(),
    );
    sim.command(|e, now| e.connect(now));
    sim.command(|e, now| e.join(now, ROOM));
    sim.run_for(1000);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
    sim
}

fn drain(engine: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| engine.poll_output()).collect()
}

fn warnings(outputs: &[Output]) -> usize {
    outputs
        .iter()
        .filter(|o| matches!(o, Output::Event(Event::Warning(_))))
        .count()
}

#[test]
fn connect_asks_for_a_token_then_opens_the_websocket_url() {
    let mut engine = Engine::new(Config::new("https://chat.example"), 1);
    engine.connect(Millis(0));
    let outputs = drain(&mut engine);
    assert!(outputs.contains(&Output::RequestToken));
    assert_eq!(engine.state(), ConnectionState::Connecting);
    engine.handle_token(Millis(1), Some("t".into()));
    let outputs = drain(&mut engine);
    assert_eq!(
        outputs[0],
        Output::OpenSocket {
            socket: SocketId(0),
            url: "wss://chat.example/socket.io/?EIO=4&transport=websocket".into()
        }
    );
    engine.handle_socket_open(Millis(2), SocketId(0));
    engine.handle_frame(
        Millis(3),
        SocketId(0),
        r#"0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#,
    );
    let outputs = drain(&mut engine);
    assert!(outputs.contains(&Output::SendFrame {
        socket: SocketId(0),
        text: r#"40{"token":"t"}"#.into()
    }));
    engine.handle_frame(Millis(4), SocketId(0), r#"40{"sid":"b"}"#);
    assert_eq!(engine.state(), ConnectionState::Connected);
    engine.handle_frame(Millis(5), SocketId(0), "2");
    let outputs = drain(&mut engine);
    assert!(outputs.contains(&Output::SendFrame {
        socket: SocketId(0),
        text: "3".into()
    }));
}

#[test]
fn an_auth_failure_is_an_error_that_stops_reconnecting_until_a_new_token() {
    let mut sim = connected_sim();
    sim.token = "forged".into();
    sim.cut();
    sim.run_for(60_000);
    match sim.engine.state() {
        ConnectionState::Error(error) => {
            assert_eq!(error.code, ErrorKind::Auth);
            assert_eq!(error.message, "Invalid or expired token");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    let attempts = sim.log.socket_opens.len();
    sim.run_for(300_000);
    assert_eq!(
        sim.log.socket_opens.len(),
        attempts,
        "no reconnecting after an auth error"
    );
    let token = sim.server.issue_token(ME);
    sim.token = token.clone();
    sim.command(|e, now| e.set_token(now, token));
    sim.run_for(1000);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
}

#[test]
fn a_missing_token_is_an_auth_error() {
    let mut engine = Engine::new(Config::default(), 1);
    engine.connect(Millis(0));
    engine.handle_token(Millis(1), None);
    assert!(matches!(engine.state(), ConnectionState::Error(e) if e.code == ErrorKind::Auth));
    assert_eq!(engine.poll_timeout(), None);
}

#[test]
fn a_silent_server_is_detected_by_the_heartbeat_and_replaced() {
    let mut sim = connected_sim();
    let opens = sim.log.socket_opens.len();
    // Half-open: nothing arrives, no close either.
    sim.blackhole_until = sim.now + 50_000;
    sim.run_for(46_000);
    assert_ne!(sim.engine.state(), ConnectionState::Connected);
    sim.run_for(60_000);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
    assert!(sim.log.socket_opens.len() > opens);
}

#[test]
fn the_token_is_asked_for_on_every_connection() {
    let mut sim = connected_sim();
    let asked = |sim: &Sim| sim.log.socket_opens.len();
    let before = asked(&sim);
    let fresh = sim.server.issue_token(ME);
    sim.token = fresh.clone();
    sim.cut();
    sim.run_for(5000);
    assert_eq!(asked(&sim), before + 1);
    assert!(
        sim.log.sent.iter().any(|(_, _, f)| f.contains(&fresh)),
        "the refreshed token was used"
    );
}

#[test]
fn offline_closes_at_once_and_online_reconnects_at_once() {
    let mut sim = connected_sim();
    sim.set_online(false);
    assert_eq!(sim.engine.state(), ConnectionState::Disconnected);
    assert_eq!(sim.engine.socket(), None);
    sim.run_for(100_000);
    assert_eq!(sim.engine.state(), ConnectionState::Disconnected);
    sim.set_online(true);
    sim.run_for(100);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
}

#[test]
fn the_foreground_reconnects_at_once_instead_of_waiting_out_the_backoff() {
    let mut sim = connected_sim();
    // Lost, and refused for a while: the backoff grows to seconds.
    sim.refuse_sockets = true;
    sim.cut();
    sim.run_for(20_000);
    sim.refuse_sockets = false;
    let reconnect_at = sim.engine.snapshot().connection.reconnect_at;
    assert!(
        reconnect_at.is_some_and(|at| at.since(sim.now) >= 1000),
        "waiting out a backoff delay ({reconnect_at:?} at {:?})",
        sim.now
    );
    let opens = sim.log.socket_opens.len();
    sim.command(|e, now| e.handle_foreground(now));
    assert_eq!(sim.log.socket_opens.len(), opens + 1, "an attempt at once");
    assert_eq!(sim.log.socket_opens.last(), Some(&sim.now));
    sim.run_for(100);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
}

#[test]
fn the_foreground_after_a_missed_heartbeat_replaces_the_dead_socket_at_once() {
    let mut sim = connected_sim();
    let opens = sim.log.socket_opens.len();
    // Suspended: the link died silently and no timer ran for a minute.
    sim.blackhole_until = sim.now + 60_000;
    sim.now = sim.now + 60_000;
    sim.command(|e, now| e.handle_foreground(now));
    assert_eq!(
        sim.log.socket_opens.len(),
        opens + 1,
        "a new socket at once"
    );
    sim.run_for(100);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
}

#[test]
fn the_foreground_leaves_a_live_link_offline_or_an_auth_error_alone() {
    let mut sim = connected_sim();
    let opens = sim.log.socket_opens.len();
    sim.command(|e, now| e.handle_foreground(now));
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
    sim.set_online(false);
    sim.command(|e, now| e.handle_foreground(now));
    assert_eq!(sim.engine.state(), ConnectionState::Disconnected);
    assert_eq!(
        sim.log.socket_opens.len(),
        opens,
        "no attempt while live or offline"
    );
    sim.set_online(true);
    sim.run_for(100);
    sim.token = "forged".into();
    sim.cut();
    sim.run_for(60_000);
    assert!(matches!(sim.engine.state(), ConnectionState::Error(_)));
    let opens = sim.log.socket_opens.len();
    sim.command(|e, now| e.handle_foreground(now));
    assert_eq!(
        sim.log.socket_opens.len(),
        opens,
        "an auth error waits for a token"
    );
}

#[test]
fn rate_limited_sends_wait_and_go_without_using_up_tries() {
    let mut sim = connected_sim();
    let ids: Vec<_> = (0..25)
        .map(|i| {
            sim.command(|e, now| e.send(now, ROOM, &format!("burst {i}")))
                .unwrap()
        })
        .collect();
    sim.run_for(30_000);
    assert!(sim.engine.failed_ids().is_empty());
    assert!(sim.engine.sending_ids().is_empty());
    let stored: Vec<_> = sim.server.messages[&ROOM]
        .iter()
        .map(|m| m.client_message_id.clone().unwrap())
        .collect();
    let sent: Vec<_> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(stored, sent);
}

/// The send ids of the log's `SendFailed` and `JoinFailed` events.
fn failures(sim: &Sim) -> usize {
    sim.log
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::SendFailed { .. } | Event::JoinFailed { .. }))
        .count()
}

#[test]
fn sends_answered_unavailable_stay_sending_through_an_outage_and_go_once_after() {
    let mut sim = connected_sim();
    sim.server.outage_retry_ms = Some(1000);
    let ids: Vec<_> = (0..3)
        .map(|i| {
            sim.command(|e, now| e.send(now, ROOM, &format!("during {i}")))
                .unwrap()
        })
        .collect();
    // Far longer than the four tries' 7 s of backoff: an outage uses up no try.
    sim.run_for(30_000);
    assert_eq!(failures(&sim), 0);
    assert_eq!(sim.engine.sending_ids(), ids);
    let statuses: Vec<_> = sim
        .engine
        .conversation(ROOM)
        .unwrap()
        .messages
        .iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(statuses, [MessageStatus::Sending; 3]);
    assert!(sim.server.messages[&ROOM].is_empty());

    sim.server.outage_retry_ms = None;
    sim.run_for(3_000);
    assert_eq!(failures(&sim), 0);
    assert!(sim.engine.sending_ids().is_empty());
    let stored: Vec<_> = sim.server.messages[&ROOM]
        .iter()
        .map(|m| m.client_message_id.clone().unwrap())
        .collect();
    let sent: Vec<_> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(stored, sent, "each stored once, in order");
}

#[test]
fn a_join_answered_unavailable_is_asked_again_after_the_wait() {
    let mut server = FakeServer::new();
    server.add_conversation(ROOM, &[ME, OTHER]);
    server.outage_retry_ms = Some(2000);
    let mut sim = Sim::new(
        Engine::new(Config::new("http://chat.test"), 7),
        server,
        ME,
        7,
        NetParams::perfect(),
    );
    sim.command(|e, now| e.connect(now));
    sim.command(|e, now| e.join(now, ROOM));
    let id = sim
        .command(|e, now| e.send(now, ROOM, "queued behind the join"))
        .unwrap();
    sim.run_for(30_000);
    let joins = sim
        .log
        .sent
        .iter()
        .filter(|(_, _, frame)| frame.contains("conversation:join"))
        .count();
    // Once at first, then every 2 s (the server's retryAfterMs), not in a tight loop.
    assert!((13..=17).contains(&joins), "{joins} joins in 30 s");
    assert_eq!(failures(&sim), 0);
    assert_eq!(sim.engine.sending_ids(), std::slice::from_ref(&id));

    sim.server.outage_retry_ms = None;
    sim.run_for(3_000);
    assert_eq!(failures(&sim), 0);
    assert!(sim.engine.sending_ids().is_empty());
    assert_eq!(
        sim.server.messages[&ROOM][0].client_message_id.as_deref(),
        Some(id.as_str())
    );
}

#[test]
fn each_stored_send_is_reported_sent_once_with_its_seq() {
    let mut sim = connected_sim();
    let ids: Vec<_> = (0..3)
        .map(|i| {
            sim.command(|e, now| e.send(now, ROOM, &format!("m{i}")))
                .unwrap()
        })
        .collect();
    // A cut while sending: some acks are lost, the echo or history settles them instead.
    sim.run_for(5);
    sim.cut();
    sim.run_for(30_000);
    let sent: Vec<_> = sim
        .log
        .events
        .iter()
        .filter_map(|(_, event)| match event {
            Event::Sent {
                client_message_id,
                conversation,
                seq,
                ..
            } => {
                assert_eq!(*conversation, ROOM);
                Some((client_message_id.clone(), *seq))
            }
            _ => None,
        })
        .collect();
    let stored: Vec<_> = sim.server.messages[&ROOM]
        .iter()
        .map(|m| (m.client_message_id.clone().unwrap(), m.seq))
        .collect();
    let reported: Vec<_> = sent
        .iter()
        .map(|(id, seq)| (id.to_string(), *seq))
        .collect();
    assert_eq!(
        reported, stored,
        "every stored message reported once, in order, with its seq"
    );
    assert_eq!(
        sent.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        ids
    );
}

#[test]
fn refused_sends_fail_at_once_and_retry_sends_them_again() {
    let mut sim = connected_sim();
    let elsewhere = ConversationId(99);
    sim.server.add_conversation(elsewhere, &[OTHER]);
    let id = sim.command(|e, now| e.send(now, elsewhere, "hi")).unwrap();
    sim.run_for(1000);
    assert_eq!(sim.engine.failed_ids(), vec![id.clone()]);
    let view = sim.engine.conversation(elsewhere).unwrap();
    assert_eq!(view.messages[0].status, MessageStatus::Failed);
    sim.server.add_conversation(elsewhere, &[ME, OTHER]);
    assert!(sim.command(|e, now| e.retry(now, &id)));
    sim.run_for(2000);
    assert!(sim.engine.failed_ids().is_empty());
    assert_eq!(sim.server.messages[&elsewhere].len(), 1);
}

#[test]
fn send_as_queues_under_the_given_id_once_however_often_it_is_repeated() {
    let mut sim = connected_sim();
    let id = ClientMessageId::parse("0b7c8a52-2f55-4d8e-9a3c-6f1de0b2a4c1").unwrap();
    assert_eq!(
        sim.command(|e, now| e.send_as(now, ROOM, &id, "from a tab")),
        Ok(true)
    );
    // Repeated while queued or in flight (a tab re-sending after a take-over) ...
    assert_eq!(
        sim.command(|e, now| e.send_as(now, ROOM, &id, "from a tab")),
        Ok(false)
    );
    sim.run_for(2000);
    // ... and once it is sent and shown.
    assert_eq!(
        sim.command(|e, now| e.send_as(now, ROOM, &id, "from a tab")),
        Ok(false)
    );
    sim.run_for(2000);
    let stored: Vec<_> = sim.server.messages[&ROOM]
        .iter()
        .map(|m| (m.client_message_id.clone().unwrap(), m.text.clone()))
        .collect();
    assert_eq!(stored, vec![(id.to_string(), "from a tab".to_owned())]);
    let view = sim.engine.conversation(ROOM).unwrap();
    assert_eq!(view.messages.len(), 1);
    assert_eq!(view.messages[0].status, MessageStatus::Sent);
    assert!(
        sim.command(|e, now| e.send_as(now, ROOM, &id, " "))
            .is_err()
    );
}

#[test]
fn invalid_text_is_refused_by_send() {
    let mut engine = Engine::new(Config::default(), 1);
    assert!(engine.send(Millis(0), ROOM, "   ").is_err());
    assert!(engine.send(Millis(0), ROOM, &"x".repeat(1001)).is_err());
    assert_eq!(engine.snapshot().outbox_len, 0);
}

#[test]
fn the_outbox_survives_a_reload_and_bad_stored_data_is_an_error() {
    let mut first = Engine::new(Config::default(), 3);
    let id = first.send(Millis(0), ROOM, "offline").unwrap();
    let stored = first.save_outbox();
    let mut server = FakeServer::new();
    server.add_conversation(ROOM, &[ME, OTHER]);
    let mut sim = Sim::new(
        Engine::new(Config::new("http://chat.test"), 4),
        server,
        ME,
        4,
        NetParams::perfect(),
    );
    assert_eq!(sim.command(|e, now| e.restore_outbox(now, &stored)), Ok(1));
    assert_eq!(
        sim.engine.conversation(ROOM).unwrap().messages[0].status,
        MessageStatus::Sending
    );
    sim.command(|e, now| e.connect(now));
    sim.run_for(2000);
    assert_eq!(
        sim.server.messages[&ROOM][0].client_message_id.as_deref(),
        Some(id.as_str())
    );
    let mut engine = Engine::new(Config::default(), 1);
    for bad in ["", "{", "[]", r#"{"version":1}"#, "\u{0}"] {
        assert!(engine.restore_outbox(Millis(0), bad).is_err());
    }
    assert_eq!(engine.snapshot().outbox_len, 0);
}

#[test]
fn snapshots_keep_their_identity_until_something_changes() {
    let mut sim = connected_sim();
    let before = sim.engine.snapshot();
    let room = sim.engine.conversation(ROOM).unwrap();
    sim.run_for(30_000); // pings only
    assert!(std::sync::Arc::ptr_eq(&before, &sim.engine.snapshot()));
    sim.other_posts(ROOM, OTHER, "hello");
    sim.run_for(100);
    let after = sim.engine.snapshot();
    assert!(after.version > before.version);
    assert!(!std::sync::Arc::ptr_eq(
        &room,
        &sim.engine.conversation(ROOM).unwrap()
    ));
}

/// An engine that joined `ROOM` (empty) as `ME`, keeping `capacity` messages.
fn joined_engine(capacity: usize) -> Engine {
    let config = Config {
        timeline_capacity: capacity,
        ..Config::new("http://chat.test")
    };
    let mut engine = Engine::new(config, 5);
    let now = Millis(1);
    engine.connect(now);
    engine.handle_token(now, Some(FakeServer::new().issue_token(ME)));
    let socket = SocketId(0);
    engine.handle_frame(
        now,
        socket,
        r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}"#,
    );
    engine.handle_frame(now, socket, r#"40{"sid":"b"}"#);
    engine.join(now, ROOM);
    let ack = drain(&mut engine)
        .iter()
        .find_map(|o| match o {
            Output::SendFrame { text, .. } if text.contains("conversation:join") => text
                .strip_prefix("42")
                .and_then(|t| t.split('[').next())
                .map(str::to_owned),
            _ => None,
        })
        .unwrap();
    let answer = format!(r#"43{ack}[{{"success":true,"onlineUserIds":[],"lastSeq":0}}]"#);
    engine.handle_frame(now, socket, &answer);
    drain(&mut engine);
    // A first join of an empty conversation is synced at once: no history to fetch.
    assert!(engine.conversation(ROOM).unwrap().synced);
    engine
}

#[derive(Clone, Debug)]
enum Step {
    /// `message:new` from `OTHER`, `back` seqs below the next (0: at the end).
    Other { back: i64 },
    /// An own send, shown unsent until its echo.
    Send,
    /// The echo of the `n`th own send (if there was one), at the next seq.
    Echo { n: usize },
    /// `OTHER` read up to `back` seqs below the newest.
    ReadUpTo { back: i64 },
    /// A read receipt for the message `back` seqs below the newest.
    Receipt { back: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Other { back: 0 }),
        1 => (0..6i64).prop_map(|back| Step::Other { back }),
        2 => Just(Step::Send),
        2 => (0..4usize).prop_map(|n| Step::Echo { n }),
        1 => (0..4i64).prop_map(|back| Step::ReadUpTo { back }),
        1 => (0..6i64).prop_map(|back| Step::Receipt { back }),
    ]
}

proptest! {
    /// A view no one holds is patched in place; one held is replaced by a view made
    /// anew. Fed the same inputs, an engine whose every snapshot is kept (the second way
    /// each time) and one whose snapshots are dropped at once (the first) show the same
    /// conversation at the same version after every step.
    #[test]
    fn patched_views_equal_views_made_anew(
        steps in prop::collection::vec(step(), 1..80),
        capacity in 1usize..12,
    ) {
        let mut held = joined_engine(capacity);
        let mut free = joined_engine(capacity);
        let mut kept = Vec::new();
        let (mut next, mut sends) = (1i64, Vec::new());
        let now = Millis(10);
        for step in steps {
            let frame = |seq: i64, sender: UserId, cmid: Option<&str>| {
                let cmid = cmid.map_or("null".to_owned(), |c| format!("\"{c}\""));
                format!(
                    r#"42["message:new",{{"id":{},"conversationId":{},"seq":{seq},"senderId":{},"text":"m{seq}","clientMessageId":{cmid},"createdAt":"2026-01-01T00:00:00.000Z"}}]"#,
                    1000 + seq, ROOM.0, sender.0
                )
            };
            let input = match step {
                Step::Other { back } => {
                    let seq = (next - back).max(1);
                    next = next.max(seq + 1);
                    Some(frame(seq, OTHER, None))
                }
                Step::Send => {
                    let id = held.send(now, ROOM, "mine").unwrap();
                    prop_assert_eq!(&free.send(now, ROOM, "mine").unwrap(), &id);
                    sends.push(id);
                    None
                }
                Step::Echo { n } => sends.get(n).map(|id| {
                    next += 1;
                    frame(next - 1, ME, Some(id.as_str()))
                }),
                Step::ReadUpTo { back } => Some(format!(
                    r#"42["conversation:read",{{"conversationId":{},"userId":{},"lastReadSeq":{}}}]"#,
                    ROOM.0, OTHER.0, next - 1 - back
                )),
                Step::Receipt { back } => Some(format!(
                    r#"42["message:read",{{"messageId":{},"conversationId":{},"readBy":{},"readAt":"t"}}]"#,
                    1000 + next - 1 - back, ROOM.0, OTHER.0
                )),
            };
            for engine in [&mut held, &mut free] {
                if let Some(frame) = &input {
                    engine.handle_frame(now, SocketId(0), frame);
                }
                drain(engine);
            }
            let view = held.conversation(ROOM).unwrap();
            kept.push((view.clone(), (*view).clone()));
            let patched = (*free.conversation(ROOM).unwrap()).clone();
            prop_assert_eq!(&patched, &*held.conversation(ROOM).unwrap());
            prop_assert_eq!(free.version(), held.version());
        }
        // The views held stayed as they were when taken.
        for (view, then) in &kept {
            prop_assert_eq!(&**view, then);
        }
    }
}

#[test]
fn older_pages_load_on_demand() {
    let mut server = FakeServer::new();
    server.add_conversation(ROOM, &[ME, OTHER]);
    for i in 0..250 {
        server.post(Millis(0), ROOM, OTHER, &format!("old {i}"));
    }
    let mut sim = Sim::new(
        Engine::new(Config::new("http://chat.test"), 1),
        server,
        ME,
        1,
        NetParams::perfect(),
    );
    sim.command(|e, now| e.connect(now));
    sim.command(|e, now| e.join(now, ROOM));
    sim.run_for(1000);
    let view = sim.engine.conversation(ROOM).unwrap();
    assert_eq!(view.messages.len(), 100);
    assert_eq!(view.messages[0].seq, Some(151));
    assert!(view.has_older);
    assert!(sim.command(|e, now| e.load_older(now, ROOM)));
    sim.run_for(1000);
    let view = sim.engine.conversation(ROOM).unwrap();
    assert_eq!(view.messages.len(), 200);
    assert_eq!(view.messages[0].seq, Some(51));
    assert!(sim.command(|e, now| e.load_older(now, ROOM)));
    sim.run_for(1000);
    let view = sim.engine.conversation(ROOM).unwrap();
    assert_eq!(view.messages[0].seq, Some(1));
    assert!(!view.has_older);
    assert!(!sim.command(|e, now| e.load_older(now, ROOM)));
}

#[test]
fn presence_comes_from_the_join_ack_and_online_offline_events() {
    let mut sim = connected_sim();
    assert_eq!(
        sim.engine.conversation(ROOM).unwrap().online_user_ids,
        vec![ME]
    );
    sim.command(|e, now| e.set_participants(now, ROOM, &[ME, OTHER]));
    let socket = sim.engine.socket().unwrap();
    let now = sim.now;
    sim.engine
        .handle_frame(now, socket, r#"42["user:online",2]"#);
    assert_eq!(
        sim.engine.conversation(ROOM).unwrap().online_user_ids,
        vec![ME, OTHER]
    );
    sim.engine
        .handle_frame(now, socket, r#"42["user:offline",2]"#);
    assert_eq!(
        sim.engine.conversation(ROOM).unwrap().online_user_ids,
        vec![ME]
    );
}

#[test]
fn a_gap_in_seqs_triggers_a_backfill() {
    let mut sim = connected_sim();
    // The server stores two messages, but only the second reaches the client.
    sim.server.post(sim.now, ROOM, OTHER, "lost");
    sim.other_posts(ROOM, OTHER, "seen");
    sim.run_for(1000);
    let texts: Vec<_> = sim
        .engine
        .conversation(ROOM)
        .unwrap()
        .messages
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["lost", "seen"]);
}

#[test]
fn bad_input_is_ignored_with_a_reason_and_never_corrupts_the_timeline() {
    let mut sim = connected_sim();
    sim.other_posts(ROOM, OTHER, "good");
    sim.run_for(100);
    let before = sim.engine.conversation(ROOM).unwrap();
    let socket = sim.engine.socket().unwrap();
    let frames = [
        "",
        "9",
        "x",
        "4",
        "47",
        "451-[\"a\",{\"_placeholder\":true,\"num\":0}]",
        "42[\"message:new\"",
        "42{}",
        "42[]",
        "42[\"message:new\",{\"id\":\"x\"}]",
        "42[\"message:new\",{\"id\":5,\"conversationId\":77,\"seq\":1,\"senderId\":2,\"text\":\"x\",\"clientMessageId\":null,\"createdAt\":\"t\"}]",
        "42[\"message:new\",{\"id\":5,\"conversationId\":10,\"seq\":-3,\"senderId\":2,\"text\":\"x\",\"clientMessageId\":null,\"createdAt\":\"t\"}]",
        "42[\"message:new\",{\"id\":99,\"conversationId\":10,\"seq\":1,\"senderId\":2,\"text\":\"conflict\",\"clientMessageId\":null,\"createdAt\":\"t\"}]",
        // A later duplicate key wins (here one of the wrong type), and text after the
        // event is refused, whichever way the frame is read.
        "42[\"message:new\",{\"id\":98,\"conversationId\":10,\"seq\":2,\"senderId\":2,\"text\":\"x\",\"createdAt\":\"t\",\"seq\":\"2\"}]",
        "42[\"message:new\",{\"id\":98,\"conversationId\":10,\"seq\":2,\"senderId\":2,\"text\":\"x\",\"createdAt\":\"t\"}] x",
        "42[\"typing:start\",5]",
        "42[\"typing:start\",{\"conversationId\":77,\"userId\":2}]",
        "42[\"user:online\",\"me\"]",
        "42[\"message:read\",{}]",
        "42[\"conversation:new\",[]]",
        "42[\"no:such:event\",1]",
        "43999[{\"success\":true}]",
        "43[{\"success\":true}]",
        "40{\"sid\":\"again\"}",
        "0{\"sid\":\"again\",\"pingInterval\":1,\"pingTimeout\":1}",
    ];
    for frame in frames {
        let now = sim.now;
        sim.engine.handle_frame(now, socket, frame);
        let outputs = drain(&mut sim.engine);
        assert_eq!(warnings(&outputs), 1, "frame {frame:?} gave {outputs:?}");
        assert_eq!(
            sim.engine.state(),
            ConnectionState::Connected,
            "frame {frame:?}"
        );
    }
    assert_eq!(
        sim.engine.conversation(ROOM).unwrap().messages,
        before.messages
    );
    // A frame on a socket the engine does not use is ignored too.
    let now = sim.now;
    sim.engine.handle_frame(now, SocketId(999), "41");
    assert_eq!(warnings(&drain(&mut sim.engine)), 1);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
    // A server DISCONNECT ends the connection; the engine comes back.
    sim.engine.handle_frame(now, socket, "41");
    sim.drain();
    assert_eq!(sim.engine.state(), ConnectionState::Disconnected);
    sim.run_for(5000);
    assert_eq!(sim.engine.state(), ConnectionState::Connected);
}

#[test]
fn a_read_receipt_marks_the_message_read() {
    let mut sim = connected_sim();
    sim.command(|e, now| e.send(now, ROOM, "read me")).unwrap();
    sim.run_for(500);
    let id = sim.engine.conversation(ROOM).unwrap().messages[0]
        .id
        .unwrap();
    let socket = sim.engine.socket().unwrap();
    let now = sim.now;
    let frame = format!(
        r#"42["message:read",{{"messageId":{},"conversationId":10,"readBy":2,"readAt":"t"}}]"#,
        id.0
    );
    sim.engine.handle_frame(now, socket, &frame);
    assert_eq!(
        sim.engine.conversation(ROOM).unwrap().messages[0].status,
        MessageStatus::Read
    );
}

proptest! {
    /// Arbitrary frames on a connected engine: no panic, the timeline stays sorted and
    /// free of duplicates.
    #[test]
    fn arbitrary_frames_never_panic_or_corrupt_the_timeline(
        frames in prop::collection::vec(prop_oneof![
            ".{0,40}",
            "4[0-6][0-9]{0,2}\\[\"(message:new|typing:start|user:online|message:read)\",\\{\"id\":[0-9],\"conversationId\":10,\"seq\":[0-9],\"senderId\":2,\"text\":\"t\",\"clientMessageId\":null,\"createdAt\":\"t\"\\}\\]",
            "[0-6]{1,2}[\\[\\]{}\":a-z0-9,]{0,30}",
        ], 1..40)
    ) {
        let mut sim = connected_sim();
        let socket = sim.engine.socket().unwrap();
        for frame in frames {
            let now = sim.now;
            sim.engine.handle_frame(now, socket, &frame);
            drain(&mut sim.engine);
        }
        let view = sim.engine.conversation(ROOM).unwrap();
        let seqs: Vec<_> = view.messages.iter().filter_map(|m| m.seq).collect();
        prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{:?}", seqs);
    }
}

/// SPEC.md section 9: reading offline clears the count at once, and the server hears the
/// highest watermark once after reconnecting; another device's read and the other
/// participant's read arrive as `conversation:read`.
#[test]
fn reads_made_offline_are_sent_once_after_reconnecting_and_other_devices_reads_arrive() {
    let mut sim = connected_sim();
    sim.other_posts(ROOM, OTHER, "one");
    sim.other_posts(ROOM, OTHER, "two");
    sim.run_for(100);
    assert_eq!(sim.engine.conversation(ROOM).unwrap().unread_count, 2);

    sim.set_online(false);
    sim.command(|e, now| e.mark_conversation_read(now, ROOM));
    sim.command(|e, now| e.mark_conversation_read(now, ROOM));
    assert_eq!(sim.engine.conversation(ROOM).unwrap().unread_count, 0);
    assert_eq!(
        sim.server.watermark(ROOM, ME),
        0,
        "offline: nothing sent yet"
    );
    let reads_before = sim
        .log
        .sent
        .iter()
        .filter(|(_, _, f)| f.contains("conversation:read"))
        .count();
    sim.set_online(true);
    sim.run_for(5_000);
    assert_eq!(sim.server.watermark(ROOM, ME), 2);
    let reads: Vec<_> = sim.log.sent[..]
        .iter()
        .filter(|(_, _, f)| f.contains("conversation:read"))
        .skip(reads_before)
        .collect();
    assert_eq!(reads.len(), 1, "the highest watermark, once: {reads:?}");

    // The other participant reads: my message shows `read` once their watermark reaches it.
    let id = sim.command(|e, now| e.send(now, ROOM, "mine")).unwrap();
    sim.run_for(1_000);
    let status = |sim: &Sim| {
        let view = sim.engine.conversation(ROOM).unwrap();
        let mine = view
            .messages
            .iter()
            .find(|m| m.client_message_id.as_deref() == Some(id.as_str()));
        mine.map(|m| m.status)
    };
    assert_eq!(status(&sim), Some(MessageStatus::Sent));
    sim.other_reads(ROOM, OTHER);
    sim.run_for(100);
    assert_eq!(status(&sim), Some(MessageStatus::Read));
    let view = sim.engine.conversation(ROOM).unwrap();
    assert_eq!(view.read_seqs.get(OTHER), Some(3));

    // Another device of mine reads what arrived since: the count here clears too.
    sim.other_posts(ROOM, OTHER, "three");
    sim.run_for(100);
    assert_eq!(sim.engine.conversation(ROOM).unwrap().unread_count, 1);
    sim.other_reads(ROOM, ME);
    sim.run_for(100);
    assert_eq!(sim.engine.conversation(ROOM).unwrap().unread_count, 0);
}

#[test]
fn the_list_is_fetched_page_by_page_until_every_conversation_is_known() {
    let mut server = FakeServer::new();
    for id in 1..=1_201 {
        server.add_conversation(ConversationId(id), &[ME, OTHER]);
    }
    // The oldest page's conversation has news the engine must learn without joining.
    server.post(Millis(0), ConversationId(1), OTHER, "from the last page");
    let mut sim = Sim::new(
        Engine::new(Config::new("http://chat.test"), 7),
        server,
        ME,
        7,
        NetParams::perfect(),
    );
    sim.command(|e, now| e.connect(now));
    sim.run_for(2_000);
    let snapshot = sim.engine.snapshot();
    assert_eq!(snapshot.conversations.len(), 1_201);
    let oldest = sim.engine.conversation(ConversationId(1)).unwrap();
    assert_eq!((oldest.unread_count, oldest.last_seq), (1, 1));
    assert_eq!(
        oldest.last_message.as_ref().map(|m| m.text.as_str()),
        Some("from the last page")
    );
}
