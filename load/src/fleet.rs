//! The simulated users: one engine each, an event pump per engine, and the [`Recorder`]
//! the pumps report to.

use crate::population::{Member, Population};
use crate::report::Latencies;
use crate::verify::Deliveries;
use chat_engine::{ConnectionState, Event};
use chat_wire::{ConversationId, UserId};
use client_native::{ClientOptions, NativeClient};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What the run measured, written by every client's event pump.
#[derive(Debug, Default)]
pub struct Recorder {
    inner: Mutex<Recorded>,
    /// Something was recorded: waiters re-check their condition.
    pub changed: Notify,
    pub failed: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Recorded {
    /// When each message was handed to its sender's engine, by clientMessageId.
    pub sent_at: HashMap<String, Instant>,
    pub delivery: Latencies,
    pub ack: Latencies,
    pub reconnect: Latencies,
    /// Every acknowledged message: (conversation, seq, clientMessageId).
    pub acked: Vec<(ConversationId, i64, String)>,
    /// When the last acknowledgement arrived.
    pub last_ack: Option<Instant>,
    /// When each message was acknowledged, by clientMessageId.
    pub acked_at: HashMap<String, Instant>,
    /// When the last other participant received each message, by clientMessageId.
    pub received_last: HashMap<String, Instant>,
    /// Clients that noticed a lost connection and caught up again (connecting counts).
    pub recoveries: usize,
}

impl Recorder {
    pub fn lock(&self) -> MutexGuard<'_, Recorded> {
        // Pumps only push numbers while holding it; a poisoned lock still holds valid data.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `done` holds or `patience` runs out; `false` on timeout.
    pub async fn wait_until(&self, patience: Duration, mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            let changed = self.changed.notified();
            if done() {
                return true;
            }
            // A condition may also turn true without an event (a command returned), so
            // look again at least every 100 ms.
            let wake = deadline.min(Instant::now() + Duration::from_millis(100));
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(wake) => {}
            }
            if Instant::now() >= deadline {
                return done();
            }
        }
    }
}

/// One simulated user.
#[derive(Debug)]
pub struct FleetClient {
    pub user: UserId,
    pub client: NativeClient,
    pub conversations: Vec<ConversationId>,
    /// Since when the client has been away, while it has not caught up since.
    lost: Mutex<Lost>,
    /// What the engine reported stored, for the integrity check.
    deliveries: Mutex<Deliveries>,
}

#[derive(Debug, Default)]
struct Lost {
    /// When the client was cut off (or asked to connect).
    since: Option<Instant>,
    /// The engine has reported the loss (a connection that still looks fine right after a
    /// cut is stale, not recovered).
    noticed: bool,
}

impl FleetClient {
    /// What the engine reported stored so far (the event pump adds to it).
    pub fn deliveries(&self) -> MutexGuard<'_, Deliveries> {
        lock(&self.deliveries)
    }

    /// Connected, and every conversation joined and synced.
    pub fn caught_up(&self) -> bool {
        caught_up(&self.client, &self.conversations)
    }
}

/// Whether `client` is connected with every one of `conversations` joined and synced.
pub fn caught_up(client: &NativeClient, conversations: &[ConversationId]) -> bool {
    let snapshot = client.snapshot();
    snapshot.connection.state == ConnectionState::Connected
        && conversations.iter().all(|id| {
            snapshot
                .conversations
                .get(id)
                .is_some_and(|view| view.synced)
        })
}

/// All the simulated users of a run.
#[derive(Debug)]
pub struct Fleet {
    pub clients: Vec<Arc<FleetClient>>,
    pub recorder: Arc<Recorder>,
    pub conversations: Vec<(ConversationId, Vec<usize>)>,
}

impl Fleet {
    /// Starts an engine per member (not connected yet).
    pub fn start(url: &str, population: Population, seed: u64) -> Fleet {
        Fleet::start_split(&[url.to_owned()], population, seed)
    }

    /// Like [`Fleet::start`], member `i` talking to `urls[i % urls.len()]` (clients split
    /// across server nodes).
    pub fn start_split(urls: &[String], population: Population, seed: u64) -> Fleet {
        let recorder = Arc::new(Recorder::default());
        // One HTTP client (one pool of REST connections) for the whole fleet: with one
        // each, 10,000 clients held 10,000 idle REST connections beside their 10,000
        // WebSockets, on both sides, and met a machine's 20,000 open-file limit
        // (docs/BENCHMARKS.md, "big-group"). The server's work per request is the same.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(SHARED_IDLE_CONNECTIONS)
            .build()
            // Building fails only on TLS set-up, which this build has none of.
            .unwrap_or_default();
        let clients = population
            .members
            .into_iter()
            .enumerate()
            .map(|(index, member)| {
                let url = urls
                    .get(index % urls.len().max(1))
                    .map_or("", String::as_str);
                start_client(
                    url,
                    &http,
                    member,
                    seed.wrapping_add(index as u64),
                    &recorder,
                )
            })
            .collect();
        Fleet {
            clients,
            recorder,
            conversations: population.conversations,
        }
    }

    /// Connects and joins everyone; the number caught up within `patience`.
    pub async fn connect_all(&self, patience: Duration) -> usize {
        self.connect_range(0..self.clients.len(), patience).await
    }

    /// Connects and joins the clients in `range`; the number of them caught up within
    /// `patience`.
    pub async fn connect_range(&self, range: Range<usize>, patience: Duration) -> usize {
        let clients = self.clients.get(range).unwrap_or_default();
        for fleet_client in clients {
            fleet_client.client.connect();
            for &conversation in &fleet_client.conversations {
                fleet_client.client.join(conversation);
            }
        }
        let caught_up = || clients.iter().filter(|c| c.caught_up()).count();
        self.recorder
            .wait_until(patience, || caught_up() == clients.len())
            .await;
        caught_up()
    }

    pub fn caught_up(&self) -> usize {
        self.clients.iter().filter(|c| c.caught_up()).count()
    }

    /// Marks every client as cut off now (a storm starts); each is counted as recovered
    /// once its engine has noticed the loss and caught up again.
    pub fn mark_lost(&self) {
        let now = Instant::now();
        for fleet_client in &self.clients {
            *lock(&fleet_client.lost) = Lost {
                since: Some(now),
                noticed: false,
            };
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Idle REST connections the fleet keeps open to a server, whatever its size.
const SHARED_IDLE_CONNECTIONS: usize = 256;

fn start_client(
    url: &str,
    http: &reqwest::Client,
    member: Member,
    seed: u64,
    recorder: &Arc<Recorder>,
) -> Arc<FleetClient> {
    let token = member.token.clone();
    let mut options = ClientOptions::new(url, move || Some(token.clone()));
    options.seed = seed;
    options.http = http.clone();
    // Keep every message of the run: the timeline's deduplication then covers the whole
    // run, so a message the engine reports stored twice is a real duplicate (one dropped
    // from a bounded window and delivered again would be stored, and counted, again).
    options.config.timeline_capacity = usize::MAX;
    let (client, mut events) = NativeClient::spawn(options);
    let fleet_client = Arc::new(FleetClient {
        user: member.user,
        client,
        conversations: member.conversations,
        lost: Mutex::new(Lost::default()),
        deliveries: Mutex::new(Deliveries::default()),
    });
    let (me, recorder) = (Arc::downgrade(&fleet_client), recorder.clone());
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let Some(me) = me.upgrade() else { return };
            record(&me, &recorder, event);
            recorder.changed.notify_waiters();
        }
    });
    fleet_client
}

fn record(me: &FleetClient, recorder: &Recorder, event: Event) {
    let now = Instant::now();
    match event {
        Event::Stored {
            conversation,
            message,
        } => {
            if let Some(seq) = message.seq {
                me.deliveries()
                    .record(conversation, seq, message.client_message_id.as_deref());
            }
        }
        Event::MessageReceived(view) if view.sender_id != Some(me.user) => {
            let mut recorded = recorder.lock();
            let sent = view
                .client_message_id
                .as_ref()
                .and_then(|id| recorded.sent_at.get(id).copied());
            if let Some(sent) = sent {
                recorded.delivery.record(now - sent);
            }
            if let Some(id) = &view.client_message_id {
                recorded.received_last.insert(id.clone(), now);
            }
        }
        Event::Sent {
            client_message_id,
            conversation,
            seq,
            ..
        } => {
            let mut recorded = recorder.lock();
            let id = client_message_id.to_string();
            if let Some(sent) = recorded.sent_at.get(&id).copied() {
                recorded.ack.record(now - sent);
            }
            recorded.acked_at.insert(id.clone(), now);
            recorded.acked.push((conversation, seq, id));
            recorded.last_ack = Some(now);
        }
        Event::SendFailed { .. } => {
            recorder.failed.fetch_add(1, Ordering::Relaxed);
        }
        Event::StateChanged(ConnectionState::Disconnected | ConnectionState::Connecting) => {
            let mut lost = lock(&me.lost);
            lost.since.get_or_insert(now);
            lost.noticed = true;
        }
        _ => {}
    }
    let mut lost = lock(&me.lost);
    if let Some(since) = lost.since
        && lost.noticed
        && me.caught_up()
    {
        let mut recorded = recorder.lock();
        recorded.reconnect.record(now - since);
        recorded.recoveries += 1;
        *lost = Lost::default();
    }
}
