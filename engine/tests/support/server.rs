//! A model of the real server: participants, gapless seqs, idempotency on
//! `(sender, clientMessageId)`, acks, room broadcasts, the per-user rate limit, pings and
//! the history endpoint. It speaks the engine's codec; what it sends is what SPEC.md
//! section 2 says socketioxide sends.

use chat_engine::json::Value;
use chat_engine::protocol::{self, AckId, OpenPacket, Packet, SocketPacket};
use chat_engine::{Millis, SocketId};
use chat_wire::event;
use chat_wire::rest::HistoryPage;
use chat_wire::socket::{
    AckFailure, Conversation, ConversationKind, ConversationRead, ConversationSummary, ErrorCode,
    JoinAck, OkAck, ReadAck, ReadSeqs, SendAck, SendMessage,
};
use chat_wire::{ConversationId, Message, MessageId, UserId};
use serde_json::json;

/// The engine's JSON value of a `json!` one (the fake server speaks serde_json).
fn ours(value: serde_json::Value) -> Value {
    Value::parse(&value.to_string()).expect("serde_json writes JSON")
}

fn theirs(value: &Value) -> serde_json::Value {
    serde_json::from_str(&value.to_json()).expect("the engine writes JSON")
}
use std::collections::{BTreeMap, BTreeSet};

/// Frames the server wants sent: to which socket, what.
pub type Outgoing = Vec<(SocketId, String)>;

#[derive(Debug)]
pub struct ServerSocket {
    pub user: Option<UserId>,
    pub rooms: BTreeSet<ConversationId>,
}

#[derive(Debug, Default)]
pub struct FakeServer {
    pub participants: BTreeMap<ConversationId, BTreeSet<UserId>>,
    pub messages: BTreeMap<ConversationId, Vec<Message>>,
    idempotency: BTreeMap<(UserId, String), (ConversationId, usize)>,
    pub sockets: BTreeMap<SocketId, ServerSocket>,
    /// Tokens per user, in millitokens, and when they were last refilled.
    buckets: BTreeMap<UserId, (u64, Millis)>,
    /// Tokens the server accepts, and whose they are.
    pub tokens: BTreeMap<String, UserId>,
    pub rate_limit: bool,
    /// While set, the database is "down": joins, sends and reads are answered
    /// `unavailable` with this `retryAfterMs`.
    pub outage_retry_ms: Option<u64>,
    pub ping_interval: u64,
    pub ping_timeout: u64,
    next_message_id: i64,
    /// Every `message:send` the server handled: (sender, clientMessageId, time).
    pub sends_seen: Vec<(UserId, String, Millis)>,
    /// Read watermarks (SPEC.md section 9); a sender's moves to each message they send.
    pub watermarks: BTreeMap<(ConversationId, UserId), i64>,
}

impl FakeServer {
    pub fn new() -> Self {
        FakeServer {
            rate_limit: true,
            ping_interval: 25_000,
            ping_timeout: 20_000,
            next_message_id: 1,
            ..FakeServer::default()
        }
    }

    pub fn add_conversation(&mut self, id: ConversationId, users: &[UserId]) {
        self.participants
            .insert(id, users.iter().copied().collect());
        self.messages.entry(id).or_default();
    }

    /// A token for `user` shaped like the server's JWTs (the engine reads `userId`).
    pub fn issue_token(&mut self, user: UserId) -> String {
        let token = format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.sig",
            base64url(format!(r#"{{"userId":{}}}"#, user.0).as_bytes())
        );
        self.tokens.insert(token.clone(), user);
        token
    }

    /// A WebSocket reached the server: the Engine.IO open packet.
    pub fn open(&mut self, socket: SocketId) -> Outgoing {
        self.sockets.insert(
            socket,
            ServerSocket {
                user: None,
                rooms: BTreeSet::new(),
            },
        );
        let open = OpenPacket {
            sid: format!("sid{}", socket.0),
            upgrades: vec![],
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: 65536,
        };
        vec![(socket, Packet::Open(open).encode())]
    }

    pub fn close(&mut self, socket: SocketId) {
        self.sockets.remove(&socket);
    }

    pub fn is_connected(&self, socket: SocketId) -> bool {
        self.sockets.get(&socket).is_some_and(|s| s.user.is_some())
    }

    /// Pings for every open socket.
    pub fn pings(&self) -> Outgoing {
        self.sockets
            .keys()
            .map(|s| (*s, Packet::Ping(String::new()).encode()))
            .collect()
    }

    /// A frame from a client.
    pub fn receive(&mut self, now: Millis, socket: SocketId, frame: &str) -> Outgoing {
        let Some(state) = self.sockets.get(&socket) else {
            return vec![];
        };
        let user = state.user;
        let Ok(packet) = protocol::decode(frame) else {
            return vec![];
        };
        match packet {
            Packet::Message(SocketPacket::Connect(auth)) => {
                let token = auth
                    .as_ref()
                    .and_then(|a| a.get("token"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match self.tokens.get(token) {
                    Some(user) => {
                        let user = *user;
                        if let Some(s) = self.sockets.get_mut(&socket) {
                            s.user = Some(user);
                        }
                        let ack = SocketPacket::Connect(Some(ours(
                            json!({"sid": format!("s{}", socket.0)}),
                        )));
                        vec![(socket, ack.encode())]
                    }
                    None => {
                        let message = if token.is_empty() {
                            event::AUTH_TOKEN_REQUIRED
                        } else {
                            event::AUTH_INVALID_TOKEN
                        };
                        let error = SocketPacket::ConnectError {
                            message: message.into(),
                        };
                        vec![(socket, error.encode())]
                    }
                }
            }
            Packet::Message(SocketPacket::Event { ack, name, args }) => match user {
                Some(user) => {
                    let args = args.iter().map(theirs).collect();
                    self.on_event(now, socket, user, ack, &name, args)
                }
                None => vec![],
            },
            _ => vec![],
        }
    }

    fn on_event(
        &mut self,
        now: Millis,
        socket: SocketId,
        user: UserId,
        ack: Option<AckId>,
        name: &str,
        args: Vec<serde_json::Value>,
    ) -> Outgoing {
        let reply = |value: serde_json::Value| -> Outgoing {
            match ack {
                Some(id) => vec![(
                    socket,
                    SocketPacket::Ack {
                        id,
                        args: vec![ours(value)],
                    }
                    .encode(),
                )],
                None => vec![],
            }
        };
        let failure =
            |code: ErrorCode| serde_json::to_value(AckFailure::new(code, code.as_str())).unwrap();
        let conversation = args
            .first()
            .and_then(serde_json::Value::as_i64)
            .map(ConversationId);
        if let Some(wait) = self.outage_retry_ms
            && matches!(
                name,
                event::CONVERSATION_JOIN | event::MESSAGE_SEND | event::CONVERSATION_READ
            )
        {
            return reply(serde_json::to_value(AckFailure::unavailable(wait)).unwrap());
        }
        match name {
            event::CONVERSATION_JOIN => {
                let Some(id) = conversation.filter(|c| self.is_participant(*c, user)) else {
                    return reply(failure(ErrorCode::Forbidden));
                };
                if let Some(s) = self.sockets.get_mut(&socket) {
                    s.rooms.insert(id);
                }
                let online: BTreeSet<UserId> = self
                    .sockets
                    .values()
                    .filter_map(|s| s.user)
                    .filter(|u| self.is_participant(id, *u))
                    .collect();
                let ack = JoinAck {
                    success: Default::default(),
                    online_user_ids: online.into_iter().collect(),
                    last_seq: self.last_seq(id),
                    last_read_seq: self.watermark(id, user),
                    read_seqs: self.read_seqs(id),
                };
                reply(serde_json::to_value(ack).unwrap())
            }
            event::CONVERSATION_LEAVE => {
                if let (Some(id), Some(s)) = (conversation, self.sockets.get_mut(&socket)) {
                    s.rooms.remove(&id);
                }
                reply(serde_json::to_value(OkAck::default()).unwrap())
            }
            event::MESSAGE_SEND => {
                let body = args
                    .get(1)
                    .cloned()
                    .and_then(|v| serde_json::from_value::<SendMessage>(v).ok());
                let (Some(id), Some(body)) = (conversation, body) else {
                    return reply(failure(ErrorCode::BadRequest));
                };
                if !self.is_participant(id, user) {
                    return reply(failure(ErrorCode::Forbidden));
                }
                if let Err(e) = chat_wire::text::validate_text(&body.text) {
                    return reply(failure(e.code()));
                }
                self.sends_seen
                    .push((user, body.client_message_id.clone(), now));
                if let Some((c, index)) = self
                    .idempotency
                    .get(&(user, body.client_message_id.clone()))
                {
                    let message = &self.messages[c][*index];
                    return reply(serde_json::to_value(send_ack(message)).unwrap());
                }
                if let Some(wait) = self.take_token(now, user) {
                    return reply(serde_json::to_value(AckFailure::rate_limited(wait)).unwrap());
                }
                let (message, mut out) =
                    self.commit(now, id, user, body.text, Some(body.client_message_id));
                out.splice(
                    0..0,
                    reply(serde_json::to_value(send_ack(&message)).unwrap()),
                );
                out
            }
            event::TYPING_START | event::TYPING_STOP => vec![],
            event::MESSAGE_READ => reply(serde_json::to_value(OkAck::default()).unwrap()),
            event::CONVERSATION_READ => {
                let seq = args.get(1).and_then(serde_json::Value::as_i64);
                let (Some(id), Some(seq)) = (conversation, seq.filter(|s| *s >= 0)) else {
                    return reply(failure(ErrorCode::BadRequest));
                };
                if !self.is_participant(id, user) {
                    return reply(failure(ErrorCode::Forbidden));
                }
                let mut out = self.read(id, user, seq);
                let ack = ReadAck {
                    success: Default::default(),
                    last_read_seq: self.watermark(id, user),
                };
                out.splice(0..0, reply(serde_json::to_value(ack).unwrap()));
                out
            }
            _ => reply(failure(ErrorCode::BadRequest)),
        }
    }

    /// Another user's message, as if sent from elsewhere: stored and broadcast.
    pub fn post(
        &mut self,
        now: Millis,
        conversation: ConversationId,
        user: UserId,
        text: &str,
    ) -> Outgoing {
        self.commit(now, conversation, user, text.to_owned(), None)
            .1
    }

    fn commit(
        &mut self,
        now: Millis,
        conversation: ConversationId,
        user: UserId,
        text: String,
        client_message_id: Option<String>,
    ) -> (Message, Outgoing) {
        let messages = self.messages.entry(conversation).or_default();
        let message = Message {
            id: MessageId(self.next_message_id),
            conversation_id: conversation,
            seq: messages.len() as i64 + 1,
            sender_id: user,
            text,
            client_message_id: client_message_id.clone(),
            created_at: format!("2026-01-01T00:00:{:09.3}Z", now.0 as f64 / 1000.0),
        };
        self.next_message_id += 1;
        if let Some(cmid) = client_message_id {
            self.idempotency
                .insert((user, cmid), (conversation, messages.len()));
        }
        messages.push(message.clone());
        let mark = self.watermarks.entry((conversation, user)).or_default();
        *mark = (*mark).max(message.seq);
        let frame = protocol::encode_event(
            None,
            event::MESSAGE_NEW,
            vec![ours(serde_json::to_value(&message).unwrap())],
        );
        // To the room and to every participant's sockets, joined or not (SPEC.md 9).
        let out = self
            .sockets
            .iter()
            .filter(|(_, s)| {
                s.rooms.contains(&conversation)
                    || s.user.is_some_and(|u| self.is_participant(conversation, u))
            })
            .map(|(id, _)| (*id, frame.clone()))
            .collect();
        (message, out)
    }

    pub fn last_seq(&self, conversation: ConversationId) -> i64 {
        self.messages
            .get(&conversation)
            .map_or(0, |m| m.len() as i64)
    }

    pub fn watermark(&self, conversation: ConversationId, user: UserId) -> i64 {
        self.watermarks
            .get(&(conversation, user))
            .copied()
            .unwrap_or(0)
    }

    fn read_seqs(&self, conversation: ConversationId) -> ReadSeqs {
        self.participants
            .get(&conversation)
            .into_iter()
            .flatten()
            .map(|u| (*u, self.watermark(conversation, *u)))
            .collect()
    }

    /// Messages of others above `user`'s watermark: what the unread count must be.
    pub fn unread(&self, conversation: ConversationId, user: UserId) -> i64 {
        let mark = self.watermark(conversation, user);
        self.messages[&conversation]
            .iter()
            .filter(|m| m.seq > mark && m.sender_id != user)
            .count() as i64
    }

    /// `user` read up to `seq` (clamped to the last seq; never back): on a move,
    /// `conversation:read` to the room and to the reader's sockets.
    pub fn read(&mut self, conversation: ConversationId, user: UserId, seq: i64) -> Outgoing {
        let target = seq.min(self.last_seq(conversation));
        let mark = self.watermarks.entry((conversation, user)).or_default();
        if target <= *mark {
            return vec![];
        }
        *mark = target;
        let read = ConversationRead {
            conversation_id: conversation,
            user_id: user,
            last_read_seq: target,
        };
        let frame = protocol::encode_event(
            None,
            event::CONVERSATION_READ,
            vec![ours(serde_json::to_value(read).unwrap())],
        );
        self.sockets
            .iter()
            .filter(|(_, s)| s.rooms.contains(&conversation) || s.user == Some(user))
            .map(|(id, _)| (*id, frame.clone()))
            .collect()
    }

    /// `GET /api/conversations?<query>` for `user`, as the list's JSON: every item has the
    /// same `activityAt`, so the order is by id, highest first, and `beforeId` pages it.
    pub fn list(&self, user: UserId, query: &str) -> String {
        let mut limit = 500usize;
        let mut before_id = i64::MAX;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("limit", n)) => limit = n.parse().unwrap(),
                Some(("beforeId", n)) => before_id = n.parse().unwrap(),
                _ => {}
            }
        }
        let list: Vec<_> = self
            .participants
            .iter()
            .rev()
            .filter(|(id, users)| users.contains(&user) && id.0 < before_id)
            .take(limit)
            .map(|(id, users)| ConversationSummary {
                conversation: Conversation {
                    id: *id,
                    kind: ConversationKind::Group,
                    title: None,
                    participant_ids: users.iter().copied().collect(),
                    last_seq: self.last_seq(*id),
                },
                participants: vec![],
                last_message: self.messages[id].last().cloned(),
                last_read_seq: self.watermark(*id, user),
                unread_count: self.unread(*id, user),
                read_seqs: self.read_seqs(*id),
                activity_at: "2026-01-01T00:00:00.000Z".into(),
            })
            .collect();
        serde_json::to_string(&list).unwrap()
    }

    /// A typing event from another user, to the room.
    pub fn typing(&self, conversation: ConversationId, user: UserId, start: bool) -> Outgoing {
        let name = if start {
            event::TYPING_START
        } else {
            event::TYPING_STOP
        };
        let frame = protocol::encode_event(
            None,
            name,
            vec![ours(
                json!({"conversationId": conversation.0, "userId": user.0}),
            )],
        );
        self.sockets
            .iter()
            .filter(|(_, s)| s.rooms.contains(&conversation))
            .map(|(id, _)| (*id, frame.clone()))
            .collect()
    }

    /// `GET` of an API URL: (status, body).
    pub fn http_get(&self, token: Option<&str>, url: &str) -> (u16, String) {
        let Some(user) = token.and_then(|t| self.tokens.get(t)) else {
            return (
                401,
                r#"{"error":{"code":"unauthorized","message":"no"}}"#.into(),
            );
        };
        if let Some(query) = url
            .split_once("/api/conversations")
            .and_then(|(_, rest)| rest.strip_prefix('?').or(rest.is_empty().then_some("")))
        {
            return (200, self.list(*user, query));
        }
        let Some(rest) = url.split("/api/conversations/").nth(1) else {
            return (404, "{}".into());
        };
        let (id, query) = rest.split_once("/messages?").unwrap_or((rest, ""));
        let Ok(id) = id.parse().map(ConversationId) else {
            return (404, "{}".into());
        };
        if !self.is_participant(id, *user) {
            return (
                403,
                r#"{"error":{"code":"forbidden","message":"no"}}"#.into(),
            );
        }
        let mut after = None;
        let mut before = None;
        let mut limit = 100usize;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("afterSeq", v)) => after = v.parse::<i64>().ok(),
                Some(("beforeSeq", v)) => before = v.parse::<i64>().ok(),
                Some(("limit", v)) => limit = v.parse().unwrap_or(100),
                _ => {}
            }
        }
        let all = &self.messages[&id];
        let page: Vec<Message> = if let Some(after) = after {
            all.iter()
                .filter(|m| m.seq > after)
                .take(limit + 1)
                .cloned()
                .collect()
        } else {
            let older: Vec<_> = all
                .iter()
                .filter(|m| before.is_none_or(|b| m.seq < b))
                .cloned()
                .collect();
            let start = older.len().saturating_sub(limit + 1);
            older[start..].to_vec()
        };
        let has_more = page.len() > limit;
        let messages = if after.is_some() {
            page.into_iter().take(limit).collect()
        } else {
            page.into_iter().skip(usize::from(has_more)).collect()
        };
        (
            200,
            serde_json::to_string(&HistoryPage { messages, has_more }).unwrap(),
        )
    }

    fn is_participant(&self, conversation: ConversationId, user: UserId) -> bool {
        self.participants
            .get(&conversation)
            .is_some_and(|p| p.contains(&user))
    }

    /// Token bucket: 10 per second, burst 10. `Some(wait)` when empty.
    fn take_token(&mut self, now: Millis, user: UserId) -> Option<u64> {
        if !self.rate_limit {
            return None;
        }
        let rate = u64::from(chat_wire::limits::MESSAGES_PER_SECOND);
        let capacity = rate * 1000;
        let (tokens, last) = self.buckets.entry(user).or_insert((capacity, now));
        *tokens = (*tokens + now.since(*last) * rate).min(capacity);
        *last = now;
        if *tokens >= 1000 {
            *tokens -= 1000;
            None
        } else {
            Some((1000 - *tokens).div_ceil(rate))
        }
    }
}

fn send_ack(message: &Message) -> SendAck {
    SendAck {
        success: Default::default(),
        message_id: message.id,
        seq: message.seq,
        created_at: message.created_at.clone(),
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
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
    out
}
