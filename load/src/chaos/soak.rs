//! The soak itself: set up users and conversations, connect the fleet, keep traffic
//! flowing through the rounds, settle, and run the checks against the database.

use super::check::{self, Sent, Viewer};
use super::device::Device;
use super::fault::Target;
use super::harness::Database;
use super::node::ServerNode;
use super::proxy::Proxy;
use super::redis::PrivateRedis;
use super::report::{Log, Outcome, metric};
use super::traffic::Traffic;
use super::{Backend, Fault, Options};
use crate::fleet::Fleet;
use crate::population::populate;
use crate::{Common, scenario, verify};
use anyhow::{Context, bail};
use chat_wire::ConversationId;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How soon a message must cross from one node to the other once everyone is back after
/// Redis restarted (issue 16: cross-node delivery back within 5 s).
const CROSS_NODE_WITHIN: Duration = Duration::from_secs(5);

/// How long after everyone is back probes are sent until one crosses live: the nodes close
/// their sockets over up to 5 s after Redis is back (`RESYNC_SPREAD`), and a probe caught up
/// through that does not count.
const CROSS_NODE_PATIENCE: Duration = Duration::from_secs(20);

/// One soak's running state: the processes it breaks and what it found so far.
pub(super) struct Soak<'a> {
    pub(super) options: &'a Options,
    pub(super) log: Log,
    pub(super) database: Database,
    pub(super) nodes: Vec<ServerNode>,
    pub(super) proxies: Vec<Proxy>,
    /// The private Redis of a soak on `CLUSTER_ADAPTER=redis`.
    pub(super) redis: Option<PrivateRedis>,
    /// The crash client, when a round crashes it.
    pub(super) device: Option<Device>,
    /// On Redis soaks, a second device of a user of each node, which tells live cross-node
    /// delivery from a catch-up.
    pub(super) listeners: Vec<Device>,
    /// Sent by fleet clients of a node right before it got SIGTERM.
    pub(super) burst: Vec<Sent>,
    /// Sent across nodes after Redis came back.
    pub(super) probes: Vec<Sent>,
    /// The faults this backend runs, one per round (`options.rounds` without the
    /// PostgreSQL faults on SQLite).
    pub(super) rounds: Vec<Fault>,
    pub(super) problems: Vec<String>,
    /// Clients the app took offline in some round.
    pub(super) offline_ever: Vec<bool>,
    /// Failed sends retried so far.
    pub(super) retried: usize,
}

impl Soak<'_> {
    /// The whole soak on nodes that are already running.
    pub(super) async fn chat(&mut self) -> anyhow::Result<Outcome> {
        let options = self.options;
        let started = Instant::now();
        let common = Common {
            url: self.nodes[0].url(),
            json: false,
            server_pid: None,
            seed: options.seed,
            setup_concurrency: 8,
            patience: options.patience,
        };
        let population = populate(&common, &options.shape)
            .await
            .context("setting up users and conversations")?;
        let tokens: Vec<String> = population.members.iter().map(|m| m.token.clone()).collect();
        let urls: Vec<String> = self.proxies.iter().map(Proxy::url).collect();
        let fleet = Arc::new(Fleet::start_split(&urls, population, options.seed));
        self.offline_ever = vec![false; fleet.clients.len()];
        let connected = fleet.connect_all(options.patience).await;
        self.log.line(format!(
            "{connected}/{} clients connected and joined {} conversations of {} ({} node{})",
            fleet.clients.len(),
            fleet.conversations.len(),
            options.shape.participants,
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" }
        ));
        if connected != fleet.clients.len() {
            bail!("only {connected}/{} clients connected", fleet.clients.len());
        }
        if self.rounds.contains(&Fault::CrashClient) {
            let proxy = Proxy::start(self.nodes[0].addr()).await?;
            let device = Device::start(&fleet, 0, tokens[0].clone(), proxy, options.seed << 32);
            if !fleet
                .recorder
                .wait_until(options.patience, || device.caught_up())
                .await
            {
                bail!("the crash client did not connect");
            }
            self.log.line(format!(
                "the crash client, a second device of user {}, connected through its own proxy {}",
                device.user.0,
                device.proxy.url()
            ));
            self.device = Some(device);
        }
        if self.rounds.contains(&Fault::RestartRedis) {
            let nodes = self.nodes.len();
            for node in 0..nodes {
                // A fleet client on this node (client i talks to node i mod n) in a
                // conversation with someone on another node.
                let shares = |i: usize| {
                    fleet.conversations.iter().any(|(_, members)| {
                        members.contains(&i) && members.iter().any(|m| m % nodes != node)
                    })
                };
                let user = (0..fleet.clients.len())
                    .find(|&i| i % nodes == node && shares(i))
                    .context("no user on this node shares a conversation with another node")?;
                let proxy = Proxy::start(self.nodes[node].addr()).await?;
                let listener = Device::start(
                    &fleet,
                    user,
                    tokens[user].clone(),
                    proxy,
                    (options.seed << 32) + 1000 * (node as u64 + 1),
                );
                if !fleet
                    .recorder
                    .wait_until(options.patience, || listener.caught_up())
                    .await
                {
                    bail!("the listener on {} did not connect", self.nodes[node].name);
                }
                self.listeners.push(listener);
            }
            self.log.line(format!(
                "{} listeners (second devices of users {}) connected, one per node, to tell live cross-node delivery from a catch-up",
                self.listeners.len(),
                self.listeners
                    .iter()
                    .map(|l| l.user.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }

        let traffic = Traffic::start(fleet.clone(), options.rate);
        self.log.line(format!(
            "traffic: {} msgs/s over {} senders",
            options.rate,
            scenario::senders(&fleet).len()
        ));
        tokio::time::sleep(options.calm).await;
        let rounds = self.rounds.clone();
        for (index, fault) in rounds.iter().enumerate() {
            self.round(&fleet, index, rounds.len(), *fault).await?;
        }
        tokio::time::sleep(options.calm).await;
        let mut sent = traffic.stop().await;
        self.log.line(format!(
            "traffic stopped: {} messages sent, {} more in SIGTERM bursts, {} cross-node probes, {} by the crash client",
            sent.len(),
            self.burst.len(),
            self.probes.len(),
            self.device.as_ref().map_or(0, |d| d.sent.len())
        ));
        sent.extend(self.burst.iter().cloned());
        sent.extend(self.probes.iter().cloned());

        let retried = self.settle(&fleet).await;
        let mut acked = fleet.recorder.lock().acked.clone();
        if let Some(device) = &self.device {
            sent.extend(device.sent.iter().cloned());
            acked.extend(device.acked());
        }
        let ack_problems = check::acks(&fleet, &sent, &acked);
        self.report(
            format!(
                "every sent message acknowledged exactly once: {} sent, {} acked ({retried} had ended failed during faults and were retried)",
                sent.len(),
                acked.len()
            ),
            ack_problems,
        );
        let sending = check::sending(&fleet, &sent);

        let stored = self.read_database(&fleet, &tokens).await?;
        for node in &self.nodes {
            let duplicates = metric(&node.url(), "chat_messages_duplicate_total").await;
            self.log.line(format!(
                "{} answered {} repeated sends from its store since its last start (idempotency)",
                node.name,
                duplicates.map_or("an unknown number of".to_owned(), |n| n.to_string())
            ));
        }
        let stored_count: usize = stored.values().map(Vec::len).sum();
        self.report(
            format!(
                "the database holds every acked message once at its acked seq with the text and sender its client sent, seqs gapless: {stored_count} messages in {} conversations (REST history)",
                stored.len()
            ),
            check::database(&stored, &acked, &sending),
        );
        let timelines: usize = fleet.conversations.iter().map(|(_, m)| m.len()).sum();
        self.report(
            format!(
                "every participant's timeline equals the database (seq, id, text, sender), once each, in seq order, no gap: {timelines} timelines"
            ),
            check::timelines(&fleet, &stored),
        );
        let mut viewers: Vec<Viewer<'_>> = fleet
            .clients
            .iter()
            .map(|c| Viewer {
                name: format!("user {}", c.user.0),
                client: &c.client,
                conversations: &c.conversations,
                since_start: false,
            })
            .collect();
        if !self.burst.is_empty() {
            let problems = check::delivered_once(&self.burst, &stored, &viewers);
            self.report(
                format!(
                    "the {} messages sent into SIGTERMs are stored once and every participant holds them once",
                    self.burst.len()
                ),
                problems,
            );
        }
        if let Some(device) = &self.device {
            viewers.extend(device.viewer());
            let problems = check::delivered_once(&device.sent, &stored, &viewers);
            self.report(
                format!(
                    "the crash client's {} messages (queued or unacked when it crashed, restored from its stored outbox; {} ended failed and were retried) are stored once and every participant, the restarted client included, holds them once",
                    device.sent.len(),
                    device.failed()
                ),
                problems,
            );
        }
        let offline_clients = self.offline_ever.iter().filter(|o| **o).count();
        let behind: Vec<String> = self
            .offline_ever
            .iter()
            .enumerate()
            .filter(|(index, offline)| **offline && !fleet.clients[*index].caught_up())
            .map(|(index, _)| format!("user {} is not caught up", fleet.clients[index].user.0))
            .collect();
        self.report(
            format!("the {offline_clients} clients that were offline caught up"),
            behind,
        );
        self.slowest(&fleet, &sent);
        {
            let recorded = fleet.recorder.lock();
            self.log.line(format!(
                "delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; ack p99 {:.1} ms; {} reconnections, reconnect→caught-up p95 {:.0} ms",
                recorded.delivery.summary().p50_ms,
                recorded.delivery.summary().p99_ms,
                recorded.delivery.summary().max_ms,
                recorded.ack.summary().p99_ms,
                recorded.recoveries,
                recorded.reconnect.summary().p95_ms,
            ));
        }
        Ok(Outcome {
            backend: Backend::Sqlite,
            sent: sent.len(),
            acked: acked.len(),
            retried,
            stored: stored_count,
            timelines,
            offline_clients,
            elapsed: started.elapsed(),
        })
    }

    /// One round: some clients go offline, one fault, healing, everyone back.
    async fn round(
        &mut self,
        fleet: &Fleet,
        index: usize,
        count: usize,
        fault: Fault,
    ) -> anyhow::Result<()> {
        let options = self.options;
        let users = fleet.clients.len();
        self.log
            .line(format!("round {}/{count}: {fault}", index + 1));
        let offline: Vec<usize> = (0..options.offline_per_round.min(users))
            .map(|k| (index * options.offline_per_round + k) % users)
            .collect();
        for &client in &offline {
            fleet.clients[client].client.disconnect();
            self.offline_ever[client] = true;
        }
        if !offline.is_empty() {
            self.log.line(format!(
                "  took {} clients offline (users {}); they keep sending into their outboxes",
                offline.len(),
                offline
                    .iter()
                    .map(|&c| fleet.clients[c].user.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let target = Target::of(
            &self.rounds[..index],
            fault,
            self.nodes.len(),
            self.proxies.len(),
        );
        let fault_time = match (fault, options.postgres_outage) {
            (Fault::RestartPostgres, Some(outage)) => outage,
            _ => options.fault_time,
        };
        let fault_started = Instant::now();
        self.inject(fleet, fault, target, index + 1).await?;
        // The fault lasting is the scenario itself, not a wait for something to happen.
        // Halfway through, the offline clients come back: they reconnect, join and backfill
        // while the fault is still on.
        tokio::time::sleep(fault_time / 2).await;
        for &client in &offline {
            fleet.clients[client].client.connect();
        }
        if !offline.is_empty() {
            self.log.line(format!(
                "  brought the {} offline clients back while the fault lasts",
                offline.len()
            ));
        }
        tokio::time::sleep(fault_time - fault_time / 2).await;
        if fault == Fault::RestartRedis {
            self.log_health("while Redis is down").await;
        }
        self.heal(fault, target, fault_started).await?;
        let healing = Instant::now();
        let everyone = fleet.clients.len();
        let device = self.device.as_ref();
        let device_back = || device.is_none_or(|d| d.caught_up() && d.outbox_len() == 0);
        fleet
            .recorder
            .wait_until(options.patience, || {
                fleet.caught_up() == everyone && device_back()
            })
            .await;
        if !device_back() {
            self.problem(format!(
                "round {} ({fault}): the crash client is not caught up with an empty outbox {} s after healing",
                index + 1,
                options.patience.as_secs()
            ));
        }
        let caught_up = fleet.caught_up();
        if caught_up == everyone {
            self.log.line(format!(
                "  round {} healed: {everyone}/{everyone} clients connected and caught up {:.1} s after the fault ended; {} acked so far",
                index + 1,
                healing.elapsed().as_secs_f64(),
                fleet.recorder.lock().acked.len()
            ));
        } else {
            let behind: Vec<String> = fleet
                .clients
                .iter()
                .filter(|c| !c.caught_up())
                .map(|c| {
                    format!(
                        "user {} ({:?})",
                        c.user.0,
                        c.client.snapshot().connection.state
                    )
                })
                .collect();
            self.problem(format!(
                "round {} ({fault}): {} clients not caught up {} s after healing: {}",
                index + 1,
                behind.len(),
                options.patience.as_secs(),
                behind.join(", ")
            ));
        }
        if fault == Fault::RestartRedis {
            self.cross_node_probes(fleet, index + 1, &offline, fault_started)
                .await;
        }
        let failed = self.retry_failed(fleet);
        if failed > 0 {
            self.log.line(format!(
                "  {failed} sends had ended failed (their tries ran out during the fault): retried them, as their users would"
            ));
            if fault.needs_postgres() && options.postgres_outage.is_some() {
                self.problem(format!(
                    "round {} ({fault}): {failed} sends ended failed; a database outage must leave them sending",
                    index + 1
                ));
            }
        }
        for node in &mut self.nodes {
            if !node.running() {
                self.problems.push(format!(
                    "{} exited on its own during round {}",
                    node.name,
                    index + 1
                ));
                node.restart().await?;
            }
        }
        Ok(())
    }

    /// Waits until every sent message is acked or failed, retries the failed ones (as a
    /// user would), and waits until every timeline has every acked message. Returns how
    /// many sends were retried in the whole run.
    async fn settle(&mut self, fleet: &Fleet) -> usize {
        let patience = self.options.patience;
        let recorder = &fleet.recorder;
        // Settled when no engine holds a send that is not failed: every one is acked or
        // failed. (Counting acks and `SendFailed` events instead stopped early when a send
        // ended failed and a late ack of an earlier try then settled it anyway.)
        let settled = |device: Option<&Device>| {
            fleet
                .clients
                .iter()
                .all(|c| c.client.inspect(|engine| engine.sending_ids().is_empty()))
                && device.is_none_or(Device::settled)
        };
        for pass in 1..=3 {
            let device = self.device.as_ref();
            recorder.wait_until(patience, || settled(device)).await;
            let failed = self.retry_failed(fleet);
            if failed == 0 {
                break;
            }
            self.log.line(format!(
                "settling, pass {pass}: retried {failed} sends that had ended failed"
            ));
        }
        let device = self.device.as_ref();
        recorder.wait_until(patience, || settled(device)).await;
        let everyone = fleet.clients.len();
        let converged = recorder
            .wait_until(patience, || {
                fleet.caught_up() == everyone
                    && verify::integrity(fleet).losses == 0
                    && device.is_none_or(|d| d.caught_up() && d.outbox_len() == 0)
            })
            .await;
        let pending: usize = fleet
            .clients
            .iter()
            .map(|c| c.client.inspect(|engine| engine.sending_ids().len()))
            .sum();
        self.log.line(format!(
            "settled: {} acked, {} still sending, {}",
            recorder.lock().acked.len(),
            pending,
            if converged {
                "every timeline has every acked message".to_owned()
            } else {
                format!("timelines still incomplete after {} s", patience.as_secs())
            }
        ));
        self.retried
    }

    /// Every conversation's stored messages, read from the first node's REST API.
    async fn read_database(
        &mut self,
        fleet: &Fleet,
        tokens: &[String],
    ) -> anyhow::Result<BTreeMap<ConversationId, Vec<chat_wire::socket::Message>>> {
        let http = reqwest::Client::new();
        let base = self.nodes[0].url();
        let mut stored = BTreeMap::new();
        for (conversation, members) in &fleet.conversations {
            let token = members
                .first()
                .and_then(|&m| tokens.get(m))
                .context("every conversation has participants")?;
            let messages = check::history(&http, &base, token, *conversation).await?;
            stored.insert(*conversation, messages);
        }
        Ok(stored)
    }

    /// After a Redis restart, once everyone is back: a message from a client of one node
    /// must reach the other node's listener live (`message:new`) within
    /// [`CROSS_NODE_WITHIN`]. One that only arrives through a catch-up (the node closing
    /// its sockets after the reconnect) proves nothing, so another is sent, until
    /// [`CROSS_NODE_PATIENCE`] after the first.
    async fn cross_node_probes(
        &mut self,
        fleet: &Fleet,
        round: usize,
        offline: &[usize],
        redis_down: Instant,
    ) {
        let nodes = self.nodes.len();
        let mut lines = Vec::new();
        let mut problems = Vec::new();
        let mut probes = Vec::new();
        for listener in &self.listeners {
            let to = listener.fleet_index % nodes;
            let from = (to + 1) % nodes;
            let pair = listener.conversations.iter().find_map(|&conversation| {
                let (_, members) = fleet
                    .conversations
                    .iter()
                    .find(|(c, _)| *c == conversation)?;
                // Prefer a sender the round did not take offline (all are back by now).
                let sender = members
                    .iter()
                    .filter(|&&m| m % nodes == from)
                    .min_by_key(|&&m| offline.contains(&m))?;
                Some((conversation, *sender))
            });
            let (listener_user, name) = (listener.user.0, format!("node-{}", to + 1));
            let Some((conversation, sender)) = pair else {
                problems.push(format!(
                    "round {round}: no conversation of user {listener_user} with a sender on node-{} to probe {name}",
                    from + 1
                ));
                continue;
            };
            let sender_user = fleet.clients[sender].user.0;
            let first = Instant::now();
            let mut attempt = 0;
            loop {
                attempt += 1;
                let left = CROSS_NODE_PATIENCE.saturating_sub(first.elapsed());
                fleet
                    .recorder
                    .wait_until(left, || listener.caught_up())
                    .await;
                let text = format!(
                    "round {round}: probe {attempt} from node-{} to {name}",
                    from + 1
                );
                let Ok(id) = fleet.clients[sender].client.send(conversation, &text) else {
                    break;
                };
                let sent_at = Instant::now();
                probes.push(Sent {
                    client: sender,
                    conversation,
                    id: id.clone(),
                    text,
                });
                let id = id.to_string();
                fleet
                    .recorder
                    .wait_until(CROSS_NODE_WITHIN, || {
                        listener.got_live(&id) || listener.holds(conversation, &id)
                    })
                    .await;
                if listener.got_live(&id) {
                    lines.push(format!(
                        "  cross-node delivery is back: user {sender_user} on node-{} reached user {listener_user}'s listener on {name} live in {:.0} ms (probe {attempt}, {:.1} s after Redis went down)",
                        from + 1,
                        sent_at.elapsed().as_secs_f64() * 1000.0,
                        redis_down.elapsed().as_secs_f64()
                    ));
                    break;
                }
                if first.elapsed() >= CROSS_NODE_PATIENCE {
                    problems.push(format!(
                        "round {round}: after Redis restarted, no message of user {sender_user} on node-{} reached user {listener_user}'s listener on {name} live within {} s of being sent, in {attempt} probes over {} s (cross-node delivery is not back)",
                        from + 1,
                        CROSS_NODE_WITHIN.as_secs(),
                        CROSS_NODE_PATIENCE.as_secs()
                    ));
                    break;
                }
            }
        }
        self.probes.extend(probes);
        for line in lines {
            self.log.line(line);
        }
        for problem in problems {
            self.problem(problem);
        }
    }

    /// Logs every node's `/healthz` status.
    async fn log_health(&self, when: &str) {
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        for node in &self.nodes {
            let status = http
                .get(format!("{}/healthz", node.url()))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map_or_else(|e| e.to_string(), |r| r.status().as_u16().to_string());
            statuses.push(format!("{} {status}", node.name));
        }
        self.log
            .line(format!("  /healthz {when}: {}", statuses.join(", ")));
    }

    /// Retries every send that ended `failed` (the crash client's included); how many.
    fn retry_failed(&mut self, fleet: &Fleet) -> usize {
        let mut count = self.device.as_ref().map_or(0, Device::retry_failed);
        for fleet_client in &fleet.clients {
            for id in fleet_client.client.inspect(|engine| engine.failed_ids()) {
                fleet_client.client.retry(&id);
                count += 1;
            }
        }
        self.retried += count;
        count
    }
}
