//! A second device of one fleet user, through a proxy of its own, that stores its outbox as
//! an app does (`Engine::save_outbox` on every `OutboxChanged`, here into memory standing
//! for `localStorage`) and notes which messages reached it live (`message:new`).
//!
//! The crash client is one: it can be dropped without a clean shutdown while messages are
//! queued, and started again from what it had stored. The Redis soaks' listeners are
//! others, one per node, telling live cross-node delivery from a catch-up.

use super::check::{Sent, Viewer};
use super::proxy::Proxy;
use crate::fleet::{Fleet, Recorder};
use chat_engine::{ConnectionState, Event};
use chat_wire::{ConversationId, UserId};
use client_native::{ClientOptions, NativeClient};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Every acknowledgement it got, over all its lives: (conversation, seq, clientMessageId).
type Acks = Vec<(ConversationId, i64, String)>;

pub(super) struct Device {
    /// The fleet client whose user it is.
    pub(super) fleet_index: usize,
    pub(super) user: UserId,
    token: String,
    pub(super) conversations: Vec<ConversationId>,
    /// Between it and node 1; a crash round cuts and refuses its connections.
    pub(super) proxy: Proxy,
    recorder: Arc<Recorder>,
    /// What the app stored on the last `OutboxChanged` (its `localStorage`).
    storage: Arc<Mutex<String>>,
    acked: Arc<Mutex<Acks>>,
    /// The clientMessageIds that arrived live (`message:new`), over all its lives.
    live: Arc<Mutex<HashSet<String>>>,
    failed: Arc<AtomicU64>,
    /// `None` between a crash and the restart.
    client: Option<Arc<NativeClient>>,
    /// 1 for the first start, +1 for each restart.
    pub(super) life: u64,
    seed: u64,
    /// Everything it was asked to send, over all its lives.
    pub(super) sent: Vec<Sent>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Device {
    /// A second device of fleet client `fleet_index`'s user (whose `token` it uses),
    /// talking through `proxy`; connects and joins that user's conversations.
    pub(super) fn start(
        fleet: &Fleet,
        fleet_index: usize,
        token: String,
        proxy: Proxy,
        seed: u64,
    ) -> Device {
        let member = &fleet.clients[fleet_index];
        let mut device = Device {
            fleet_index,
            user: member.user,
            token,
            conversations: member.conversations.clone(),
            proxy,
            recorder: fleet.recorder.clone(),
            storage: Arc::new(Mutex::new(String::new())),
            acked: Arc::new(Mutex::new(Vec::new())),
            live: Arc::new(Mutex::new(HashSet::new())),
            failed: Arc::new(AtomicU64::new(0)),
            client: None,
            life: 0,
            seed,
            sent: Vec::new(),
        };
        // Nothing to restore: it cannot fail.
        device.spawn(None).unwrap_or_default();
        device
    }

    /// A new engine (a new life), its outbox restored from `stored` before it connects;
    /// how many messages that outbox held.
    fn spawn(&mut self, stored: Option<&str>) -> Result<usize, chat_engine::StorageError> {
        self.life += 1;
        let token = self.token.clone();
        let mut options = ClientOptions::new(self.proxy.url(), move || Some(token.clone()));
        options.seed = self.seed.wrapping_add(self.life);
        options.config.timeline_capacity = usize::MAX;
        let (client, mut events) = NativeClient::spawn(options);
        let restored = stored.map_or(Ok(0), |stored| client.restore_outbox(stored));
        let client = Arc::new(client);
        let (me, storage, acked, live, failed, recorder) = (
            Arc::downgrade(&client),
            self.storage.clone(),
            self.acked.clone(),
            self.live.clone(),
            self.failed.clone(),
            self.recorder.clone(),
        );
        // The app's event loop: persist the outbox whenever it changes, count acks.
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Some(client) = me.upgrade() else { return };
                match event {
                    Event::OutboxChanged => {
                        *lock(&storage) = client.inspect(chat_engine::Engine::save_outbox);
                    }
                    Event::Sent {
                        client_message_id,
                        conversation,
                        seq,
                        ..
                    } => lock(&acked).push((conversation, seq, client_message_id.to_string())),
                    Event::SendFailed { .. } => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Event::MessageReceived(view) => {
                        lock(&live).extend(view.client_message_id.clone());
                    }
                    _ => {}
                }
                recorder.changed.notify_waiters();
            }
        });
        client.connect();
        for &conversation in &self.conversations {
            client.join(conversation);
        }
        self.client = Some(client);
        restored
    }

    pub(super) fn client(&self) -> Option<&NativeClient> {
        self.client.as_deref()
    }

    /// Running, connected, and every conversation joined and synced.
    pub(super) fn caught_up(&self) -> bool {
        self.client()
            .is_some_and(|client| crate::fleet::caught_up(client, &self.conversations))
    }

    pub(super) fn connected(&self) -> bool {
        self.client()
            .is_some_and(|c| c.snapshot().connection.state == ConnectionState::Connected)
    }

    /// Sends `text` to `conversation` (queued if offline); `None` if it is not running or
    /// the engine refused the text.
    pub(super) fn send(&mut self, conversation: ConversationId, text: String) -> Option<Sent> {
        let id = self.client()?.send(conversation, &text).ok()?;
        let sent = Sent {
            client: self.fleet_index,
            conversation,
            id,
            text,
        };
        self.sent.push(sent.clone());
        Some(sent)
    }

    /// `id` reached it live (`message:new`), not through a catch-up.
    pub(super) fn got_live(&self, id: &str) -> bool {
        lock(&self.live).contains(id)
    }

    /// Its timeline of `conversation` holds `id`, however it came.
    pub(super) fn holds(&self, conversation: ConversationId, id: &str) -> bool {
        self.client()
            .and_then(|c| c.conversation(conversation))
            .is_some_and(|view| {
                view.messages
                    .iter()
                    .any(|m| m.client_message_id.as_deref() == Some(id))
            })
    }

    /// Messages in its outbox now (0 when it is not running).
    pub(super) fn outbox_len(&self) -> usize {
        self.client().map_or(0, |c| c.snapshot().outbox_len)
    }

    /// What it stored equals its outbox now (every change persisted).
    pub(super) fn storage_is_current(&self) -> bool {
        self.client()
            .is_some_and(|c| c.inspect(chat_engine::Engine::save_outbox) == *lock(&self.storage))
    }

    /// Drops the engine without a clean shutdown (its run loop is aborted, its socket
    /// closed as a killed process's would be); what it stored stays.
    pub(super) fn crash(&mut self) {
        self.client = None;
    }

    /// Starts it again from what it stored: how many messages the outbox held.
    pub(super) fn restart(&mut self) -> Result<usize, chat_engine::StorageError> {
        let stored = lock(&self.storage).clone();
        self.spawn(Some(&stored))
    }

    /// Every ack it got, over all its lives, each (conversation, seq, id) once: a restored
    /// message the server had already stored is acked again at the same seq, which is
    /// right (the acks check still names one acked at two seqs).
    pub(super) fn acked(&self) -> Acks {
        let mut acked = lock(&self.acked).clone();
        acked.sort();
        acked.dedup();
        acked
    }

    /// Sends that ended `failed`, over all its lives.
    pub(super) fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Every send it holds ended acked or failed: its outbox has only failed ones left.
    pub(super) fn settled(&self) -> bool {
        self.client()
            .is_none_or(|client| client.inspect(|engine| engine.sending_ids().is_empty()))
    }

    /// Retries every send that ended `failed`; how many.
    pub(super) fn retry_failed(&self) -> usize {
        let Some(client) = self.client() else {
            return 0;
        };
        let failed = client.inspect(|engine| engine.failed_ids());
        for id in &failed {
            client.retry(id);
        }
        failed.len()
    }

    pub(super) fn viewer(&self) -> Option<Viewer<'_>> {
        Some(Viewer {
            name: format!("user {} (crash client, life {})", self.user.0, self.life),
            client: self.client()?,
            conversations: &self.conversations,
            since_start: true,
        })
    }
}
