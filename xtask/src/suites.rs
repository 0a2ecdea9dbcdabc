//! `cargo xtask test`: every suite, in an order where cheap checks come first and each
//! suite's prerequisites are built by an earlier step. A failing suite does not stop the
//! others (one run shows every problem); the run ends with a table, the runners' own
//! summary lines, and one totals line, and exits non-zero if anything failed.

use crate::build;
use crate::postgres;
use crate::process::{Counts, Streamed, stream};
use crate::setup::{self, CHROMIUM, Tools};
use crate::{Failure, Result, heading};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Property-test cases per property in a `--soak` run (the normal run uses each test's own
/// default, at least 256).
const SOAK_PROPTEST_CASES: &str = "4096";
/// Seconds each fuzzer (engine/tests/hostile_input.rs, server/tests/fuzz) runs in a
/// `--soak` run; the normal run gives each 3.
const SOAK_FUZZ_SECS: &str = "60";

#[derive(Debug)]
enum Outcome {
    Passed,
    Failed,
    Skipped(String),
}

#[derive(Debug)]
struct Step {
    name: &'static str,
    outcome: Outcome,
    duration: Duration,
    counts: Counts,
    summary_lines: Vec<String>,
}

struct Run<'a> {
    root: &'a Path,
    steps: Vec<Step>,
}

impl Run<'_> {
    /// Runs one suite, streaming its output.
    fn suite(&mut self, name: &'static str, command: &mut Command) -> bool {
        heading(name);
        let started = Instant::now();
        let streamed = stream(command).unwrap_or_else(|Failure(message)| {
            eprintln!("error: {message}");
            Streamed::default()
        });
        let outcome = if streamed.success {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let passed = streamed.success;
        self.steps.push(Step {
            name,
            outcome,
            duration: started.elapsed(),
            counts: streamed.counts,
            summary_lines: streamed.summary_lines,
        });
        passed
    }

    /// Runs a step that is not a test runner (a build): its error is printed.
    fn task(&mut self, name: &'static str, task: impl FnOnce() -> Result) -> bool {
        let started = Instant::now();
        let result = task();
        if let Err(Failure(message)) = &result {
            eprintln!("error: {message}");
        }
        self.steps.push(Step {
            name,
            outcome: if result.is_ok() {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            duration: started.elapsed(),
            counts: Counts::default(),
            summary_lines: Vec::new(),
        });
        result.is_ok()
    }

    fn note_passed(&mut self, name: &'static str) {
        self.record(name, Outcome::Passed);
    }

    fn record(&mut self, name: &'static str, outcome: Outcome) {
        self.steps.push(Step {
            name,
            outcome,
            duration: Duration::ZERO,
            counts: Counts::default(),
            summary_lines: Vec::new(),
        });
    }

    fn skip(&mut self, name: &'static str, reason: impl Into<String>) {
        let reason = reason.into();
        println!("\nskipped: {name}: {reason}");
        self.record(name, Outcome::Skipped(reason));
    }

    fn npm_bin(&self, name: &str) -> Command {
        let mut command = Command::new(self.root.join("node_modules/.bin").join(name));
        command.current_dir(self.root);
        command
    }
}

/// Runs every suite.
pub fn test(root: &Path, soak: bool) -> Result {
    let tools = setup::ensure_all(root)?;
    heading("checking for PostgreSQL");
    let postgres_url = postgres::admin_url();
    if postgres_url.is_none() && std::env::var_os("CI").is_some() {
        return Err(Failure(
            "PostgreSQL is required in CI but is not reachable".into(),
        ));
    }

    let mut run = Run {
        root,
        steps: Vec::new(),
    };
    run.suite(
        "cargo fmt --check",
        cargo(root).args(["fmt", "--all", "--", "--check"]),
    );
    run.suite(
        "clippy (native, all targets)",
        cargo(root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    );
    run.suite(
        "clippy (wasm32 engine)",
        // The unit and property tests are native only (proptest); the wasm build is the
        // library and the browser tests.
        tools.wasm.cargo(root, "clippy").args([
            "--package",
            "chat-engine",
            "--package",
            "client-wasm",
            "--lib",
            "--test",
            "browser_*",
            "--",
            "-D",
            "warnings",
        ]),
    );

    let mut native_tests = cargo(root);
    native_tests.args(["test", "--workspace"]);
    match &postgres_url {
        Some(url) => native_tests.env("CHAT_TEST_POSTGRES_URL", url),
        // The PostgreSQL tests print their own skip line.
        None => native_tests.env("CHAT_TEST_POSTGRES_URL", postgres::DEFAULT_ADMIN_URL),
    };
    if soak {
        native_tests
            .env("PROPTEST_CASES", SOAK_PROPTEST_CASES)
            .env("CHAT_FUZZ_SECS", SOAK_FUZZ_SECS)
            .env("CHAT_SOAK", "1");
    }
    run.suite(
        "Rust tests (unit, property, integration on SQLite and PostgreSQL)",
        &mut native_tests,
    );

    // The browser tests and the vitest hook tests talk to a real chat-server; without one
    // they skip, saying so (the hook tests fail instead under CI).
    let test_server = TestServer::start(root)
        .inspect_err(|Failure(message)| {
            println!(
                "    no chat-server for the browser and hook tests ({message}): they will skip"
            )
        })
        .ok();
    let mut wasm_tests = tools.wasm.cargo(root, "test");
    wasm_tests.args(["--package", "client-wasm", "--test", "browser_*"]);
    if let Some(server) = &test_server {
        server.configure_browser_tests(&mut wasm_tests);
    }
    run.suite("wasm tests (headless Chromium)", &mut wasm_tests);

    let mut package = None;
    run.task("wasm engine package (wasm-bindgen, wasm-opt)", || {
        package = Some(build::wasm_package(root, &tools)?);
        Ok(())
    });
    if let Some(built) = &package {
        // The 60 KiB budget (issue 6, met): going over it again fails the run.
        if built.total() > build::WASM_BUDGET_BYTES {
            run.task("wasm size budget", || {
                crate::fail!("OVER BUDGET: {}", built.describe())
            });
        } else {
            run.note_passed("wasm size budget");
        }
    }
    let mut js_build = None;
    run.task("JS build of the engine (wasm2js, for Hermes)", || {
        js_build = Some(build::js_build(root, &tools)?);
        Ok(())
    });
    if js_build.is_some() && package.is_some() {
        // The JS build under the real Hermes VM (no WebAssembly), then the hot paths there
        // and with the wasm in Node.
        run.suite(
            "Hermes (the JS build in hermes-engine-cli)",
            Command::new("node")
                .current_dir(root)
                .arg("js/client/hermes/run.mjs"),
        );
    } else {
        run.skip(
            "Hermes (the JS build in hermes-engine-cli)",
            "the wasm package or the JS build did not build",
        );
    }
    run.suite(
        "TypeScript type check (js/client)",
        run.npm_bin("tsc").args(["-p", "js/client", "--noEmit"]),
    );
    run.suite(
        "TypeScript type check (js/client tests)",
        run.npm_bin("tsc")
            .args(["-p", "js/client/test", "--noEmit"]),
    );
    run.suite(
        "TypeScript type check (js/app)",
        run.npm_bin("tsc").args(["-p", "js/app", "--noEmit"]),
    );
    if package.is_some() {
        let mut vitest = run.npm_bin("vitest");
        vitest.args(["run", "--root", "js/client"]);
        if let Some(server) = &test_server {
            vitest.env("CHAT_TEST_SERVER_URL", &server.url);
        }
        run.suite("JS tests (vitest)", &mut vitest);
    } else {
        run.skip("JS tests (vitest)", "the wasm engine package did not build");
    }
    drop(test_server);
    // The official client against the chat-server binary `cargo test --workspace` built.
    run.suite(
        "socket.io-client end-to-end (tests/socketio)",
        Command::new("node")
            .current_dir(root)
            .args(["--test", "tests/socketio/"])
            .env("CHAT_SERVER_BIN", crate::debug_chat_server(root)),
    );
    // The Expo app's web export in Chromium (playwright-core), served by chat-server.
    let app_built = package.is_some()
        && run.task(
            "web app export (js/app → js/app/dist) and chat-server",
            || web_app_and_server(root),
        );
    if js_build.is_some() {
        // Issue 13: the app on phones. Both exports run offline; each Hermes bundle must
        // contain the engine's JS build.
        run.task(
            "app exports for iOS and Android (Hermes bundles contain the engine)",
            || build::native_exports(root),
        );
    } else {
        run.skip(
            "app exports for iOS and Android (Hermes bundles contain the engine)",
            "the JS build did not build",
        );
    }
    if app_built {
        run.suite(
            "browser end-to-end (tests/e2e, Playwright)",
            Command::new("node")
                .current_dir(root)
                .args(["--test", "tests/e2e/"])
                .env("CHAT_SERVER_BIN", crate::debug_chat_server(root))
                .env("CHROMIUM_BIN", CHROMIUM)
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        );
    } else {
        run.skip(
            "browser end-to-end (tests/e2e, Playwright)",
            "the wasm engine package or the web app did not build",
        );
    }

    summarise(&run.steps, &tools, package.as_ref(), js_build.as_ref())
}

/// A chat-server for the browser tests (client-wasm/tests/browser_server.rs) and the
/// vitest hook tests (js/client/test/hooks.test.ts): a fresh SQLite database, a known JWT
/// secret (so a browser test can sign an expired token), and the test page's origin
/// allowed. The wasm-bindgen test runner serves its page on a random port unless
/// `WASM_BINDGEN_TEST_ADDRESS` says otherwise, so a free port is picked for it here. The
/// browser tests read the URL and the secret at compile time (`option_env!`), vitest reads
/// `CHAT_TEST_SERVER_URL` at run time (its sockets send no `Origin`). Every test registers
/// users of its own, so the suites share it. Stopped on drop.
struct TestServer {
    child: std::process::Child,
    url: String,
    page_address: String,
    data_dir: std::path::PathBuf,
}

const BROWSER_TEST_JWT_SECRET: &str = "browser-tests-only-secret-0123456789abcdef";

impl TestServer {
    fn start(root: &Path) -> Result<TestServer> {
        use std::io::{BufRead, BufReader};
        heading("starting chat-server for the browser and hook tests");
        crate::process::run(
            cargo(root).args(["build", "--package", "server", "--bin", "chat-server"]),
            "cargo build (chat-server)",
        )?;
        let page_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Failure(format!("no free port for the test page: {e}")))?
            .port();
        let page_address = format!("127.0.0.1:{page_port}");
        let data_dir =
            std::env::temp_dir().join(format!("chat-test-server-{}", std::process::id()));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", data_dir.display())))?;
        let mut child = Command::new(crate::debug_chat_server(root))
            .current_dir(&data_dir)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}?mode=rwc", data_dir.join("chat.db").display()),
            )
            .env("JWT_SECRET", BROWSER_TEST_JWT_SECRET)
            .env("ALLOWED_ORIGINS", format!("http://{page_address}"))
            // Every test user signs in from this machine: lift the abuse limits.
            .env("AUTH_ATTEMPTS_PER_ADDRESS", "1000000")
            .env("AUTH_ATTEMPTS_PER_USERNAME", "1000000")
            .env("PASSWORD_HASH_QUEUE", "1000000")
            .env("REST_REQUESTS_PER_USER", "1000000")
            .env("CONVERSATIONS_PER_USER", "1000000")
            .env("MAX_UNAUTHENTICATED_SESSIONS", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| Failure(format!("cannot start chat-server: {e}")))?;
        let stdout = child.stdout.take();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read the announced URL, then keep draining so the server never blocks on stdout.
            for line in stdout
                .into_iter()
                .flat_map(|s| BufReader::new(s).lines())
                .map_while(|l| l.ok())
            {
                if let Some(url) = line.strip_prefix("chat-server listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let mut server = TestServer {
            child,
            url: String::new(),
            page_address,
            data_dir,
        };
        server.url = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| Failure("chat-server did not announce its address within 60 s".into()))?;
        println!(
            "    chat-server for the browser and hook tests at {}",
            server.url
        );
        Ok(server)
    }

    fn configure_browser_tests(&self, command: &mut Command) {
        command
            .env("CHAT_TEST_SERVER_URL", &self.url)
            .env("CHAT_TEST_JWT_SECRET", BROWSER_TEST_JWT_SECRET)
            .env("WASM_BINDGEN_TEST_ADDRESS", &self.page_address);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// What the browser end-to-end tests run against: the web export and the server binary.
fn web_app_and_server(root: &Path) -> Result {
    build::web_app(root)?;
    crate::process::run(
        cargo(root).args(["build", "--package", "server", "--bin", "chat-server"]),
        "cargo build (chat-server)",
    )
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(root);
    command
}

fn summarise(
    steps: &[Step],
    tools: &Tools,
    package: Option<&build::WasmPackage>,
    js_build: Option<&build::JsBuild>,
) -> Result {
    heading("summary");
    println!(
        "    wasm toolchain: {}; wasm-bindgen {}; browser {CHROMIUM}",
        tools.wasm, tools.wasm_bindgen_version
    );
    if let Some(package) = package {
        println!("    {}", package.describe());
    }
    if let Some(js_build) = js_build {
        println!("    {}", js_build.describe());
    }
    let mut totals = Counts::default();
    let mut failed_steps = Vec::new();
    for step in steps {
        let (word, note) = match &step.outcome {
            Outcome::Passed => ("ok", String::new()),
            Outcome::Failed => ("FAILED", String::new()),
            Outcome::Skipped(reason) => ("skipped", format!("  ({reason})")),
        };
        println!(
            "  {word:<8} {:<66} {:>7.1}s{note}",
            step.name,
            step.duration.as_secs_f64()
        );
        totals.add(step.counts);
        match step.outcome {
            Outcome::Failed => {
                failed_steps.push(step.name);
                // A failed step that ran no counted test (a build, a lint) still counts once.
                if step.counts.failed == 0 {
                    totals.failed += 1;
                }
            }
            Outcome::Skipped(_) => totals.skipped += 1,
            Outcome::Passed => {}
        }
    }
    println!("\nrunners' summary lines:");
    for step in steps {
        for line in &step.summary_lines {
            println!("  [{}] {line}", step.name);
        }
    }
    if !failed_steps.is_empty() {
        println!("\nfailed: {}", failed_steps.join("; "));
    }
    println!(
        "\n{} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.skipped
    );
    if failed_steps.is_empty() {
        Ok(())
    } else {
        // Already reported above: the totals line stays the last line.
        Err(Failure(String::new()))
    }
}
