//! Installs what a fresh machine lacks, idempotently: quick when everything is there, and
//! saying what it installs and why when something is not. A tool that cannot be installed
//! (no network, no root) ends the task with one line naming it and how to get it.

use crate::process::{on_path, output, run};
use crate::wasm::WasmToolchain;
use crate::{Result, fail, heading};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's Chromium and its WebDriver, for wasm-bindgen-test and Playwright.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// Oldest Node.js the JS tooling (Expo SDK 57, vitest) accepts.
const NODE_MAJOR_MIN: u32 = 20;

/// The tools the build and the suites use, once they are known to be there.
#[derive(Debug)]
pub struct Tools {
    pub wasm: WasmToolchain,
    pub wasm_bindgen_version: String,
    pub wasm_opt: PathBuf,
}

/// Makes sure every tool the build and the tests use is installed.
pub fn ensure_all(root: &Path) -> Result<Tools> {
    heading("setup: checking tools");
    ensure_debian_packages(
        &[("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER)],
        "headless Chromium and its WebDriver run the wasm and browser end-to-end tests",
    )?;
    ensure_debian_packages(
        &[("redis-server", REDIS_SERVER)],
        "the chaos soak on Redis kills and restarts a private redis-server",
    )?;
    ensure_build_tools(root)
}

/// Makes sure the tools that build the product are installed.
pub fn ensure_build_tools(root: &Path) -> Result<Tools> {
    ensure_node()?;
    let wasm = crate::wasm::ensure_toolchain()?;
    let wasm_bindgen_version = ensure_wasm_bindgen_cli(root)?;
    ensure_npm_packages(root)?;
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    if !wasm_opt.is_file() {
        return fail!(
            "wasm-opt is missing from node_modules (the `binaryen` dev dependency): run `npm ci` at {}",
            root.display()
        );
    }
    println!(
        "    tools ready: wasm toolchain {wasm}, wasm-bindgen {wasm_bindgen_version}, wasm-opt (npm binaryen)"
    );
    Ok(Tools {
        wasm,
        wasm_bindgen_version,
        wasm_opt,
    })
}

fn ensure_node() -> Result {
    let Some(version) = output(Command::new("node").arg("--version")) else {
        return fail!("node is missing: install Node.js {NODE_MAJOR_MIN} or newer, with npm");
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < NODE_MAJOR_MIN {
        return fail!("node {version} is too old: install Node.js {NODE_MAJOR_MIN} or newer");
    }
    if !on_path("npm") {
        return fail!("npm is missing: install it with Node.js {NODE_MAJOR_MIN} or newer");
    }
    Ok(())
}

/// Installs the Debian packages whose marker file is missing. `why` is printed.
pub fn ensure_debian_packages(packages: &[(&str, &str)], why: &str) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, marker)| !Path::new(marker).exists())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    println!("    installing Debian packages: {list} ({why})");
    let Some(mut apt) = privileged("apt-get") else {
        return fail!(
            "{list} missing and this user cannot install packages: run `sudo apt-get install {list}`"
        );
    };
    // A fresh machine has no package lists yet; an old list may name versions long gone.
    let _ = apt.args(["update", "-qq"]).status();
    let mut install = privileged("apt-get").expect("checked just above");
    install
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing);
    if run(&mut install, "apt-get install").is_err() {
        return fail!(
            "could not install {list} (apt-get failed: no network to Debian's mirror?): install them with `apt-get install {list}`"
        );
    }
    Ok(())
}

/// `program` as root: itself when we are root, through `sudo -n` when that works.
fn privileged(program: &str) -> Option<Command> {
    if output(Command::new("id").arg("-u")).as_deref() == Some("0") {
        return Some(Command::new(program));
    }
    if on_path("sudo")
        && Command::new("sudo")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success())
    {
        let mut command = Command::new("sudo");
        command.args(["-n", program]);
        return Some(command);
    }
    None
}

/// The `wasm-bindgen` version pinned in Cargo.lock: the CLI must equal it exactly.
pub fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    fail!("Cargo.lock has no wasm-bindgen entry")
}

fn ensure_wasm_bindgen_cli(root: &Path) -> Result<String> {
    let wanted = locked_wasm_bindgen_version(root)?;
    let installed = output(Command::new("wasm-bindgen").arg("--version"));
    let have = installed
        .as_deref()
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or("");
    if have == wanted && on_path("wasm-bindgen-test-runner") {
        return Ok(wanted);
    }
    let why = if have.is_empty() {
        "it is not installed".to_owned()
    } else {
        format!("{have} is installed")
    };
    println!(
        "    installing wasm-bindgen-cli {wanted} with cargo install ({why}; it must equal the wasm-bindgen crate in Cargo.lock; about 2 minutes)"
    );
    // `--locked` fails where the registry lacks a version pinned by the CLI's own lock file.
    let install = |locked: bool| {
        let mut command = Command::new("cargo");
        command.args([
            "install",
            "--quiet",
            "--force",
            "wasm-bindgen-cli",
            "--version",
            &wanted,
        ]);
        if locked {
            command.arg("--locked");
        }
        run(&mut command, "cargo install wasm-bindgen-cli")
    };
    let installed = install(true).is_ok()
        || {
            println!(
                "    retrying without --locked (the registry lacks a version the CLI's own lock file pins: the error above)"
            );
            install(false).is_ok()
        };
    if !installed {
        return fail!(
            "could not install wasm-bindgen-cli {wanted}: run `cargo install wasm-bindgen-cli --version {wanted}`"
        );
    }
    if !on_path("wasm-bindgen-test-runner") {
        return fail!(
            "wasm-bindgen-test-runner is not on PATH after installing: add ~/.cargo/bin to PATH"
        );
    }
    Ok(wanted)
}

/// `npm ci` when node_modules does not match package-lock.json (a copy of the lock file
/// kept in node_modules records what was installed).
fn ensure_npm_packages(root: &Path) -> Result {
    let lock = std::fs::read(root.join("package-lock.json"))?;
    let stamp = root.join("node_modules/.xtask-installed-lock.json");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    println!("    running npm ci (node_modules does not match package-lock.json)");
    let mut npm = Command::new("npm");
    npm.current_dir(root)
        .args(["ci", "--no-audit", "--no-fund"])
        // playwright-core never downloads browsers; this keeps any other package from trying.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    if run(&mut npm, "npm ci").is_err() {
        return fail!(
            "npm ci failed: check that the npm registry is reachable, then run `npm ci` at {}",
            root.display()
        );
    }
    std::fs::write(&stamp, lock)?;
    Ok(())
}
