//! Builds the product's front half (the wasm engine package, the JS package, the web app)
//! and runs the server.

use crate::js_build;
use crate::minify_names;
use crate::process::run as run_command;
use crate::setup::{self, Tools};
use crate::wasm::WasmFeatures;
use crate::{Result, fail, heading};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm engine plus its JS glue, gzipped, may not exceed this.
pub const WASM_BUDGET_BYTES: u64 = 60 * 1024;

/// `cargo xtask run`: build everything, then start chat-server on the SQLite default.
pub fn run(root: &Path, release: bool) -> Result {
    let tools = setup::ensure_build_tools(root)?;
    all(root, &tools)?;
    heading("starting chat-server (SQLite at ./data/chat.db unless DATABASE_URL says otherwise)");
    let mut server = Command::new("cargo");
    server
        .current_dir(root)
        .args(["run", "--package", "server", "--bin", "chat-server"]);
    if release {
        server.arg("--release");
    }
    run_command(&mut server, "chat-server")
}

/// Builds the wasm engine package, the engine's JS build, the JS package and (when it
/// exists) the web app.
pub fn all(root: &Path, tools: &Tools) -> Result {
    wasm_package(root, tools)?;
    js_build(root, tools)?;
    js_package(root)?;
    web_app(root)
}

/// `cargo xtask size`: the wasm package alone, held to its budget.
pub fn size(root: &Path, tools: &Tools) -> Result {
    let package = wasm_package(root, tools)?;
    if package.total() > WASM_BUDGET_BYTES {
        return fail!(
            "the wasm engine is {} bytes gzipped, {} over its budget of {WASM_BUDGET_BYTES}",
            package.total(),
            package.total() - WASM_BUDGET_BYTES
        );
    }
    println!(
        "    {} bytes, {} under budget",
        package.total(),
        WASM_BUDGET_BYTES - package.total()
    );
    Ok(())
}

/// The wasm-bindgen package the JS package loads.
pub struct WasmPackage {
    pub wasm_gzip_bytes: u64,
    pub glue_gzip_bytes: u64,
}

impl WasmPackage {
    pub fn total(&self) -> u64 {
        self.wasm_gzip_bytes + self.glue_gzip_bytes
    }

    pub fn describe(&self) -> String {
        format!(
            "wasm engine: {:.1} KiB gzipped ({:.1} KiB wasm + {:.1} KiB JS glue; budget {} KiB)",
            kib(self.total()),
            kib(self.wasm_gzip_bytes),
            kib(self.glue_gzip_bytes),
            WASM_BUDGET_BYTES / 1024
        )
    }
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// Where the wasm-bindgen output goes: the JS package imports it from there.
pub fn wasm_package_dir(root: &Path) -> PathBuf {
    root.join("js/client/pkg")
}

/// Builds the engine for wasm32 (size profile), runs wasm-bindgen and wasm-opt, and
/// reports the gzipped size.
pub fn wasm_package(root: &Path, tools: &Tools) -> Result<WasmPackage> {
    heading("building the wasm engine package (client-wasm → js/client/pkg)");
    let out_dir = wasm_package_dir(root);
    bindgen_and_optimise(root, tools, WasmFeatures::Default, &out_dir, &|glue| {
        Ok(glue.to_owned())
    })?;
    let package = WasmPackage {
        wasm_gzip_bytes: gzip_size(&out_dir.join("client_wasm_bg.wasm"))?,
        glue_gzip_bytes: gzip_size(&out_dir.join("client_wasm.js"))?,
    };
    println!("    {}", package.describe());
    Ok(package)
}

/// Where the JS build goes (`js_build`): the JS package loads it where there is no
/// `WebAssembly`.
pub fn js_build_dir(root: &Path) -> PathBuf {
    root.join("js/client/pkg-js")
}

/// The engine compiled to JavaScript (Hermes on phones has no `WebAssembly`).
pub struct JsBuild {
    pub engine_gzip_bytes: u64,
    pub glue_gzip_bytes: u64,
    pub engine_bytes: u64,
}

impl JsBuild {
    pub fn describe(&self) -> String {
        format!(
            "JS build of the engine (wasm2js, for Hermes): {:.1} KiB gzipped ({:.1} KiB engine.js, {:.0} KiB before gzip, + {:.1} KiB JS glue)",
            kib(self.engine_gzip_bytes + self.glue_gzip_bytes),
            kib(self.engine_gzip_bytes),
            kib(self.engine_bytes),
            kib(self.glue_gzip_bytes),
        )
    }
}

/// The JS build (`js_build`): the MVP wasm through the same steps, then `wasm2js -Oz`.
/// Writes `client_wasm.js` (the glue, with `initJs`), `client_wasm.d.ts` and `engine.js`
/// (`instantiate(imports)`) to js/client/pkg-js, and no `.wasm`.
pub fn js_build(root: &Path, tools: &Tools) -> Result<JsBuild> {
    heading("building the JS build of the engine (client-wasm → wasm2js → js/client/pkg-js)");
    let out_dir = js_build_dir(root);
    // The glue is patched before the short names, which rename `wasm.memory` too.
    bindgen_and_optimise(root, tools, WasmFeatures::Mvp, &out_dir, &|glue| {
        js_build::patch_glue(glue)
    })?;
    let wasm = out_dir.join("client_wasm_bg.wasm");
    let engine = out_dir.join("engine.js");
    let wasm2js = root.join("node_modules/.bin/wasm2js");
    run_command(
        Command::new(&wasm2js)
            .args(["-Oz"])
            .arg(&wasm)
            .arg("-o")
            .arg(&engine),
        "wasm2js",
    )?;
    rewrite(&out_dir, "engine.js", &|text| js_build::instantiable(text))?;
    // wasm2js keeps long local names and whitespace: minified, 752 KB become 245 KB (113
    // KiB gzipped become 76). ES2015 keeps esbuild from writing newer syntax than wasm2js's.
    run_command(
        Command::new(root.join("node_modules/.bin/esbuild"))
            .arg(&engine)
            .args([
                "--minify",
                "--format=esm",
                "--target=es2015",
                "--log-level=warning",
                "--allow-overwrite",
            ])
            .arg(format!("--outfile={}", engine.display())),
        "esbuild --minify (engine.js)",
    )?;
    rewrite(&out_dir, "client_wasm.d.ts", &|text| {
        Ok(js_build::patch_declarations(text))
    })?;
    for leftover in ["client_wasm_bg.wasm", "client_wasm_bg.wasm.d.ts"] {
        let _ = std::fs::remove_file(out_dir.join(leftover));
    }
    write(
        &out_dir.join("engine.d.ts"),
        "/** The engine's exports, instantiated over the glue's imports (`initJs`). */
export function instantiate(imports: object): object;
",
    )?;
    let built = JsBuild {
        engine_gzip_bytes: gzip_size(&engine)?,
        glue_gzip_bytes: gzip_size(&out_dir.join("client_wasm.js"))?,
        engine_bytes: std::fs::metadata(&engine).map(|m| m.len()).unwrap_or(0),
    };
    println!("    {}", built.describe());
    Ok(built)
}

/// cargo build (size profile, `features`), wasm-bindgen `--target web` into `out_dir`,
/// `patch_glue` on its JS glue, `wasm-opt -Oz --converge`, short names.
fn bindgen_and_optimise(
    root: &Path,
    tools: &Tools,
    features: WasmFeatures,
    out_dir: &Path,
    patch_glue: &dyn Fn(&str) -> Result<String>,
) -> Result {
    let profile = "wasm-release";
    run_command(
        tools.wasm.size_release_build_for(root, features).args([
            "--package",
            "client-wasm",
            "--lib",
            "--profile",
            profile,
        ]),
        "cargo build (wasm32)",
    )?;
    let artifact = tools
        .wasm
        .size_artifact_dir(root, features, profile)
        .join("client_wasm.wasm");
    run_command(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--out-name", "client_wasm", "--out-dir"])
            .arg(out_dir)
            .arg(&artifact),
        "wasm-bindgen",
    )?;
    rewrite(out_dir, "client_wasm.js", &|glue| {
        patch_glue(&without_doc_comments(glue))
    })?;
    let wasm = out_dir.join("client_wasm_bg.wasm");
    run_command(
        Command::new(&tools.wasm_opt)
            // --converge repeats -Oz until nothing changes: -0.3 KB gzipped. The producers
            // and target-features sections are metadata no browser reads: -0.2 KB.
            .args([
                "-Oz",
                "--converge",
                "--strip-producers",
                "--strip-target-features",
            ])
            .args(opt_features(features))
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
        "wasm-opt",
    )?;
    minify_names(tools, features, out_dir)
}

/// Renames the wasm's imports and exports to one or two letters, and the JS glue and
/// type declarations to match (`minify_names`).
fn minify_names(tools: &Tools, features: WasmFeatures, out_dir: &Path) -> Result {
    let wasm = out_dir.join("client_wasm_bg.wasm");
    let output = Command::new(&tools.wasm_opt)
        .arg("--minify-imports-and-exports-and-modules")
        .args(opt_features(features))
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm)
        .output();
    let mapping = match output {
        Ok(out) if out.status.success() => {
            minify_names::parse_mapping(&String::from_utf8_lossy(&out.stdout))?
        }
        Ok(out) => {
            return fail!(
                "wasm-opt --minify-imports-and-exports-and-modules failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(e) => return fail!("wasm-opt did not start: {e}"),
    };
    rewrite(out_dir, "client_wasm.js", &|glue| {
        minify_names::rename_glue(glue, &mapping)
    })?;
    for declarations in ["client_wasm.d.ts", "client_wasm_bg.wasm.d.ts"] {
        rewrite(out_dir, declarations, &|text| {
            Ok(minify_names::rename_declarations(text, &mapping))
        })?;
    }
    Ok(())
}

/// Rewrites `dir/name` through `change`.
/// The glue without its JSDoc blocks (`/** … */`, copied from the Rust docs): the
/// `.d.ts` keeps them for editors, and the shipped JS is 0.4 KB smaller gzipped.
fn without_doc_comments(glue: &str) -> String {
    let mut out = String::with_capacity(glue.len());
    let mut rest = glue;
    while let Some(start) = rest.find("/**") {
        let Some(length) = rest[start..].find("*/") else {
            break;
        };
        // The block's own line goes with it: its indentation before, its newline after.
        let kept = rest[..start].trim_end_matches([' ', '\t']);
        out.push_str(kept);
        rest = &rest[start + length + 2..];
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

fn rewrite(dir: &Path, name: &str, change: &dyn Fn(&str) -> Result<String>) -> Result {
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => return fail!("cannot read {}: {e}", path.display()),
    };
    write(&path, &change(&text)?)
}

fn write(path: &Path, text: &str) -> Result {
    match std::fs::write(path, text) {
        Ok(()) => Ok(()),
        Err(e) => fail!("cannot write {}: {e}", path.display()),
    }
}

/// The features wasm-opt must accept (and may use) for a build of `features`.
fn opt_features(features: WasmFeatures) -> &'static [&'static str] {
    match features {
        WasmFeatures::Default => WASM_OPT_FEATURES,
        WasmFeatures::Mvp => &["--mvp-features"],
    }
}

/// The wasm features rustc enables by default for wasm32-unknown-unknown, which wasm-opt
/// must accept in its input (and may then use).
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
    "--enable-multivalue",
];

fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).output();
    match out {
        Ok(out) if out.status.success() => Ok(out.stdout.len() as u64),
        _ => fail!("gzip could not read {}: install gzip", path.display()),
    }
}

/// Compiles the TypeScript package (ES modules and .d.ts into js/client/dist).
pub fn js_package(root: &Path) -> Result {
    heading("building the JS package (js/client → js/client/dist)");
    run_command(
        Command::new(root.join("node_modules/.bin/tsc"))
            .current_dir(root)
            .args(["-p", "js/client"]),
        "tsc",
    )
}

/// Exports the Expo web app to js/app/dist, which chat-server serves at `/`.
pub fn web_app(root: &Path) -> Result {
    let app = root.join("js/app");
    if !app.join("package.json").is_file() {
        return Ok(());
    }
    heading("exporting the web app (js/app → js/app/dist)");
    run_command(
        Command::new(root.join("node_modules/.bin/expo"))
            .current_dir(&app)
            .args(["export", "--platform", "web", "--output-dir", "dist"])
            .env("CI", "1")
            .env("EXPO_NO_TELEMETRY", "1")
            .env("EXPO_OFFLINE", "1"),
        "expo export",
    )
}

/// Exports the app for iOS and Android offline (`expo export`, Hermes bytecode) into a
/// temporary directory, and checks that each platform's bundle contains the engine: a
/// piece of the JS build's data segment (a base64 string only the engine has).
pub fn native_exports(root: &Path) -> Result {
    let app = root.join("js/app");
    let engine = std::fs::read_to_string(js_build_dir(root).join("engine.js"))
        .map_err(|e| crate::Failure(format!("the JS build is missing ({e}): build it first")))?;
    let Some(marker) = js_build::data_marker(&engine) else {
        return fail!("js/client/pkg-js/engine.js has no data segment to look for");
    };
    let out = std::env::temp_dir().join(format!("chat-native-export-{}", std::process::id()));
    for platform in ["ios", "android"] {
        heading(&format!(
            "exporting the app for {platform} (js/app, Hermes)"
        ));
        let dir = out.join(platform);
        run_command(
            Command::new(root.join("node_modules/.bin/expo"))
                .current_dir(&app)
                .args(["export", "--platform", platform, "--output-dir"])
                .arg(&dir)
                .env("CI", "1")
                .env("EXPO_NO_TELEMETRY", "1")
                .env("EXPO_OFFLINE", "1"),
            "expo export",
        )?;
        let bundles = dir.join("_expo/static/js").join(platform);
        let found = std::fs::read_dir(&bundles)
            .map_err(|e| crate::Failure(format!("no bundles in {}: {e}", bundles.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "hbc"))
            .map(|path| {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let has = bytes
                    .windows(marker.len())
                    .any(|window| window == marker.as_bytes());
                (path, bytes.len(), has)
            })
            .collect::<Vec<_>>();
        match found.iter().find(|(_, _, has)| *has) {
            Some((path, len, _)) => println!(
                "    {platform}: {} ({:.0} KiB of Hermes bytecode) contains the engine",
                path.file_name().unwrap_or_default().to_string_lossy(),
                kib(*len as u64)
            ),
            None if found.is_empty() => {
                return fail!("the {platform} export has no Hermes bytecode (.hbc) bundle");
            }
            None => return fail!("the {platform} Hermes bundle does not contain the engine"),
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_doc_comments;

    #[test]
    fn doc_comments_go_and_code_and_other_comments_stay() {
        let glue = "/* @ts-self-types=\"./x.d.ts\" */\n\n/**\n * Doc.\n */\nexport class A {\n    /**\n     * @param {number} n\n     */\n    f(n) { return '/*' + n; }\n}\n";
        assert_eq!(
            without_doc_comments(glue),
            "/* @ts-self-types=\"./x.d.ts\" */\n\nexport class A {\n    f(n) { return '/*' + n; }\n}\n"
        );
    }
}
