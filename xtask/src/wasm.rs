//! Building and testing for `wasm32-unknown-unknown` with whichever toolchain works here.
//!
//! Where rustup can add the target, plain `cargo --target wasm32-unknown-unknown` does it.
//! Where rustup cannot download (the offline machines of `TOOLCHAIN.md`), Debian's
//! `rustc-web` 1.96 builds the standard library from source (`-Zbuild-std`) and links with
//! Debian's `rust-lld`. Only the wasm commands use it: native builds stay on rustup.

use crate::process::output;
use crate::setup::{CHROMEDRIVER, ensure_debian_packages};
use crate::{Result, fail};
use std::fmt;
use std::path::Path;
use std::process::Command;

pub const TARGET: &str = "wasm32-unknown-unknown";

/// Which wasm features a build may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmFeatures {
    /// rustc's defaults for wasm32 (reference types, bulk memory, …): the browser build.
    Default,
    /// The MVP feature set, which `wasm2js` converts: the JS build.
    Mvp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmToolchain {
    /// rustup's toolchain with the wasm32 target installed.
    Rustup,
    /// Debian's rustc-web with `-Zbuild-std` (RUSTC_BOOTSTRAP for that command only).
    Debian,
}

impl fmt::Display for WasmToolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmToolchain::Rustup => "rustup (wasm32-unknown-unknown target)",
            WasmToolchain::Debian => "Debian rustc-web with -Zbuild-std",
        })
    }
}

/// Debian's packages for the fallback: the 1.96 compiler, the std source it builds, and
/// the linker (`rust-web-llvm` is only a Recommends of rustc-web, so it is named).
const DEBIAN_WASM_PACKAGES: &[(&str, &str)] = &[
    ("rustc-web", "/usr/bin/rustc"),
    ("cargo-web", "/usr/bin/cargo"),
    (
        "rust-web-src",
        "/usr/lib/rustlib/src/rust/library/Cargo.lock",
    ),
    ("rust-web-llvm", "/usr/bin/rust-lld"),
    ("lld-22", "/usr/bin/ld.lld-22"),
    ("rust-web-clippy", "/usr/bin/cargo-clippy"),
];

/// Finds a working wasm toolchain, installing one if needed.
pub fn ensure_toolchain() -> Result<WasmToolchain> {
    match std::env::var("CHAT_WASM_TOOLCHAIN").as_deref() {
        Ok("rustup") => return ensure_rustup_target(),
        Ok("debian") => return ensure_debian(),
        Ok(other) if !other.is_empty() => {
            return fail!("CHAT_WASM_TOOLCHAIN={other} is not one of rustup, debian");
        }
        _ => {}
    }
    ensure_rustup_target().or_else(|_| {
        println!("    rustup cannot add {TARGET} here: using Debian's rustc-web with -Zbuild-std");
        ensure_debian()
    })
}

fn ensure_rustup_target() -> Result<WasmToolchain> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]));
    let Some(installed) = installed else {
        return fail!("rustup is not available");
    };
    if !installed.lines().any(|line| line.trim() == TARGET) {
        println!("    adding the {TARGET} target with rustup (the wasm engine is built for it)");
        let added = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status();
        if !added.is_ok_and(|status| status.success()) {
            return fail!("rustup could not add {TARGET}");
        }
    }
    ensure_rust_src()?;
    Ok(WasmToolchain::Rustup)
}

/// The standard library's source, which the size-budgeted release build recompiles
/// (see [`WasmToolchain::size_release_build`]).
fn ensure_rust_src() -> Result {
    let installed = output(Command::new("rustup").args(["component", "list", "--installed"]));
    if installed.is_some_and(|list| list.lines().any(|line| line.starts_with("rust-src"))) {
        return Ok(());
    }
    println!("    adding rust-src with rustup (the release wasm rebuilds std for size)");
    let added = Command::new("rustup")
        .args(["component", "add", "rust-src"])
        .status();
    if added.is_ok_and(|status| status.success()) {
        Ok(())
    } else {
        fail!("rustup could not add rust-src")
    }
}

/// RUSTFLAGS of the size-budgeted release build: panics abort at once, with no message
/// formatted and no hook run, so the panic machinery and the `core::fmt` code only it
/// used leave the binary (-10 KB gzipped, docs/CLIENT.md "Size"). It takes a std built
/// with the same strategy, hence `-Zbuild-std`. `-Zlocation-detail=none`: the source paths
/// and lines panics would report (never shown, with such panics) stay out of the data.
const SIZE_RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none";

fn ensure_debian() -> Result<WasmToolchain> {
    ensure_debian_packages(
        DEBIAN_WASM_PACKAGES,
        "rustup cannot download the wasm32 standard library here; Debian's rustc-web builds it from source",
    )?;
    if output(Command::new("/usr/bin/rust-lld").args(["-flavor", "wasm", "--version"])).is_none() {
        return fail!("/usr/bin/rust-lld does not run: install rust-web-llvm and lld-22");
    }
    Ok(WasmToolchain::Debian)
}

impl WasmToolchain {
    /// A `cargo <subcommand>` for the wasm32 target, run from `root`. Tests run through
    /// `wasm-bindgen-test-runner`, in headless Chromium for browser tests.
    pub fn cargo(self, root: &Path, subcommand: &str) -> Command {
        let mut command = match (self, subcommand) {
            (WasmToolchain::Rustup, _) => Command::new("cargo"),
            // Plain /usr/bin/cargo clippy would find rustup's cargo-clippy first.
            (WasmToolchain::Debian, "clippy") => {
                let mut command = Command::new("/usr/bin/cargo-clippy");
                command.env("CARGO", "/usr/bin/cargo");
                command
            }
            (WasmToolchain::Debian, _) => Command::new("/usr/bin/cargo"),
        };
        command
            .current_dir(root)
            .arg(subcommand)
            .args(["--target", TARGET]);
        if self == WasmToolchain::Debian {
            command
                .args(["-Zbuild-std=std,panic_abort"])
                .env("RUSTC", "/usr/bin/rustc")
                .env("RUSTDOC", "/usr/bin/rustdoc")
                .env("RUSTC_BOOTSTRAP", "1")
                .env(
                    "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER",
                    "/usr/bin/rust-lld",
                )
                // Artifacts of another compiler version must not mix with rustup's.
                .env("CARGO_TARGET_DIR", root.join("target/debian-wasm"));
        }
        command
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
        command
    }

    /// `cargo build` for the size-budgeted release wasm: std rebuilt from source with
    /// [`SIZE_RUSTFLAGS`]. The nightly flags (RUSTC_BOOTSTRAP) are set for this command
    /// only, and it has a target dir of its own: its RUSTFLAGS differ from every other
    /// build's, and sharing one would rebuild std and every dependency back and forth.
    /// The MVP build (`features`; no reference types, bulk memory or other post-MVP
    /// features, which `wasm2js` cannot convert) adds `-Ctarget-cpu=mvp` and has a target
    /// dir of its own too.
    pub fn size_release_build_for(self, root: &Path, features: WasmFeatures) -> Command {
        let mut command = self.cargo(root, "build");
        if self == WasmToolchain::Rustup {
            // The Debian toolchain's `cargo` already passes -Zbuild-std.
            command
                .arg("-Zbuild-std=std,panic_abort")
                .env("RUSTC_BOOTSTRAP", "1");
        }
        let rustflags = match features {
            WasmFeatures::Default => SIZE_RUSTFLAGS.to_owned(),
            WasmFeatures::Mvp => format!("{SIZE_RUSTFLAGS} -Ctarget-cpu=mvp"),
        };
        command
            .env("RUSTFLAGS", rustflags)
            .env("CARGO_TARGET_DIR", self.size_target_dir(root, features));
        command
    }

    fn size_target_dir(self, root: &Path, features: WasmFeatures) -> std::path::PathBuf {
        let name = match features {
            WasmFeatures::Default => "wasm-size",
            WasmFeatures::Mvp => "wasm-mvp",
        };
        match self {
            WasmToolchain::Rustup => crate::target_dir(root).join(name),
            WasmToolchain::Debian => root.join("target").join(format!("debian-{name}")),
        }
    }

    /// Where [`WasmToolchain::size_release_build_for`] puts the `profile` artifacts.
    pub fn size_artifact_dir(
        self,
        root: &Path,
        features: WasmFeatures,
        profile: &str,
    ) -> std::path::PathBuf {
        self.size_target_dir(root, features)
            .join(TARGET)
            .join(profile)
    }
}
