//! A seeded network and a driver: runs an [`Engine`] against the [`FakeServer`] in
//! simulated time (str0m's netem, quinn's `Pair::drive`). Socket frames are dropped,
//! delayed (so reordered), duplicated; connections are cut; nothing waits for real.

use chat_engine::{ConnectionState, Engine, Event, Millis, Output, RequestId, SocketId};
use chat_wire::{ConversationId, UserId};
use std::collections::{BTreeMap, BTreeSet};

use super::server::{FakeServer, Outgoing};

/// How bad the network is.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetParams {
    pub drop_pct: u64,
    pub dup_pct: u64,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl NetParams {
    pub fn perfect() -> Self {
        NetParams {
            drop_pct: 0,
            dup_pct: 0,
            min_delay_ms: 5,
            max_delay_ms: 20,
        }
    }
}

#[derive(Clone, Debug)]
enum Delivery {
    SocketOpened(SocketId),
    SocketFailed(SocketId),
    ToServer(SocketId, String),
    ToClient(SocketId, String),
    ServerSeesClose(SocketId),
    ClientSeesClose(SocketId),
    HttpAtServer(RequestId, Option<String>, String),
    HttpResponse(RequestId, u16, String),
}

/// What the harness saw, for the properties to check.
#[derive(Debug, Default)]
pub struct Log {
    /// Frames the engine sent: (time, socket, frame).
    pub sent: Vec<(Millis, SocketId, String)>,
    /// Frames delivered to the engine.
    pub received: Vec<(Millis, SocketId, String)>,
    pub states: Vec<(Millis, ConnectionState)>,
    pub socket_opens: Vec<Millis>,
    pub events: Vec<(Millis, Event)>,
    /// Invariant violations found while running.
    pub violations: Vec<String>,
}

pub struct Sim {
    pub now: Millis,
    pub engine: Engine,
    pub server: FakeServer,
    pub net: NetParams,
    pub user: UserId,
    pub token: String,
    /// Sockets refuse to open (the server is down).
    pub refuse_sockets: bool,
    /// Until then, every frame in either direction vanishes (a half-open connection).
    pub blackhole_until: Millis,
    /// The server never hears `message:send` (to test ack timeouts).
    pub blackhole_sends: bool,
    pub log: Log,
    rng: fastrand::Rng,
    queue: BTreeMap<(Millis, u64), Delivery>,
    counter: u64,
    /// Sockets open on the driver's side.
    pub open_sockets: BTreeSet<SocketId>,
    /// Sockets on which the CONNECT ack reached the engine.
    handshaken: BTreeSet<SocketId>,
    next_ping: Millis,
}

impl Sim {
    pub fn new(
        engine: Engine,
        mut server: FakeServer,
        user: UserId,
        seed: u64,
        net: NetParams,
    ) -> Self {
        let token = server.issue_token(user);
        Sim {
            now: Millis(0),
            engine,
            server,
            net,
            user,
            token,
            refuse_sockets: false,
            blackhole_until: Millis(0),
            blackhole_sends: false,
            log: Log::default(),
            rng: fastrand::Rng::with_seed(seed),
            queue: BTreeMap::new(),
            counter: 0,
            open_sockets: BTreeSet::new(),
            handshaken: BTreeSet::new(),
            next_ping: Millis(25_000),
        }
    }

    fn schedule(&mut self, at: Millis, delivery: Delivery) {
        self.counter += 1;
        self.queue.insert((at, self.counter), delivery);
    }

    fn delay(&mut self) -> u64 {
        self.rng
            .u64(self.net.min_delay_ms..=self.net.max_delay_ms.max(self.net.min_delay_ms))
    }

    /// A frame through the faulty network.
    fn transmit(&mut self, delivery: Delivery) {
        if self.now < self.blackhole_until || self.rng.u64(0..100) < self.net.drop_pct {
            return;
        }
        let copies = if self.rng.u64(0..100) < self.net.dup_pct {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = self.now + self.delay();
            self.schedule(at, delivery.clone());
        }
    }

    fn send_to_clients(&mut self, out: Outgoing) {
        for (socket, frame) in out {
            self.transmit(Delivery::ToClient(socket, frame));
        }
    }

    /// Drains the engine's outputs, carrying them out.
    pub fn drain(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::OpenSocket { socket, .. } => {
                    self.log.socket_opens.push(self.now);
                    let at = self.now + self.delay();
                    if self.refuse_sockets {
                        self.schedule(at, Delivery::SocketFailed(socket));
                    } else {
                        self.open_sockets.insert(socket);
                        self.schedule(at, Delivery::SocketOpened(socket));
                    }
                }
                Output::SendFrame { socket, text } => {
                    self.log.sent.push((self.now, socket, text.clone()));
                    let lost = self.blackhole_sends && text.contains("message:send");
                    if self.open_sockets.contains(&socket) && !lost {
                        self.transmit(Delivery::ToServer(socket, text));
                    }
                }
                Output::CloseSocket { socket } => {
                    self.open_sockets.remove(&socket);
                    let at = self.now + self.delay();
                    self.schedule(at, Delivery::ServerSeesClose(socket));
                }
                Output::RequestToken => {
                    let token = self.token.clone();
                    self.engine.handle_token(self.now, Some(token));
                }
                Output::Http(request) => {
                    let at = self.now + self.delay();
                    self.schedule(
                        at,
                        Delivery::HttpAtServer(request.id, request.bearer, request.url),
                    );
                }
                Output::Event(event) => {
                    if let Event::StateChanged(state) = &event {
                        self.log.states.push((self.now, state.clone()));
                    }
                    self.log.events.push((self.now, event));
                }
            }
        }
        self.check_state();
    }

    /// Property 6's invariant: the state matches the sockets.
    fn check_state(&mut self) {
        let state = self.engine.state();
        let socket = self.engine.socket();
        let problem = match (&state, socket) {
            (ConnectionState::Connected, Some(s)) if !self.handshaken.contains(&s) => {
                Some("connected without a CONNECT ack on its socket".to_owned())
            }
            (ConnectionState::Connected, Some(s)) if !self.open_sockets.contains(&s) => {
                Some("connected on a socket the driver closed".to_owned())
            }
            (ConnectionState::Connected, None) => Some("connected without a socket".to_owned()),
            (ConnectionState::Disconnected | ConnectionState::Error(_), Some(_)) => {
                Some("disconnected but holding a socket".to_owned())
            }
            (ConnectionState::Disconnected | ConnectionState::Error(_), None)
                if !self.open_sockets.is_empty() =>
            {
                Some(format!(
                    "disconnected but sockets {:?} left open",
                    self.open_sockets
                ))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            self.log
                .violations
                .push(format!("{}: {problem} ({state:?})", self.now));
        }
    }

    fn apply(&mut self, delivery: Delivery) {
        let now = self.now;
        match delivery {
            Delivery::SocketOpened(socket) => {
                if !self.open_sockets.contains(&socket) {
                    return;
                }
                self.engine.handle_socket_open(now, socket);
                let out = self.server.open(socket);
                self.send_to_clients(out);
            }
            Delivery::SocketFailed(socket) => self.engine.handle_socket_closed(now, socket),
            Delivery::ToServer(socket, frame) => {
                let out = self.server.receive(now, socket, &frame);
                self.send_to_clients(out);
            }
            Delivery::ToClient(socket, frame) => {
                if !self.open_sockets.contains(&socket) {
                    return;
                }
                if frame.starts_with("40") {
                    self.handshaken.insert(socket);
                }
                self.log.received.push((now, socket, frame.clone()));
                self.engine.handle_frame(now, socket, &frame);
            }
            Delivery::ServerSeesClose(socket) => self.server.close(socket),
            Delivery::ClientSeesClose(socket) => {
                if self.open_sockets.remove(&socket) {
                    self.engine.handle_socket_closed(now, socket);
                }
            }
            Delivery::HttpAtServer(id, token, url) => {
                let (status, body) = self.server.http_get(token.as_deref(), &url);
                let at = now + self.delay();
                self.schedule(at, Delivery::HttpResponse(id, status, body));
            }
            Delivery::HttpResponse(id, status, body) => {
                self.engine.handle_http_response(now, id, status, &body)
            }
        }
        self.drain();
    }

    /// Runs until `until`, delivering, firing timers and pinging.
    pub fn run_until(&mut self, until: Millis) {
        self.drain();
        loop {
            let mut next = self.next_ping;
            if let Some(t) = self.engine.poll_timeout() {
                next = next.min(t);
            }
            if let Some((&(t, _), _)) = self.queue.first_key_value() {
                next = next.min(t);
            }
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            if let Some(entry) = self.queue.first_entry()
                && entry.key().0 <= self.now
            {
                let delivery = entry.remove();
                self.apply(delivery);
                continue;
            }
            if self.next_ping <= self.now {
                self.next_ping = self.now + self.server.ping_interval;
                let out = self.server.pings();
                self.send_to_clients(out);
                continue;
            }
            self.engine.handle_timeout(self.now);
            self.drain();
        }
    }

    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now + ms);
    }

    /// Cuts the connection: both ends see the socket close.
    pub fn cut(&mut self) {
        for socket in self.open_sockets.clone() {
            let at = self.now + self.delay();
            self.schedule(at, Delivery::ClientSeesClose(socket));
            self.schedule(at, Delivery::ServerSeesClose(socket));
        }
    }

    /// Another user posts in a conversation.
    pub fn other_posts(&mut self, conversation: ConversationId, user: UserId, text: &str) {
        let out = self.server.post(self.now, conversation, user, text);
        self.send_to_clients(out);
    }

    /// Another user reads a conversation to its end (from another device).
    pub fn other_reads(&mut self, conversation: ConversationId, user: UserId) {
        let last = self.server.last_seq(conversation);
        let out = self.server.read(conversation, user, last);
        self.send_to_clients(out);
    }

    /// Another user types in a conversation.
    pub fn other_types(&mut self, conversation: ConversationId, user: UserId) {
        let out = self.server.typing(conversation, user, true);
        self.send_to_clients(out);
    }

    pub fn set_online(&mut self, online: bool) {
        self.engine.handle_network(self.now, online);
        self.drain();
    }

    /// Runs an engine command at the current time, then drains.
    pub fn command<T>(&mut self, f: impl FnOnce(&mut Engine, Millis) -> T) -> T {
        let value = f(&mut self.engine, self.now);
        self.drain();
        value
    }
}
