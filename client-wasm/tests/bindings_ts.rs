//! The TypeScript bindings (js/client/src/generated/bindings.ts) are rendered from the
//! Rust lists (client-wasm/src/commands.rs, refusals.rs): this fails when the committed
//! file differs, and rewrites it under `UPDATE_BINDINGS=1`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use client_wasm::commands::COMMANDS;
use client_wasm::refusals::REFUSALS;
use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(client_wasm::ts::PATH)
}

#[test]
fn the_committed_typescript_bindings_are_rendered_from_the_rust_lists() {
    let rendered = client_wasm::ts::render();
    let path = committed_path();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rendered {
        let line = committed
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(rendered.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "{} is out of date with client-wasm's lists (first difference at line {line}): \
             run `UPDATE_BINDINGS=1 cargo test -p client-wasm --test bindings_ts` and commit it",
            client_wasm::ts::PATH
        );
    }
}

#[test]
fn command_numbers_count_up_from_zero_in_list_order() {
    for (i, command) in COMMANDS.iter().enumerate() {
        assert_eq!(command.number as usize, i, "command {}", command.name);
    }
}

#[test]
fn refusal_numbers_count_up_from_one_in_list_order() {
    for (i, refusal) in REFUSALS.iter().enumerate() {
        assert_eq!(refusal.error as usize, i + 1, "refusal {}", refusal.name);
    }
}

#[test]
fn refusals_of_one_code_are_listed_together() {
    let mut codes: Vec<&str> = REFUSALS.iter().map(|r| r.error.code()).collect();
    codes.dedup();
    let mut unique = codes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(codes.len(), unique.len(), "codes in runs: {codes:?}");
}

#[test]
fn a_getter_takes_no_arguments_and_a_command_at_most_two() {
    for command in COMMANDS {
        assert!(
            command.params.len() <= 2,
            "{} has more than a and b",
            command.name
        );
        assert!(
            !command.getter || command.params.is_empty(),
            "getter {}",
            command.name
        );
    }
}
