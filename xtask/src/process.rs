//! Running commands: plain, quiet, or streamed while the runners' summary lines are read.

use crate::{Failure, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

/// Whether a program can be found on `PATH` (or is an existing path).
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Runs a command with inherited output; fails with `what` if it cannot start or exits non-zero.
pub fn run(command: &mut Command, what: &str) -> Result {
    let status = command
        .status()
        .map_err(|e| Failure(format!("{what}: cannot start: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        crate::fail!("{what} failed ({status})")
    }
}

/// Runs a command and returns its trimmed stdout, or `None` if it cannot start or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Test counts read from a runner's closing lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// What a streamed run gives back.
#[derive(Debug, Default)]
pub struct Streamed {
    pub success: bool,
    /// The runners' own summary lines, as printed.
    pub summary_lines: Vec<String>,
    pub counts: Counts,
}

/// Runs a command, echoing its output as it comes, and collects its summary lines.
pub fn stream(command: &mut Command) -> Result<Streamed> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure(format!("cannot start {:?}: {e}", command.get_program())))?;
    let (sender, receiver) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(echo_lines(stdout, sender.clone(), false));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(echo_lines(stderr, sender.clone(), true));
    }
    drop(sender);
    let mut result = Streamed::default();
    for line in receiver {
        if let Some(counts) = summary_counts(&line) {
            result.counts.add(counts);
            result.summary_lines.push(line.trim().to_owned());
        } else if line.starts_with("bench (") {
            // A suite's benchmark figures (js/client/hermes/run.mjs), kept for the summary.
            result.summary_lines.push(line.trim().to_owned());
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    result.success = child.wait()?.success();
    Ok(result)
}

fn echo_lines(
    pipe: impl Read + Send + 'static,
    sender: mpsc::Sender<String>,
    is_stderr: bool,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // Echo the raw bytes so colours and partial lines look as the runner meant.
            let _ = if is_stderr {
                std::io::stderr().write_all(&buffer)
            } else {
                std::io::stdout().write_all(&buffer)
            };
            let _ = sender.send(strip_ansi(&String::from_utf8_lossy(&buffer)));
        }
    })
}

/// Removes ANSI escape sequences (runners colour their summaries).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Reads the counts from a runner's summary line: cargo test and wasm-bindgen-test
/// (`test result: ok. 3 passed; 0 failed; 1 ignored; …`), vitest (`Tests  1 failed | 2
/// passed | 1 skipped (4)`) and node's test runner (`ℹ pass 3`, `ℹ fail 0`, `ℹ skipped 1`).
pub fn summary_counts(line: &str) -> Option<Counts> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result:") {
        return Some(Counts {
            passed: count_before(rest, "passed"),
            failed: count_before(rest, "failed"),
            skipped: count_before(rest, "ignored"),
        });
    }
    if let Some(rest) = line.strip_prefix("Tests ")
        && (rest.contains("passed") || rest.contains("failed"))
    {
        return Some(Counts {
            passed: count_before(rest, "passed"),
            failed: count_before(rest, "failed"),
            skipped: count_before(rest, "skipped") + count_before(rest, "todo"),
        });
    }
    let node = line.trim_start_matches(['ℹ', '#', ' ']);
    let mut words = node.split_whitespace();
    match (
        words.next(),
        words.next().and_then(|n| n.parse::<u64>().ok()),
        words.next(),
    ) {
        (Some("pass"), Some(n), None) => Some(Counts {
            passed: n,
            ..Counts::default()
        }),
        (Some("fail"), Some(n), None) => Some(Counts {
            failed: n,
            ..Counts::default()
        }),
        (Some("skipped"), Some(n), None) => Some(Counts {
            skipped: n,
            ..Counts::default()
        }),
        _ => None,
    }
}

/// The number just before `word` in `text` (`"3 passed"` → 3), or 0.
fn count_before(text: &str, word: &str) -> u64 {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ';' || c == '|' || c == ',')
        .collect();
    tokens
        .windows(2)
        .find(|pair| pair[1].trim_end_matches('.') == word)
        .and_then(|pair| pair[0].parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_test_summaries() {
        let line = "test result: ok. 12 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out";
        assert_eq!(
            summary_counts(line),
            Some(Counts {
                passed: 12,
                failed: 1,
                skipped: 2
            })
        );
    }

    #[test]
    fn reads_vitest_summaries_with_colours() {
        let line = strip_ansi(
            "\u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[31m1 failed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \u{1b}[22m\u{1b}[1m\u{1b}[32m4 passed\u{1b}[39m\u{1b}[22m\u{1b}[90m (5)\u{1b}[39m",
        );
        assert_eq!(
            summary_counts(&line),
            Some(Counts {
                passed: 4,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn reads_node_test_runner_summaries() {
        assert_eq!(
            summary_counts("ℹ pass 7"),
            Some(Counts {
                passed: 7,
                ..Counts::default()
            })
        );
        assert_eq!(
            summary_counts("# fail 2"),
            Some(Counts {
                failed: 2,
                ..Counts::default()
            })
        );
        assert_eq!(summary_counts("ℹ pass the salt please"), None);
    }

    #[test]
    fn ignores_ordinary_lines() {
        assert_eq!(summary_counts("Compiling serde v1.0.0"), None);
        assert_eq!(summary_counts("test tests::passed_case ... ok"), None);
    }
}
