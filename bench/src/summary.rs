//! The Markdown summary (figures per run, ratios within each round) and the SVG charts.

use crate::provenance::{self, COMMIT_NOT_RECORDED};
use crate::scenarios::NAMES;
use crate::servers::Target;
use plotters::prelude::*;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// One server's run of one scenario in one round.
#[derive(Debug)]
pub struct Run {
    pub scenario: &'static str,
    pub target: Target,
    pub round: usize,
    pub report: Value,
}

fn number(value: &Value, path: &[&str]) -> Option<f64> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_f64)
}

fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

/// Each scenario's headline figure, and whether lower is better.
fn headline(scenario: &str) -> (&'static str, &'static [&'static str], bool) {
    match scenario {
        "steady" | "big-group" => ("delivery p99 (ms)", &["delivery", "p99_ms"], true),
        name if is_ramp(name) => (
            "sustained msgs/s (p99 < 100 ms)",
            &["sustained_rate"],
            false,
        ),
        "idle" => (
            "server KiB per connection",
            &["server_memory", "per_connection_bytes"],
            true,
        ),
        _ => ("reconnect p95 (ms)", &["reconnect", "p95_ms"], true),
    }
}

/// How the summary's first line names the machine: `Machine: {machine}{MACHINE_LINE_END}`.
const MACHINE_LINE_START: &str = "Machine: ";
const MACHINE_LINE_END: &str = ". Server, PostgreSQL and load tool share it.";

/// The summary: the machine the runs recorded (`machine` for reports that recorded none),
/// then per scenario the commit measured, a row per run, and the ratios within each round.
pub fn markdown(runs: &[Run], machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{MACHINE_LINE_START}{}{MACHINE_LINE_END}\n",
        recorded_machines(runs).unwrap_or_else(|| machine.to_owned())
    );
    let mut scenarios: Vec<&str> = runs.iter().map(|r| r.scenario).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let _ = writeln!(out, "### {scenario}\n");
        let scenario_runs: Vec<&Run> = runs.iter().filter(|r| r.scenario == scenario).collect();
        let _ = writeln!(out, "{}\n", measured(&scenario_runs));
        let _ = writeln!(
            out,
            "| round | server | connected | acked msgs/s | delivery p50 / p95 / p99 / max (ms) | ack p99 (ms) | sustained msgs/s | KiB per connection | reconnect p50 / p95 (ms) | recovered | losses | duplicates |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
        for run in &scenario_runs {
            let r = &run.report;
            // Only the idle scenario measures memory per connection as a slope; elsewhere
            // the growth since sign-ups is allocator noise.
            let per_connection = number(r, &["server_memory", "per_connection_bytes"])
                .filter(|_| scenario == "idle")
                .map(|b| b / 1024.0);
            let _ = writeln!(
                out,
                "| {} | {} | {}/{} | {} | {} / {} / {} / {} | {} | {} | {} | {} / {} | {} | {} | {} |",
                run.round,
                run.target.label(),
                cell(number(r, &["connected"]), 0),
                cell(number(r, &["connections"]), 0),
                cell(number(r, &["acked_rate"]), 0),
                cell(number(r, &["delivery", "p50_ms"]), 2),
                cell(number(r, &["delivery", "p95_ms"]), 2),
                cell(number(r, &["delivery", "p99_ms"]), 2),
                cell(number(r, &["delivery", "max_ms"]), 1),
                cell(number(r, &["ack", "p99_ms"]), 2),
                cell(number(r, &["sustained_rate"]), 0),
                cell(per_connection, 1),
                cell(number(r, &["reconnect", "p50_ms"]), 0),
                cell(number(r, &["reconnect", "p95_ms"]), 0),
                cell(number(r, &["recovered"]), 0),
                cell(number(r, &["integrity", "losses"]), 0),
                cell(number(r, &["integrity", "duplicates"]), 0),
            );
        }
        if is_ramp(scenario) {
            ramp_steps(&mut out, &scenario_runs);
        }
        server_cpu(&mut out, &scenario_runs);
        let (what, path, lower_is_better) = headline(scenario);
        let rounds: Vec<usize> = {
            let mut rounds: Vec<usize> = runs
                .iter()
                .filter(|r| r.scenario == scenario)
                .map(|r| r.round)
                .collect();
            rounds.dedup();
            rounds
        };
        let mut ratios = Vec::new();
        for round in rounds {
            let figure = |target| {
                runs.iter()
                    .find(|r| r.scenario == scenario && r.round == round && r.target == target)
                    .and_then(|r| number(&r.report, path))
            };
            if let (Some(rust), Some(peer)) = (figure(Target::Rust), figure(Target::Peer))
                && rust > 0.0
                && peer > 0.0
            {
                ratios.push(if lower_is_better {
                    peer / rust
                } else {
                    rust / peer
                });
            }
        }
        if !ratios.is_empty() {
            let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}×")).collect();
            let _ = writeln!(
                out,
                "\n{what}, {} per round (above 1: chat-server did better): {}\n",
                if lower_is_better {
                    "the peer's ÷ chat-server's"
                } else {
                    "chat-server's ÷ the peer's"
                },
                shown.join(", ")
            );
        } else {
            out.push('\n');
        }
    }
    out
}

/// The machine a summary's first line names, so that rebuilding the summary from reports
/// that did not record theirs keeps it rather than naming the machine that rebuilds it.
pub fn machine_of_summary(summary: &str) -> Option<&str> {
    summary
        .lines()
        .next()?
        .strip_prefix(MACHINE_LINE_START)?
        .strip_suffix(MACHINE_LINE_END)
}

/// The machines the runs recorded, in run order, each once; `None` if none did.
fn recorded_machines(runs: &[Run]) -> Option<String> {
    let mut machines: Vec<&str> = Vec::new();
    for machine in runs
        .iter()
        .filter_map(|r| provenance::machine_of(&r.report))
    {
        if !machines.contains(&machine) {
            machines.push(machine);
        }
    }
    (!machines.is_empty()).then(|| machines.join("; "))
}

/// The commit a scenario's runs measured: one, or each with its runs when they differ
/// (runs merged from several sessions).
fn measured(runs: &[&Run]) -> String {
    let mut commits: Vec<(Option<&str>, Vec<String>)> = Vec::new();
    for run in runs {
        let commit = provenance::commit_of(&run.report);
        let name = format!("{} round {}", run.target.label(), run.round);
        match commits.iter_mut().find(|(seen, _)| *seen == commit) {
            Some((_, names)) => names.push(name),
            None => commits.push((commit, vec![name])),
        }
    }
    let says = |commit: Option<&str>| {
        commit.map_or_else(
            || COMMIT_NOT_RECORDED.to_owned(),
            |c| format!("commit `{c}`"),
        )
    };
    let parts: Vec<String> = match commits.as_slice() {
        [(commit, _)] => vec![says(*commit)],
        _ => commits
            .iter()
            .map(|(commit, names)| format!("{} ({})", says(*commit), names.join(", ")))
            .collect(),
    };
    format!("Measured: {}.", parts.join("; "))
}

/// The server's CPU while sending, for the runs that measured it (big-group).
fn server_cpu(out: &mut String, runs: &[&Run]) {
    let measured: Vec<&&Run> = runs
        .iter()
        .filter(|run| run.report.get("server_cpu").is_some_and(|c| !c.is_null()))
        .collect();
    if measured.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "\nServer CPU from the first send until every message was acked and delivered.\n\n\
         | round | server | CPU s | window s | % of a core | CPU µs per message |\n\
         |---|---|---|---|---|---|\n"
    );
    for run in measured {
        let cpu = &run.report["server_cpu"];
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            run.round,
            run.target.label(),
            cell(number(cpu, &["cpu_seconds"]), 2),
            cell(number(cpu, &["window_seconds"]), 1),
            cell(number(cpu, &["cores"]).map(|c| c * 100.0), 0),
            cell(number(cpu, &["per_message_us"]), 0),
        );
    }
}

/// The scenarios that step the offered rate up until the server falls behind.
fn is_ramp(scenario: &str) -> bool {
    matches!(scenario, "ramp" | "ramp-fine")
}

/// Each ramp step of each run: acked rate and delivery p50 / p99 at every offered rate.
fn ramp_steps(out: &mut String, ramps: &[&Run]) {
    let steps =
        |run: &Run| -> Vec<Value> { run.report["ramp"].as_array().cloned().unwrap_or_default() };
    let mut rates: Vec<f64> = ramps
        .iter()
        .flat_map(|run| steps(run))
        .filter_map(|step| step["offered_rate"].as_f64())
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let _ = write!(
        out,
        "\nEach step: acked msgs/s, delivery p50 / p99 (ms).\n\n| offered msgs/s |"
    );
    for run in ramps {
        let _ = write!(out, " {} (round {}) |", run.target.label(), run.round);
    }
    let _ = write!(out, "\n|---|");
    for _ in ramps {
        out.push_str("---|");
    }
    out.push('\n');
    for rate in rates {
        let _ = write!(out, "| {rate:.0} |");
        for run in ramps {
            let step = steps(run)
                .into_iter()
                .find(|step| step["offered_rate"].as_f64() == Some(rate));
            match step {
                Some(step) => {
                    let _ = write!(
                        out,
                        " {} · {} / {} |",
                        cell(number(&step, &["acked_rate"]), 0),
                        cell(number(&step, &["delivery", "p50_ms"]), 1),
                        cell(number(&step, &["delivery", "p99_ms"]), 1),
                    );
                }
                // The run stopped below this rate (its previous step passed the limit).
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
}

/// `ramp.svg` (and `ramp-fine.svg`): delivery p50 and p99 against offered rate, both
/// servers, every round.
pub fn charts(runs: &[Run], out: &Path) -> anyhow::Result<()> {
    for scenario in NAMES.into_iter().filter(|name| is_ramp(name)) {
        let ramps: Vec<&Run> = runs.iter().filter(|r| r.scenario == scenario).collect();
        if !ramps.is_empty() {
            ramp_chart(&ramps, &out.join(format!("{scenario}.svg")))?;
        }
    }
    Ok(())
}

fn ramp_chart(ramps: &[&Run], path: &Path) -> anyhow::Result<()> {
    let points = |run: &Run, key: &str| -> Vec<(f64, f64)> {
        run.report["ramp"]
            .as_array()
            .map(|steps| {
                steps
                    .iter()
                    .filter_map(|s| {
                        Some((
                            s["offered_rate"].as_f64()?,
                            s["delivery"][key].as_f64()?.max(0.01),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let max_rate = ramps
        .iter()
        .flat_map(|r| points(r, "p99_ms"))
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let max_ms = ramps
        .iter()
        .flat_map(|r| points(r, "p99_ms"))
        .map(|p| p.1)
        .fold(1.0, f64::max);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Delivery latency against offered rate (p50 dashed, p99 solid)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..max_rate * 1.05, (0.01..max_ms * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("offered msgs/s")
        .y_desc("delivery latency (ms, log)")
        .draw()?;
    for run in ramps {
        let color = match run.target {
            Target::Rust => RED,
            Target::Peer => BLUE,
        };
        let label = format!("{} (round {})", run.target.label(), run.round);
        chart
            .draw_series(LineSeries::new(
                points(run, "p99_ms"),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(DashedLineSeries::new(
            points(run, "p50_ms"),
            6,
            4,
            color.stroke_width(1),
        ))?;
        chart.draw_series(
            points(run, "p99_ms")
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    // The p99 limit the ramp's sustained rate is judged against.
    chart
        .draw_series(LineSeries::new(
            [(0.0, 100.0), (max_rate * 1.05, 100.0)],
            BLACK.mix(0.7).stroke_width(3),
        ))?
        .label("p99 limit (100 ms)")
        .legend(|(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.7).stroke_width(3))
        });
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(target: Target, round: usize, report: Value) -> Run {
        Run {
            scenario: "idle",
            target,
            round,
            report,
        }
    }

    #[test]
    fn the_summary_names_the_commit_and_machine_the_runs_recorded() {
        let mut rust = json!({ "connected": 4, "connections": 4 });
        let mut peer = rust.clone();
        provenance::record(&mut rust, "abc123", "AMD EPYC, 2 cores, 24 GiB");
        provenance::record(&mut peer, "abc123", "AMD EPYC, 2 cores, 24 GiB");
        let summary = markdown(
            &[run(Target::Rust, 1, rust), run(Target::Peer, 1, peer)],
            "the machine rebuilding it",
        );
        assert_eq!(
            machine_of_summary(&summary),
            Some("AMD EPYC, 2 cores, 24 GiB")
        );
        assert!(summary.contains("### idle\n\nMeasured: commit `abc123`.\n"));
    }

    #[test]
    fn reports_without_a_commit_say_so_and_keep_the_given_machine() {
        let old = json!({ "connected": 4, "connections": 4 });
        let summary = markdown(
            &[run(Target::Rust, 1, old.clone()), run(Target::Peer, 1, old)],
            "AMD EPYC, 2 cores, 24 GiB",
        );
        assert_eq!(
            machine_of_summary(&summary),
            Some("AMD EPYC, 2 cores, 24 GiB")
        );
        assert!(summary.contains("Measured: commit not recorded.\n"));
    }

    #[test]
    fn a_big_group_run_shows_the_servers_cpu_under_its_table() {
        let cpu = |cpu_seconds: f64| {
            json!({ "connected": 10, "connections": 10, "delivery": { "p99_ms": 4.0 },
                    "server_cpu": { "cpu_seconds": cpu_seconds, "window_seconds": 30.0,
                                    "cores": cpu_seconds / 30.0, "per_message_us": 2500.0 } })
        };
        let runs = [
            Run {
                scenario: "big-group",
                ..run(Target::Rust, 1, cpu(1.5))
            },
            Run {
                scenario: "big-group",
                ..run(Target::Peer, 1, cpu(6.0))
            },
        ];
        let summary = markdown(&runs, "m");
        assert!(
            summary.contains("| 1 | chat-server (Rust) | 1.50 | 30.0 | 5 | 2500 |"),
            "{summary}"
        );
        assert!(
            summary.contains("| 1 | Node.js peer | 6.00 | 30.0 | 20 | 2500 |"),
            "{summary}"
        );
        assert!(
            summary.contains("delivery p99 (ms), the peer's ÷ chat-server's"),
            "{summary}"
        );
        // Scenarios without the figure get no CPU table.
        let idle = markdown(&[run(Target::Rust, 1, json!({}))], "m");
        assert!(!idle.contains("CPU s"), "{idle}");
    }

    #[test]
    fn runs_of_different_commits_are_named_with_their_commit() {
        let mut new = json!({});
        provenance::record(&mut new, "def456-dirty", "m");
        let line = measured(&[
            &run(Target::Rust, 1, json!({})),
            &run(Target::Peer, 1, json!({})),
            &run(Target::Peer, 2, new),
        ]);
        assert_eq!(
            line,
            "Measured: commit not recorded (chat-server (Rust) round 1, Node.js peer round 1); \
             commit `def456-dirty` (Node.js peer round 2)."
        );
    }

    #[test]
    fn a_fine_ramp_gets_its_own_steps_and_ratio() {
        let ramp = |sustained: f64, steps: Value| json!({ "connected": 8, "connections": 8, "sustained_rate": sustained, "ramp": steps });
        let step = |offered: f64, acked: f64, p99: f64| {
            json!({ "offered_rate": offered, "acked_rate": acked,
                    "delivery": { "p50_ms": 1.0, "p99_ms": p99 } })
        };
        let runs = [
            Run {
                scenario: "ramp",
                ..run(
                    Target::Rust,
                    1,
                    ramp(1000.0, json!([step(1000.0, 1000.0, 5.0)])),
                )
            },
            Run {
                scenario: "ramp-fine",
                ..run(
                    Target::Rust,
                    1,
                    ramp(
                        500.0,
                        json!([step(250.0, 250.0, 4.0), step(500.0, 500.0, 6.0)]),
                    ),
                )
            },
            Run {
                scenario: "ramp-fine",
                ..run(
                    Target::Peer,
                    1,
                    ramp(250.0, json!([step(250.0, 250.0, 40.0)])),
                )
            },
        ];
        let summary = markdown(&runs, "m");
        let fine = &summary[summary.find("### ramp-fine").expect("a ramp-fine section")..];
        assert!(
            fine.contains("| 250 | 250 · 1.0 / 4.0 | 250 · 1.0 / 40.0 |"),
            "{fine}"
        );
        assert!(fine.contains("| 500 | 500 · 1.0 / 6.0 | – |"), "{fine}");
        // The coarse ramp's step is not in the fine ramp's table, and the ratio is 500 / 250.
        assert!(!fine.contains("| 1000 |"), "{fine}");
        assert!(fine.contains("2.00"), "{fine}");
    }
}
