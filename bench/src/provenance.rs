//! What a report measured: the commit of this workspace that chat-bench built (chat-server
//! and chat-load; the peer is whatever `--peer` held) and the machine it ran on.
//!
//! chat-bench adds both to each report chat-load printed before writing it, so a report
//! read back later (`--summary-only`, possibly on another machine or commit) still says
//! where its figures come from. Reports written before this have neither field and still
//! load: the report is a `serde_json::Value`, and a missing field reads as `None`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// What the summary says for a report that has no commit.
pub const COMMIT_NOT_RECORDED: &str = "commit not recorded";

/// The commit checked out at `root`: `git rev-parse HEAD`, with `-dirty` when tracked files
/// differ from it (as `git describe --dirty`: untracked files do not count), or `unknown`
/// outside a git checkout or without git.
pub fn current_commit(root: &Path) -> String {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    match (
        git(&["rev-parse", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Some(head), Some(status)) => commit(&head, &status),
        _ => "unknown".to_owned(),
    }
}

/// The commit from what `git rev-parse HEAD` and `git status --porcelain` printed.
fn commit(head: &str, status: &str) -> String {
    let head = head.trim();
    if head.is_empty() || !head.chars().all(|c| c.is_ascii_hexdigit()) {
        return "unknown".to_owned();
    }
    if status.trim().is_empty() {
        head.to_owned()
    } else {
        format!("{head}-dirty")
    }
}

/// Adds `commit` and `machine` to a report (an object, as chat-load prints it).
pub fn record(report: &mut Value, commit: &str, machine: &str) {
    if let Value::Object(fields) = report {
        fields.insert("commit".to_owned(), commit.into());
        fields.insert("machine".to_owned(), machine.into());
    }
}

/// The commit a report recorded; `None` for reports written before it was recorded.
pub fn commit_of(report: &Value) -> Option<&str> {
    report.get("commit").and_then(Value::as_str)
}

/// The machine a report recorded; `None` for reports written before it was recorded.
pub fn machine_of(report: &Value) -> Option<&str> {
    report.get("machine").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "300b59c4a1c0e1d8b1f0e6a9d1b2c3d4e5f60718";

    #[test]
    fn a_clean_checkout_is_its_head_and_changed_tracked_files_mark_it_dirty() {
        assert_eq!(commit(&format!("{HEAD}\n"), ""), HEAD);
        assert_eq!(
            commit(&format!("{HEAD}\n"), " M bench/src/main.rs\n"),
            format!("{HEAD}-dirty")
        );
    }

    #[test]
    fn this_checkout_gives_a_full_hash_or_unknown() {
        let found = current_commit(Path::new(env!("CARGO_MANIFEST_DIR")));
        let head = found.strip_suffix("-dirty").unwrap_or(&found);
        assert!(
            found == "unknown" || (head.len() >= 40 && head.chars().all(|c| c.is_ascii_hexdigit())),
            "{found}"
        );
    }

    #[test]
    fn output_that_is_not_a_commit_hash_is_unknown() {
        assert_eq!(commit("", ""), "unknown");
        assert_eq!(commit("fatal: not a git repository\n", ""), "unknown");
    }

    #[test]
    fn a_recorded_report_gives_back_its_commit_and_machine() {
        let mut report = serde_json::json!({ "scenario": "idle", "connected": 10 });
        record(&mut report, "abc123-dirty", "AMD EPYC, 2 cores, 24 GiB");
        let read: Value = serde_json::from_str(&report.to_string()).expect("a JSON report");
        assert_eq!(commit_of(&read), Some("abc123-dirty"));
        assert_eq!(machine_of(&read), Some("AMD EPYC, 2 cores, 24 GiB"));
        assert_eq!(read["connected"], 10);
    }

    #[test]
    fn a_report_from_before_the_commit_was_recorded_loads_without_one() {
        // As chat-load printed it before chat-bench recorded anything (trimmed).
        let report: Value = serde_json::from_str(
            r#"{ "scenario": "idle", "connected": 10000, "server_memory": { "per_connection_bytes": 25504.1536 } }"#,
        )
        .expect("a JSON report");
        assert_eq!(report["scenario"], "idle");
        assert_eq!(commit_of(&report), None);
        assert_eq!(machine_of(&report), None);
    }
}
