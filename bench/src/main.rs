//! `chat-bench`: chat-server and the Node.js Socket.IO peer (`../shared/peers/node-socketio`)
//! side by side, under the same `chat-load` scenarios, on the same PostgreSQL and machine.
//!
//! Runs alternate between the two servers (rust, peer, then peer, rust, …), each on a
//! fresh database, so drift on a shared machine hits both alike; ratios are taken within a
//! round, never across runs. Everything lands in `--out`: one JSON report per run (what
//! `chat-load --json` printed, plus the commit measured and the machine), `summary.md`
//! (figures and ratios), and SVG charts.
//!
//! # Layout
//!
//! - `servers`: starting, restarting and stopping either server on a fresh database.
//! - `scenarios`: what each scenario runs, full size or `--quick`.
//! - `summary`: the Markdown tables and the charts.
//! - `provenance`: the commit and machine each report records.

// A benchmark harness talks on stdout.
#![allow(clippy::print_stdout)]

mod provenance;
mod scenarios;
mod servers;
mod summary;

use anyhow::{Context, bail};
use clap::Parser;
use scenarios::Scenario;
use servers::{Server, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Parser)]
#[command(
    name = "chat-bench",
    about = "Benchmark chat-server against the Node.js peer"
)]
struct Cli {
    /// Scenarios to run: steady, ramp, ramp-fine, idle, storm, storm-5000, big-group
    /// (default: steady, ramp, idle, storm).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Rounds per scenario (each round runs both servers, in alternating order).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Small sizes and short runs: checks the harness, measures nothing worth quoting.
    #[arg(long)]
    quick: bool,
    /// Where the reports, summary and charts go.
    #[arg(long, default_value = "docs/bench")]
    out: PathBuf,
    /// The Node.js peer's directory (its `npm ci` is run in a copy under target/).
    #[arg(long, default_value = "../shared/peers/node-socketio")]
    peer: PathBuf,
    /// PostgreSQL admin URL; each run gets a fresh database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Only this server (`rust` or `peer`), e.g. to profile one side.
    #[arg(long)]
    only: Option<Target>,
    /// Run nothing: rebuild `summary.md` and the charts from the JSON reports already in
    /// `--out` (after changing the summary, or to merge runs).
    #[arg(long)]
    summary_only: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    let chosen: Vec<Scenario> = if cli.scenarios.is_empty() {
        Scenario::all(cli.quick)
    } else {
        cli.scenarios
            .iter()
            .map(|name| Scenario::named(name, cli.quick))
            .collect::<anyhow::Result<_>>()?
    };
    let out = root.join(&cli.out);
    std::fs::create_dir_all(&out)?;
    if cli.summary_only {
        let results = read_reports(&out)?;
        if results.is_empty() {
            bail!(
                "no reports (SCENARIO-SERVER-ROUND.json) in {}",
                out.display()
            );
        }
        // This machine need not be the one that ran them: for reports that did not record
        // theirs, keep what the summary being replaced said.
        let previous = std::fs::read_to_string(out.join("summary.md")).unwrap_or_default();
        let machine = summary::machine_of_summary(&previous).unwrap_or("machine not recorded");
        return write_summary(&results, &out, machine);
    }

    // Read before building: what is measured is the tree as it is now.
    let commit = provenance::current_commit(&root);
    let machine = machine_description();
    println!("==> measuring commit {commit} on {machine}");
    println!(
        "==> open files per process: {}",
        servers::raise_open_file_limit()
    );

    println!("==> building chat-server and chat-load (release)");
    let status = Command::new("cargo")
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--package",
            "server",
            "--package",
            "chat-load",
            // `--bin NAME` would apply to both packages; each has exactly the binary we need.
            "--bins",
        ])
        .status()?;
    if !status.success() {
        bail!("the release build failed");
    }
    let targets: Vec<Target> = match cli.only {
        Some(target) => vec![target],
        None => vec![Target::Rust, Target::Peer],
    };
    if targets.contains(&Target::Peer) {
        servers::prepare_peer(&root, &root.join(&cli.peer))?;
    }

    let mut results = Vec::new();
    for scenario in &chosen {
        for round in 1..=cli.rounds {
            // Alternate who goes first, so neither always runs on a warmer machine.
            let mut order = targets.clone();
            if round % 2 == 0 {
                order.reverse();
            }
            for target in order {
                println!("==> {} round {round}: {}", scenario.name, target.label());
                let database = format!(
                    "bench_{}_{}_{round}",
                    target.key(),
                    scenario.name.replace('-', "_")
                );
                let server = Server::start(&root, target, &cli.postgres, &database)?;
                let report = scenario.run(&root, &server);
                server.stop();
                let mut report = report
                    .with_context(|| format!("{} against {}", scenario.name, target.label()))?;
                provenance::record(&mut report, &commit, &machine);
                let file = out.join(format!("{}-{}-{round}.json", scenario.name, target.key()));
                std::fs::write(&file, serde_json::to_string_pretty(&report)?)?;
                results.push(summary::Run {
                    scenario: scenario.name,
                    target,
                    round,
                    report,
                });
            }
        }
    }
    write_summary(&results, &out, &machine)
}

fn write_summary(results: &[summary::Run], out: &Path, machine: &str) -> anyhow::Result<()> {
    let markdown = summary::markdown(results, machine);
    std::fs::write(out.join("summary.md"), &markdown)?;
    summary::charts(results, out)?;
    println!("{markdown}");
    println!("wrote {}", out.display());
    Ok(())
}

/// The reports a run wrote into `out` (`steady-rust-1.json`, …), in scenario order, then
/// round, then the order they ran in (which alternates per round).
fn read_reports(out: &Path) -> anyhow::Result<Vec<summary::Run>> {
    let mut results = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        // `{scenario}-{server}-{round}`, where the scenario's name may hold `-` itself.
        let parts: Vec<&str> = stem.rsplitn(3, '-').collect();
        let [round, server, scenario] = parts[..] else {
            continue;
        };
        let (Ok(scenario), Ok(target), Ok(round)) = (
            Scenario::named(scenario, false),
            <Target as clap::ValueEnum>::from_str(server, false),
            round.parse::<usize>(),
        ) else {
            continue;
        };
        let report = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("reading {}", path.display()))?;
        results.push(summary::Run {
            scenario: scenario.name,
            target,
            round,
            report,
        });
    }
    let scenario_order = |name: &str| scenarios::NAMES.iter().position(|s| *s == name);
    results.sort_by_key(|run| {
        // Odd rounds ran chat-server first, even rounds the peer.
        let first = (run.round % 2 == 1) == (run.target == Target::Rust);
        (scenario_order(run.scenario), run.round, !first)
    });
    Ok(results)
}

/// The workspace root (bench/ lives one level below it).
fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(PathBuf::from)
        .context("bench/ has a parent directory")
}

/// CPU model, cores and memory, for the record.
fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1048576.0);
    format!("{model}, {cores} cores, {mem_gib:.0} GiB")
}
