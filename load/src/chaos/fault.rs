//! The faults: what each breaks, which node or proxy a round strikes, and how the harness
//! injects and heals it.

use super::check::Sent;
use super::harness::Database;
use super::soak::Soak;
use crate::fleet::Fleet;
use anyhow::{Context, bail};
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// How long a node may take to exit after SIGTERM: the server's drain bound (10 s,
/// `SHUTDOWN_DRAIN_TIMEOUT`) and its socket close, with room for a loaded machine.
const TERM_WITHIN: Duration = Duration::from_secs(20);

/// What a node logs once graceful shutdown has disconnected every socket.
const SHUTDOWN_DONE: &str = "shutdown: every socket disconnected";

/// One thing the harness breaks in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every client connection is cut, and bytes are delayed while the fault lasts.
    CutAndDelay,
    /// Every client connection is cut and new ones are refused while the fault lasts.
    RefuseConnections,
    /// Connections stay open but every byte is held for [`Options::freeze`] (a round trip
    /// takes longer than the engine's ack timeout, so sends are tried again while earlier
    /// tries are in flight).
    Freeze,
    /// A server node is killed with SIGKILL and started again when the fault ends.
    KillServer,
    /// PostgreSQL stops (`-m fast`) and starts again when the fault ends.
    RestartPostgres,
    /// PostgreSQL quits at once (`-m immediate`, crash recovery on start).
    CrashPostgres,
    /// A server node gets SIGTERM right after a burst of sends from its clients: it must
    /// drain and exit 0 (every send it acked is stored), and starts again when the fault
    /// ends.
    TermServer,
    /// The crash client (a second device of one user, through its own proxy) has sends
    /// stored on the server whose acks are held back, its connection is cut, more sends
    /// queue in its outbox, and it is dropped without a clean shutdown. When the fault ends
    /// it starts again from the outbox it had stored.
    CrashClient,
    /// Redis (a private `redis-server`, on Redis soaks only) is killed with SIGKILL and
    /// started again when the fault ends; cross-node delivery must come back.
    RestartRedis,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::CutAndDelay => "cut every connection and add latency",
            Fault::RefuseConnections => "cut every connection and refuse new ones",
            Fault::Freeze => "freeze every connection (bytes held, nothing closed)",
            Fault::KillServer => "kill -9 a server node and restart it",
            Fault::RestartPostgres => "restart PostgreSQL (fast shutdown)",
            Fault::CrashPostgres => "crash PostgreSQL (immediate shutdown) and restart it",
            Fault::TermServer => "SIGTERM a server node under load and restart it",
            Fault::CrashClient => {
                "crash a client with a non-empty outbox and start it again from its storage"
            }
            Fault::RestartRedis => "kill -9 Redis and restart it",
        })
    }
}

impl Fault {
    pub fn needs_postgres(self) -> bool {
        matches!(self, Fault::RestartPostgres | Fault::CrashPostgres)
    }

    pub fn needs_redis(self) -> bool {
        self == Fault::RestartRedis
    }

    /// Strikes one proxy (rather than a node or the database).
    fn at_proxy(self) -> bool {
        matches!(
            self,
            Fault::CutAndDelay | Fault::RefuseConnections | Fault::Freeze
        )
    }
}

/// The node and the proxy a round's fault strikes (it uses one of them, or neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) node: usize,
    pub(super) proxy: usize,
}

impl Target {
    /// Proxy faults strike the proxies in turn (the proxy faults before this one pick
    /// which); each node fault strikes the nodes in turn (the earlier rounds of the same
    /// fault pick which), kill -9 starting with node 1 and SIGTERM with node 2, so that on
    /// two nodes the short soak strikes both.
    pub(super) fn of(earlier: &[Fault], fault: Fault, nodes: usize, proxies: usize) -> Target {
        let proxy = earlier.iter().filter(|f| f.at_proxy()).count();
        let node = earlier.iter().filter(|f| **f == fault).count()
            + usize::from(fault == Fault::TermServer);
        Target {
            node: node % nodes.max(1),
            proxy: proxy % proxies.max(1),
        }
    }
}

impl Soak<'_> {
    /// Breaks what `fault` breaks, at `target`, in round `round` (from 1).
    pub(super) async fn inject(
        &mut self,
        fleet: &Fleet,
        fault: Fault,
        target: Target,
        round: usize,
    ) -> anyhow::Result<()> {
        let options = self.options;
        let Target { node, proxy } = target;
        match fault {
            Fault::CutAndDelay => {
                let proxy = &self.proxies[proxy];
                proxy.set_latency(options.latency);
                let cut = proxy.cut_all();
                self.log.line(format!(
                    "  cut {cut} connections at {}; every byte now waits {} ms each way",
                    proxy.url(),
                    options.latency.as_millis()
                ));
            }
            Fault::RefuseConnections => {
                let proxy = &self.proxies[proxy];
                proxy.refuse_new(true);
                let cut = proxy.cut_all();
                self.log.line(format!(
                    "  cut {cut} connections at {} and refusing new ones",
                    proxy.url()
                ));
            }
            Fault::Freeze => {
                let proxy = &self.proxies[proxy];
                proxy.set_latency(options.freeze);
                self.log.line(format!(
                    "  froze {} connections at {}: every byte held for {:.1} s each way",
                    proxy.open_connections(),
                    proxy.url(),
                    options.freeze.as_secs_f64()
                ));
            }
            Fault::KillServer => {
                let node = &mut self.nodes[node];
                let pid = node.pid().unwrap_or(0);
                node.kill9().await?;
                self.log
                    .line(format!("  killed -9 {} (pid {pid})", node.name));
            }
            Fault::TermServer => self.terminate(fleet, node, round).await?,
            Fault::CrashClient => self.crash_client(fleet, round).await?,
            Fault::RestartRedis => {
                let redis = self.redis.as_mut().context("no Redis to restart")?;
                let pid = redis.pid().unwrap_or(0);
                redis.kill9().await?;
                self.log.line(format!(
                    "  killed -9 Redis (pid {pid}, port {}): both nodes lose their adapter connection",
                    redis.port()
                ));
            }
            Fault::RestartPostgres | Fault::CrashPostgres => {
                let Database::Postgres(postgres) = &self.database else {
                    bail!("{fault} needs PostgreSQL");
                };
                if fault == Fault::RestartPostgres {
                    postgres.stop_fast().await?;
                    self.log.line("  stopped PostgreSQL (pg_ctl stop -m fast)");
                } else {
                    postgres.crash().await?;
                    self.log
                        .line("  crashed PostgreSQL (pg_ctl stop -m immediate)");
                }
            }
        }
        Ok(())
    }

    /// Undoes `fault` at `target`, which struck at `fault_started`.
    pub(super) async fn heal(
        &mut self,
        fault: Fault,
        target: Target,
        fault_started: Instant,
    ) -> anyhow::Result<()> {
        let Target { node, proxy } = target;
        match fault {
            Fault::CutAndDelay | Fault::Freeze => {
                let proxy = &self.proxies[proxy];
                proxy.set_latency(Duration::ZERO);
                self.log.line(format!(
                    "  healed after {:.1} s: latency back to 0 ({} connections open)",
                    fault_started.elapsed().as_secs_f64(),
                    proxy.open_connections()
                ));
            }
            Fault::RefuseConnections => {
                let proxy = &self.proxies[proxy];
                proxy.refuse_new(false);
                let (_, refused) = proxy.counts();
                self.log.line(format!(
                "  healed after {:.1} s: accepting again ({refused} connections refused so far)",
                fault_started.elapsed().as_secs_f64()
            ));
            }
            Fault::KillServer | Fault::TermServer => {
                let node = &mut self.nodes[node];
                node.restart().await?;
                self.log.line(format!(
                    "  restarted {} (pid {}) on {} after {:.1} s down",
                    node.name,
                    node.pid().unwrap_or(0),
                    node.url(),
                    fault_started.elapsed().as_secs_f64()
                ));
            }
            Fault::CrashClient => {
                let device = self.device.as_mut().context("no crash client")?;
                device.proxy.set_latency(Duration::ZERO);
                device.proxy.refuse_new(false);
                match device.restart() {
                    Ok(restored) => self.log.line(format!(
                        "  started the crash client of user {} again (life {}) after {:.1} s: {restored} messages restored from its stored outbox",
                        device.user.0,
                        device.life,
                        fault_started.elapsed().as_secs_f64()
                    )),
                    Err(e) => {
                        let user = device.user.0;
                        self.problem(format!(
                            "the crash client of user {user} could not restore its stored outbox: {e:?}"
                        ));
                    }
                }
            }
            Fault::RestartRedis => {
                let redis = self.redis.as_mut().context("no Redis to restart")?;
                let down = fault_started.elapsed();
                redis.start_server().await?;
                self.log.line(format!(
                    "  started Redis again (pid {}) after {:.1} s down",
                    redis.pid().unwrap_or(0),
                    down.as_secs_f64()
                ));
            }
            Fault::RestartPostgres | Fault::CrashPostgres => {
                if let Database::Postgres(postgres) = &self.database {
                    postgres.start_server().await?;
                    self.log.line(format!(
                        "  started PostgreSQL again after {:.1} s down",
                        fault_started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Soak<'_> {
    /// [`Fault::TermServer`]: a burst of sends from every connected client of `node`, then
    /// SIGTERM at once, so sends are in flight while it drains. It must exit 0 within
    /// [`TERM_WITHIN`] having logged [`SHUTDOWN_DONE`]; what it acked is checked against
    /// the database at the end, with everything else.
    async fn terminate(&mut self, fleet: &Fleet, node: usize, round: usize) -> anyhow::Result<()> {
        let nodes = self.nodes.len();
        let mut burst = Vec::new();
        for (index, member) in fleet.clients.iter().enumerate() {
            let Some(&conversation) = member.conversations.first() else {
                continue;
            };
            if index % nodes != node || !member.caught_up() {
                continue;
            }
            let text = format!("round {round}: sent as node-{} gets SIGTERM", node + 1);
            if let Ok(id) = member.client.send(conversation, &text) {
                burst.push(Sent {
                    client: index,
                    conversation,
                    id,
                    text,
                });
            }
        }
        // SIGTERM once the node has answered the first of them: the rest are on the wire
        // or being stored while it drains.
        let acked = |sent: &Sent| {
            let id = sent.id.to_string();
            fleet
                .recorder
                .lock()
                .acked
                .iter()
                .any(|(_, _, acked)| *acked == id)
        };
        fleet
            .recorder
            .wait_until(self.options.patience, || burst.iter().any(acked))
            .await;
        let acked_before = burst.iter().filter(|sent| acked(sent)).count();
        let server = &mut self.nodes[node];
        let name = server.name.clone();
        let pid = server.pid().unwrap_or(0);
        let log_from = server.log_len();
        let signalled = Instant::now();
        let status = server.terminate(TERM_WITHIN).await?;
        let took = signalled.elapsed();
        let logged = server.log_since(log_from);
        let acked_by_then = burst.iter().filter(|sent| acked(sent)).count();
        self.log.line(format!(
            "  sent {} messages through {name}'s clients and SIGTERM (pid {pid}) once it had acked {acked_before}: it exited ({}) after {:.1} s, having acked {acked_by_then} of them",
            burst.len(),
            status.map_or("not at all: killed".to_owned(), |s| s.to_string()),
            took.as_secs_f64()
        ));
        self.burst.extend(burst);
        match status {
            Some(status) if status.success() => {}
            Some(status) => self.problem(format!(
                "round {round}: {name} exited with {status} after SIGTERM, not 0 (no graceful shutdown)"
            )),
            None => self.problem(format!(
                "round {round}: {name} was still running {} s after SIGTERM (killed)",
                TERM_WITHIN.as_secs()
            )),
        }
        if !logged.contains(SHUTDOWN_DONE) {
            self.problem(format!(
                "round {round}: {name} did not log {SHUTDOWN_DONE:?} after SIGTERM (it did not shut down gracefully)"
            ));
        }
        Ok(())
    }

    /// [`Fault::CrashClient`]: the crash client's sends reach the server but their acks are
    /// held back in its proxy, its connection is cut (and refused), more sends queue in its
    /// outbox, and once the outbox is stored the client is dropped without a clean
    /// shutdown. [`Soak::heal`] starts it again from what it stored.
    async fn crash_client(&mut self, fleet: &Fleet, round: usize) -> anyhow::Result<()> {
        let options = self.options;
        let patience = options.patience;
        let recorder = fleet.recorder.clone();
        let device = self.device.as_mut().context("no crash client")?;
        let (user, fleet_index) = (device.user.0, device.fleet_index);
        let mut notes = Vec::new();
        if !recorder.wait_until(patience, || device.caught_up()).await {
            notes.push(format!(
                "round {round}: the crash client of user {user} was not caught up before the crash"
            ));
        }
        let started = Instant::now();
        // 1. Sends the server stores while their acks wait in the proxy: one per
        // conversation, as the engine has one send per conversation on the wire at a time.
        device.proxy.set_latency(options.fault_time);
        let conversations = device.conversations.clone();
        let mut in_flight = Vec::new();
        for (k, &conversation) in conversations.iter().enumerate() {
            let text = format!(
                "round {round}: crash client, life {}, on the wire {k}",
                device.life
            );
            in_flight.extend(device.send(conversation, text));
        }
        let others = |conversation| {
            fleet
                .conversations
                .iter()
                .find(|(id, _)| *id == conversation)
                .map(|(_, members)| {
                    members
                        .iter()
                        .copied()
                        .filter(|&m| m != fleet_index)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        let on_server = |sent: &Sent| {
            let id = sent.id.to_string();
            others(sent.conversation).iter().any(|&m| {
                fleet.clients[m]
                    .client
                    .conversation(sent.conversation)
                    .is_some_and(|view| {
                        view.messages.iter().any(|message| {
                            message.seq.is_some()
                                && message.client_message_id.as_deref() == Some(id.as_str())
                        })
                    })
            })
        };
        recorder
            .wait_until(patience, || in_flight.iter().all(on_server))
            .await;
        let reached_server = in_flight.iter().filter(|m| on_server(m)).count();
        let reached = started.elapsed();
        // 2. The connection cut and refused: the acks are lost, new sends queue.
        device.proxy.refuse_new(true);
        device.proxy.cut_all();
        recorder.wait_until(patience, || !device.connected()).await;
        let cut = started.elapsed();
        let acked = device.acked();
        let stored_unacked = in_flight
            .iter()
            .filter(|m| on_server(m))
            .filter(|m| {
                let id = m.id.to_string();
                !acked.iter().any(|(_, _, acked)| *acked == id)
            })
            .count();
        for k in 0..options.crash_outbox {
            let conversation = conversations[k % conversations.len()];
            let text = format!(
                "round {round}: crash client, life {}, queued {k}",
                device.life
            );
            device.send(conversation, text);
        }
        // 3. Dropped once its outbox is stored, as a killed app would be.
        let stored = recorder
            .wait_until(patience, || device.storage_is_current())
            .await;
        let outbox = device.outbox_len();
        let life = device.life;
        device.crash();
        if !stored {
            notes.push(format!(
                "round {round}: the crash client had not stored its outbox {} s after its last send",
                patience.as_secs()
            ));
        }
        if outbox == 0 {
            notes.push(format!(
                "round {round}: the crash client's outbox was empty when it crashed (nothing to restore)"
            ));
        }
        self.log.line(format!(
            "  crash client of user {user} (life {life}): {reached_server} of {} sends stored on the server after {:.1} s, {stored_unacked} of them with their acks held in its proxy when its connection was cut (noticed after {:.1} s), {} more queued; dropped after {:.1} s with {outbox} messages in its stored outbox",
            in_flight.len(),
            reached.as_secs_f64(),
            cut.as_secs_f64(),
            options.crash_outbox,
            started.elapsed().as_secs_f64()
        ));
        for note in notes {
            self.problem(note);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strikes(rounds: &[Fault], fault: Fault, of: fn(Target) -> usize) -> Vec<usize> {
        (0..rounds.len())
            .filter(|&index| rounds[index] == fault)
            .map(|index| of(Target::of(&rounds[..index], rounds[index], 2, 2)))
            .collect()
    }

    #[test]
    fn the_short_two_node_soak_kills_both_nodes_and_takes_the_proxies_in_turn() {
        let rounds = crate::chaos::Options::short().on_two_nodes().rounds;
        assert_eq!(strikes(&rounds, Fault::KillServer, |t| t.node), [0, 1]);
        assert_eq!(strikes(&rounds, Fault::TermServer, |t| t.node), [1]);
        let proxies: Vec<usize> = (0..rounds.len())
            .filter(|&index| rounds[index].at_proxy())
            .map(|index| Target::of(&rounds[..index], rounds[index], 2, 2).proxy)
            .collect();
        assert_eq!(proxies, [0, 1, 0]);
    }

    #[test]
    fn the_redis_soaks_restart_redis_once_per_round_of_faults() {
        let short = crate::chaos::Options::short().on_two_nodes_over_redis();
        let long = crate::chaos::Options::long().on_two_nodes_over_redis();
        for (options, restarts) in [(short, 1), (long, 3)] {
            let count = |fault| options.rounds.iter().filter(|f| **f == fault).count();
            assert_eq!(count(Fault::RestartRedis), restarts, "{}", options.name);
            assert_eq!(count(Fault::TermServer), restarts, "{}", options.name);
            assert_eq!(count(Fault::CrashClient), restarts, "{}", options.name);
            assert_eq!(options.adapter, crate::chaos::Adapter::Redis);
        }
        let plain = crate::chaos::Options::short().on_two_nodes().rounds;
        assert!(!plain.iter().any(|f| f.needs_redis()));
    }
}
