//! The engine as plain JavaScript, for JS engines without `WebAssembly` (Hermes on iOS
//! and Android): the same crate (`client-wasm`) built for the MVP wasm feature set, then
//! compiled to JS by binaryen's `wasm2js` (docs/CLIENT.md, "The JS build").
//!
//! `wasm2js` refuses what the size-budgeted browser build uses (reference types: "modules
//! with multiple tables are not supported yet"), so this build has its own RUSTFLAGS
//! (`-Ctarget-cpu=mvp`, std rebuilt for it) and target dir. Then the same wasm-bindgen
//! `--target web` glue, `wasm-opt -Oz` and short names as the browser build, and:
//!
//! - `wasm2js -Oz` turns the wasm into `engine.js`, rewritten here into a module that
//!   exports `instantiate(imports)` (the wasm's exports, built over the given imports);
//! - the glue loses its `WebAssembly` loaders and gains `initJs(instantiate)`;
//! - the glue's cached memory views are refreshed whenever `wasm.memory.buffer` is another
//!   buffer: `wasm2js` grows memory by copying into a new `ArrayBuffer` and does not
//!   detach the old one, which is all wasm-bindgen's check looks at (a stale view after
//!   the first growth corrupts every later call).

use crate::{Result, fail};

/// Where the glue's loaders start: everything from here on is replaced by [`INIT_JS`].
const LOADERS_START: &str = "async function __wbg_load(";

/// The JS build's entry point, in place of `initSync`/`init`.
const INIT_JS: &str = "\
/** Instantiates the engine compiled to JavaScript (`engine.js`'s `instantiate`) over this glue's imports. */
function initJs(instantiate) {
    if (wasm !== undefined) return wasm;
    return __wbg_finalize_init({ exports: instantiate(__wbg_get_imports()) }, undefined);
}

export { initJs };
";

/// The type of `initJs`, appended to the glue's declarations.
const INIT_JS_DECLARATION: &str = "\
/** Instantiates the engine compiled to JavaScript (`engine.js`'s `instantiate`) over this glue's imports. */
export function initJs(instantiate: (imports: object) => object): unknown;
";

/// wasm-bindgen 0.2.130's checks of its cached views, and what replaces them.
const VIEW_CHECKS: &[(&str, &str)] = &[
    (
        "cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0",
        "cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.buffer !== wasm.memory.buffer",
    ),
    (
        "cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)",
        "cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer !== wasm.memory.buffer",
    ),
];

/// The web glue (after the short names) made into the JS build's glue. Fails if
/// wasm-bindgen's output no longer has what is replaced.
pub fn patch_glue(glue: &str) -> Result<String> {
    let mut out = glue.to_owned();
    for (old, new) in VIEW_CHECKS {
        if out.matches(old).count() != 1 {
            return fail!(
                "the JS glue lacks the memory view check `{old}` (wasm-bindgen changed?)"
            );
        }
        out = out.replace(old, new);
    }
    let Some(at) = out.find(LOADERS_START) else {
        return fail!("the JS glue lacks `{LOADERS_START}` (wasm-bindgen changed?)");
    };
    out.truncate(at);
    out.push_str(INIT_JS);
    if out.contains("WebAssembly") || out.contains("import.meta") {
        return fail!("the JS build's glue still mentions WebAssembly or import.meta");
    }
    Ok(out)
}

/// The glue's type declarations, with `initJs` and without the wasm loaders' types
/// (they name `WebAssembly` types, which a JS-only build does not have).
pub fn patch_declarations(declarations: &str) -> String {
    let mut out = String::new();
    for line in declarations.lines() {
        if line.starts_with("export type InitInput")
            || line.starts_with("export type SyncInitInput")
        {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(INIT_JS_DECLARATION);
    out
}

/// `wasm2js`'s ES module (which imports the glue and instantiates at load) made into one
/// that exports `instantiate(imports)` and imports nothing.
pub fn instantiable(wasm2js: &str) -> Result<String> {
    const CALL: &str = "var retasmFunc = asmFunc(";
    let Some(at) = wasm2js.find(CALL) else {
        return fail!("wasm2js's output lacks `{CALL}`");
    };
    if !wasm2js.contains("function asmFunc(imports) {") {
        return fail!("wasm2js's output lacks `function asmFunc(imports)`");
    }
    let mut out = String::from(
        "// The chat engine (client-wasm) compiled to JavaScript by wasm2js; built by xtask, not edited.\n",
    );
    for line in wasm2js[..at].lines() {
        if !line.starts_with("import ") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("export function instantiate(imports) {\n  return asmFunc(imports);\n}\n");
    Ok(out)
}

/// A piece of the engine's data segment as `wasm2js` wrote it (the first base64 string of
/// 200 characters or more, its first 48), to find the engine in a bundle.
pub fn data_marker(engine_js: &str) -> Option<String> {
    let is_base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let bytes = engine_js.as_bytes();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        match (start, is_base64(b)) {
            (None, true) if i > 0 && bytes[i - 1] == b'"' => start = Some(i),
            (Some(s), false) => {
                if b == b'"' && i - s >= 200 {
                    return Some(engine_js[s..s + 48].to_owned());
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glue_loses_its_wasm_loaders_and_refreshes_views_on_a_new_buffer() {
        let glue = format!(
            "if ({}) {{}}\nif ({}) {{}}\nfunction __wbg_finalize_init() {{}}\n{LOADERS_START}m) {{ WebAssembly.instantiate(m); new URL('x', import.meta.url) }}\nexport {{ initSync, __wbg_init as default }};\n",
            VIEW_CHECKS[0].0, VIEW_CHECKS[1].0
        );
        let patched = patch_glue(&glue).expect("patched");
        assert!(patched.contains(VIEW_CHECKS[0].1) && patched.contains(VIEW_CHECKS[1].1));
        assert!(patched.ends_with(INIT_JS), "{patched}");
        assert!(!patched.contains("initSync"));
        assert!(patch_glue("function __wbg_finalize_init() {}").is_err());
    }

    #[test]
    fn the_wasm2js_module_exports_instantiate_and_imports_nothing() {
        let out = "import * as a from 'a';\n\nfunction asmFunc(imports) {\n return { f: 1 };\n}\n\nvar retasmFunc = asmFunc({\n  \"a\": a,\n});\nexport var f = retasmFunc.f;\n";
        let module = instantiable(out).expect("rewritten");
        assert!(!module.contains("import "), "{module}");
        assert!(!module.contains("retasmFunc"), "{module}");
        assert!(
            module.ends_with(
                "export function instantiate(imports) {\n  return asmFunc(imports);\n}\n"
            )
        );
        assert!(instantiable("export var x = 1;").is_err());
    }

    #[test]
    fn the_data_marker_is_the_start_of_the_first_long_base64_string() {
        let data = "QUJD".repeat(60);
        let js = format!("f(a,\"short\");g(b,1048576,\"{data}\");");
        assert_eq!(data_marker(&js).as_deref(), Some(&data[..48]));
        assert_eq!(data_marker("f(\"abc\")"), None);
    }

    #[test]
    fn the_declarations_lose_the_loaders_types_and_gain_init_js() {
        let types = "export class ChatEngine {}\nexport type InitInput = RequestInfo | WebAssembly.Module;\nexport interface InitOutput {}\n";
        let patched = patch_declarations(types);
        assert_eq!(
            patched,
            format!("export class ChatEngine {{}}\n{INIT_JS_DECLARATION}")
        );
    }
}
