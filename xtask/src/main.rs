//! The project's task runner (the `cargo xtask` pattern): `cargo xtask <command>`.
//!
//! # Layout
//!
//! - [`setup`]: installs what a fresh machine lacks (Chromium, the wasm target,
//!   wasm-bindgen-cli, npm packages), idempotently, saying what and why.
//! - [`wasm`]: builds and tests the wasm engine with whichever wasm toolchain works here.
//! - [`build`]: the wasm engine package, the JS package and the web app.
//! - [`js_build`]: the engine compiled to JavaScript (`wasm2js`) for Hermes.
//! - [`suites`]: every test suite, run in order, with a closing summary.
//! - [`postgres`]: finds (or starts) PostgreSQL for the suites that need it.
//! - [`process`]: running commands, streaming their output, and reading runners' summaries.
//!
//! It has no dependencies so that it builds in seconds on a fresh clone.

// A task runner talks to a person on stdout.
#![allow(clippy::print_stdout)]

mod build;
mod js_build;
mod minify_names;
mod postgres;
mod process;
mod setup;
mod suites;
mod wasm;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  run [--release]   build the wasm engine, the JS package and the web app, then start
                    chat-server on the embedded SQLite default and print its URL
  test [--soak]     install what is missing, then run every suite (fmt, clippy, Rust unit,
                    property and integration tests on SQLite and PostgreSQL, wasm tests in
                    headless Chromium, TypeScript check, JS tests, browser end-to-end tests);
                    --soak runs the property tests, the fuzzers and the chaos soak longer
  setup             only install what is missing (Chromium, wasm target, wasm-bindgen-cli, npm)
  build             only build the wasm engine, the JS package and the web app
  size              only build the wasm engine package, report its gzipped size and fail
                    over the budget (quick to repeat while making the engine smaller)
  help              this text

Environment:
  CHAT_WASM_TOOLCHAIN=rustup|debian   force the wasm toolchain (default: rustup when it has
                                      or can add wasm32-unknown-unknown, else Debian's)
  CHAT_TEST_POSTGRES_URL              admin URL the PostgreSQL suites create databases with
                                      (default postgres://postgres@127.0.0.1:5432/postgres)
";

/// An error that ends the task with one clear line.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(error.to_string())
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;

/// Builds a [`Failure`] from a format string.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { Err($crate::Failure(format!($($arg)*))) };
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, options) = match args.split_first() {
        Some((command, options)) => (command.as_str(), options),
        None => ("help", &[][..]),
    };
    let outcome = match command {
        "run" => build::run(&root(), has_flag(options, "--release")),
        "test" => suites::test(&root(), has_flag(options, "--soak")),
        "setup" => setup::ensure_all(&root()).map(|_| ()),
        "build" => setup::ensure_all(&root()).and_then(|tools| build::all(&root(), &tools)),
        "size" => setup::ensure_build_tools(&root()).and_then(|tools| build::size(&root(), &tools)),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => fail!("unknown command `{other}` (try `cargo xtask help`)"),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            // An empty message means the failure was already reported in full.
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn has_flag(options: &[String], flag: &str) -> bool {
    options.iter().any(|option| option == flag)
}

/// The workspace root: xtask lives one level below it.
fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// Prints a step heading.
/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the current
/// directory, as cargo reads it), else the workspace's `target/`.
pub fn target_dir(root: &std::path::Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir().unwrap_or_default().join(dir),
        None => root.join("target"),
    }
}

/// The `chat-server` binary `cargo test --workspace` built (debug).
pub fn debug_chat_server(root: &std::path::Path) -> PathBuf {
    target_dir(root).join("debug/chat-server")
}

pub fn heading(text: &str) {
    println!("\n==> {text}");
}
