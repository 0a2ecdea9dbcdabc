//! Short import and export names for the wasm package (`docs/CLIENT.md`, "Size").
//!
//! wasm-bindgen names each of the ~70 JS functions the wasm imports `__wbg_<name>_<16 hex
//! digits>` and exports closures' shims under names of ~200 characters; both files carry
//! every name, and hex does not compress. binaryen renames them all to one or two letters
//! and prints the mapping (`--minify-imports-and-exports-and-modules`, every import module
//! becoming `a`); this module applies that mapping to the JS glue, so the pair still fits.
//! About 2 KB of the gzipped package.

use crate::{Result, fail};

/// binaryen's name for the one import module after minifying.
const MODULE: &str = "a";
/// The import module wasm-bindgen's `--target web` glue provides.
const GLUE_MODULE: &str = "./client_wasm_bg.js";

/// `(old, new)` import and export names, read from binaryen's mapping.
#[derive(Debug, Default)]
pub struct Mapping {
    imports: Vec<(String, String)>,
    exports: Vec<(String, String)>,
}

/// Reads what `wasm-opt --minify-imports-and-exports-and-modules` prints: a JSON object
/// with `"imports": [[module, old, new], …]` and `"exports": [[old, new], …]`, one entry
/// a line. Anything else is an error: a changed format must not half-rename the glue.
pub fn parse_mapping(text: &str) -> Result<Mapping> {
    let mut mapping = Mapping::default();
    let mut section = None;
    for line in text.lines().map(str::trim) {
        match line {
            "{" | "}" | "]" | "]," | "" => continue,
            _ if line.starts_with("\"imports\"") => section = Some(true),
            _ if line.starts_with("\"exports\"") => section = Some(false),
            _ => {
                let strings = quoted_strings(line);
                match (section, strings.as_slice()) {
                    (Some(true), [module, old, new]) if module == GLUE_MODULE => {
                        mapping.imports.push((old.clone(), new.clone()))
                    }
                    (Some(false), [old, new]) => mapping.exports.push((old.clone(), new.clone())),
                    _ => return fail!("binaryen's name mapping has an unexpected line: {line}"),
                }
            }
        }
    }
    if mapping.exports.is_empty() {
        return fail!("binaryen printed no name mapping");
    }
    Ok(mapping)
}

/// The JSON strings of one line (binaryen writes names without escapes).
fn quoted_strings(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Renames, in wasm-bindgen's `--target web` glue, the import object's keys and module,
/// and every `wasm.<export>`. Fails if a name the glue uses is not in the mapping.
pub fn rename_glue(glue: &str, mapping: &Mapping) -> Result<String> {
    let module_key = format!("\"{GLUE_MODULE}\": import0");
    if !glue.contains(&module_key) {
        return fail!("the JS glue does not provide the import module {GLUE_MODULE}");
    }
    let mut out = glue.replace(&module_key, &format!("\"{MODULE}\": import0"));
    for (old, new) in &mapping.imports {
        let key = format!("\n        {old}: function(");
        if out.matches(&key).count() != 1 {
            return fail!("the JS glue does not define the import {old} once");
        }
        out = out.replace(&key, &format!("\n        \"{new}\": function("));
    }
    let out = rename_identifiers_after(&out, "wasm.", &mapping.exports)?;
    Ok(out)
}

/// Renames the identifier after each `prefix` by `renames`; an identifier missing from
/// them is an error.
fn rename_identifiers_after(
    text: &str,
    prefix: &str,
    renames: &[(String, String)],
) -> Result<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(is_ident) {
            continue; // e.g. `foo_wasm.` is not the wasm exports object
        }
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            continue; // prose, such as "… in wasm." in a doc comment
        }
        match renames.iter().find(|(old, _)| old == name) {
            Some((_, new)) => out.push_str(new),
            None => {
                return fail!(
                    "the JS glue uses the export wasm.{name}, which binaryen did not map"
                );
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renames the exports in wasm-bindgen's type declarations (`InitOutput`'s fields in
/// `client_wasm.d.ts`, the `export const`s of `client_wasm_bg.wasm.d.ts`), so the types
/// name what the module really exports.
pub fn rename_declarations(text: &str, mapping: &Mapping) -> String {
    text.lines()
        .map(|line| {
            for prefix in ["    readonly ", "export const "] {
                if let Some(rest) = line.strip_prefix(prefix)
                    && let Some((name, tail)) = rest.split_once(':')
                    && let Some((_, new)) = mapping.exports.iter().find(|(old, _)| old == name)
                {
                    return format!("{prefix}{new}:{tail}");
                }
            }
            line.to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPING: &str = r#"{
 "imports": [
  ["./client_wasm_bg.js", "__wbg_then_656f253a5dd7d8ea", "a"],
  ["./client_wasm_bg.js", "__wbg_warn_989f90394661741a", "$"]
 ],
"exports": [
  ["memory", "a"],
  ["chatengine_call", "b"],
  ["chatengine_call_more", "c"]
 ]
}
"#;

    #[test]
    fn the_glue_gets_the_short_names_of_the_mapping() {
        let mapping = parse_mapping(MAPPING).expect("the mapping reads");
        let glue = "function __wbg_get_imports() {\n    const import0 = {\n        __proto__: null,\n        __wbg_then_656f253a5dd7d8ea: function(a) { return wasm.chatengine_call_more(a); },\n        __wbg_warn_989f90394661741a: function() { wasm.memory; },\n    };\n    return { \"./client_wasm_bg.js\": import0 };\n}\nconst x = wasm.chatengine_call(1);\n";
        let renamed = rename_glue(glue, &mapping).expect("renamed");
        assert!(
            renamed.contains("\"a\": function(a) { return wasm.c(a); }"),
            "{renamed}"
        );
        assert!(
            renamed.contains("\"$\": function() { wasm.a; }"),
            "{renamed}"
        );
        assert!(renamed.contains("{ \"a\": import0 }"), "{renamed}");
        assert!(renamed.contains("const x = wasm.b(1);"), "{renamed}");
        let types = "export interface InitOutput {\n    readonly chatengine_call: (a: number) => void;\n}\nexport const memory: WebAssembly.Memory;\n";
        assert_eq!(
            rename_declarations(types, &mapping),
            "export interface InitOutput {\n    readonly b: (a: number) => void;\n}\nexport const a: WebAssembly.Memory;\n"
        );
    }

    #[test]
    fn an_unmapped_export_or_an_unknown_format_is_an_error() {
        let mapping = parse_mapping(MAPPING).expect("the mapping reads");
        let glue =
            "return { \"./client_wasm_bg.js\": import0 }; // in wasm.\nwasm.something_new();";
        assert!(rename_glue(glue, &mapping).is_err());
        assert!(parse_mapping("{\n \"imports\": [\n  [\"x\"]\n ]\n}").is_err());
        assert!(parse_mapping("").is_err());
    }
}
