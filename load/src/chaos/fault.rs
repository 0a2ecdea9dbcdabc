//! The faults: what each breaks, which node or proxy a round strikes, and how the harness
//! injects and heals it.

use super::harness::Database;
use super::soak::Soak;
use anyhow::bail;
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

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
        })
    }
}

impl Fault {
    pub fn needs_postgres(self) -> bool {
        matches!(self, Fault::RestartPostgres | Fault::CrashPostgres)
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
    /// Proxy faults strike the proxies in turn and node faults the nodes, so on two nodes
    /// both get killed: the rounds before this one of the same kind pick which.
    pub(super) fn of(earlier: &[Fault], fault: Fault, nodes: usize, proxies: usize) -> Target {
        let strike = earlier
            .iter()
            .filter(|f| f.at_proxy() == fault.at_proxy() && !f.needs_postgres())
            .count();
        Target {
            node: strike % nodes,
            proxy: strike % proxies,
        }
    }
}

impl Soak<'_> {
    /// Breaks what `fault` breaks, at `target`.
    pub(super) async fn inject(&mut self, fault: Fault, target: Target) -> anyhow::Result<()> {
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
            Fault::KillServer => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_two_node_soak_kills_both_nodes_and_takes_the_proxies_in_turn() {
        let rounds = crate::chaos::Options::short().on_two_nodes().rounds;
        let targets: Vec<Target> = (0..rounds.len())
            .map(|index| Target::of(&rounds[..index], rounds[index], 2, 2))
            .collect();
        let kills: Vec<usize> = rounds
            .iter()
            .zip(&targets)
            .filter(|(fault, _)| **fault == Fault::KillServer)
            .map(|(_, target)| target.node)
            .collect();
        assert_eq!(kills, [0, 1]);
        let proxies: Vec<usize> = rounds
            .iter()
            .zip(&targets)
            .filter(|(fault, _)| fault.at_proxy())
            .map(|(_, target)| target.proxy)
            .collect();
        assert_eq!(proxies, [0, 1, 0]);
    }
}
