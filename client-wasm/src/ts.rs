//! Renders [`COMMANDS`] and [`REFUSALS`] as TypeScript: js/client/src/generated/bindings.ts
//! holds the command numbers, the refusal numbers, codes and message builders, the
//! `ChatEngine` interface with its docs, and the class over the wasm's `call`.
//!
//! The file is committed; `tests/bindings_ts.rs` renders it and fails when it differs
//! (`UPDATE_BINDINGS=1 cargo test -p client-wasm --test bindings_ts` rewrites it). Native
//! only: nothing here reaches the wasm.

use crate::commands::{COMMANDS, Command, INTERFACE_DOC};
use crate::refusals::{REFUSALS, Refusal};
use std::fmt::Write;

/// Where the rendered file lives, from the workspace root.
pub const PATH: &str = "js/client/src/generated/bindings.ts";

/// The whole file.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    render_imports(&mut out);
    render_command_numbers(&mut out);
    render_refusals(&mut out);
    render_interface(&mut out);
    render_class(&mut out);
    out
}

const HEADER: &str = "\
// Generated from client-wasm/src/commands.rs and client-wasm/src/refusals.rs by
// client-wasm/src/ts.rs. Do not edit: change those lists, then run
// `UPDATE_BINDINGS=1 cargo test -p client-wasm --test bindings_ts`.
";

fn render_imports(out: &mut String) {
    let mut types: Vec<&str> = COMMANDS
        .iter()
        .flat_map(|c| c.params.iter().map(|p| p.ts).chain([c.returns]))
        .flat_map(|ts| ts.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|word| word.starts_with(|c: char| c.is_ascii_uppercase()))
        .collect();
    types.sort_unstable();
    types.dedup();
    let _ = writeln!(
        out,
        "import type {{ {} }} from \"../types.js\";",
        types.join(", ")
    );
    out.push_str("import { describe, field, firstBadId } from \"../errors.js\";\n");
}

fn render_command_numbers(out: &mut String) {
    out.push_str("\n/** The numbers of the wasm's `ChatEngine.call(command, a, b)`. */\n");
    out.push_str("export const Command = {\n");
    for command in COMMANDS {
        let _ = writeln!(out, "  {}: {},", pascal_case(command.name), command.number);
    }
    out.push_str("} as const;\n");
}

fn render_refusals(out: &mut String) {
    out.push_str("\n/** The numbers the wasm throws (`WebError`). */\n");
    out.push_str("export const Refusal = {\n");
    for refusal in REFUSALS {
        let _ = writeln!(out, "  {}: {},", refusal.name, refusal.error as u32);
    }
    out.push_str("} as const;\n");

    let mut codes: Vec<&str> = REFUSALS.iter().map(|r| r.error.code()).collect();
    codes.dedup();
    let codes: Vec<String> = codes.iter().map(|c| format!("\"{c}\"")).collect();
    out.push_str("\n/** The `code` of a `ChatEngineError`: what kind of refusal it is. */\n");
    let _ = writeln!(
        out,
        "export type ChatEngineErrorCode = {};",
        codes.join(" | ")
    );

    out.push_str(
        "\n/**\n * Each refusal's code and message, by number (`REFUSALS[n - 1]`). `a` and `b` are the\n * call's arguments (for `new ChatEngine`, `a` is the options).\n */\n",
    );
    out.push_str("export const REFUSALS: readonly (readonly [ChatEngineErrorCode, (a: unknown, b: unknown) => string])[] = [\n");
    for refusal in REFUSALS {
        let _ = writeln!(
            out,
            "  [\"{}\", {}],",
            refusal.error.code(),
            message_builder(refusal)
        );
    }
    out.push_str("];\n");
}

/// A template as an arrow function of the call's arguments `a` and `b`.
fn message_builder(refusal: &Refusal) -> String {
    let mut body = String::new();
    let (mut uses_a, mut uses_b) = (false, false);
    let mut rest = refusal.template;
    while let Some(open) = rest.find('{') {
        let placeholder = rest[open + 1..]
            .find('}')
            .map(|close| &rest[open + 1..open + 1 + close])
            .filter(|name| is_placeholder(name));
        let Some(name) = placeholder else {
            body.push_str(&escape_template(&rest[..=open]));
            rest = &rest[open + 1..];
            continue;
        };
        body.push_str(&escape_template(&rest[..open]));
        let (expression, reads_b) = match name.split_once(':') {
            None if name == "a" || name == "b" => (format!("describe({name})"), name == "b"),
            None => (format!("describe({})", option(name, refusal)), false),
            Some((value, "trimmed")) => {
                (format!("String({}).trim()", option(value, refusal)), false)
            }
            Some(("b", "first_bad_id")) => ("describe(firstBadId(b))".to_owned(), true),
            Some(_) => panic!(
                "refusal {}: unknown placeholder {{{name}}} (client-wasm/src/refusals.rs lists them)",
                refusal.name
            ),
        };
        if reads_b {
            uses_b = true;
        } else {
            uses_a = true;
        }
        let _ = write!(body, "${{{expression}}}");
        rest = &rest[open + name.len() + 2..];
    }
    body.push_str(&escape_template(rest));
    let params = match (uses_a, uses_b) {
        (false, false) => "()",
        (true, false) => "(a)",
        (false, true) => "(_, b)",
        (true, true) => "(a, b)",
    };
    if uses_a || uses_b {
        format!("{params} => `{body}`")
    } else {
        format!("{params} => \"{}\"", refusal.template.replace('"', "\\\""))
    }
}

/// `{options.NAME}` reads the option `NAME` of the options object `a`.
fn option(name: &str, refusal: &Refusal) -> String {
    match name.strip_prefix("options.") {
        Some(field) => format!("field(a, \"{field}\")"),
        None => panic!(
            "refusal {}: unknown placeholder value `{name}` (a, b or options.NAME)",
            refusal.name
        ),
    }
}

/// A `{` starts a placeholder only when a name (letters, digits, `.`, `:`, `_`) and `}`
/// follow: `{ url, getToken }` in a message is text.
fn is_placeholder(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_'))
}

/// Text inside a JS template literal.
fn escape_template(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('`', "\\`")
        .replace("${", "\\${")
}

fn render_interface(out: &mut String) {
    out.push('\n');
    render_doc(out, "", &INTERFACE_DOC.lines().collect::<Vec<_>>());
    out.push_str("export interface ChatEngine {\n");
    for command in COMMANDS {
        render_doc(out, "  ", command.doc);
        if command.getter {
            let _ = writeln!(
                out,
                "  readonly {}: {};",
                camel_case(command.name),
                command.returns
            );
        } else {
            let _ = writeln!(out, "  {};", signature(command));
        }
    }
    out.push_str("}\n");
}

fn render_class(out: &mut String) {
    out.push_str(
        "\n/** The wasm's one entry point, with refusals already turned into `ChatEngineError`s. */\n",
    );
    out.push_str("export type Call = (command: number, a?: unknown, b?: unknown) => unknown;\n");
    out.push_str(
        "\n/** `ChatEngine` over `call`: one command number per method; the wasm side checks the arguments. */\n",
    );
    out.push_str("export class ChatEngineOverCall implements ChatEngine {\n");
    out.push_str("  readonly #call: Call;\n\n");
    out.push_str("  constructor(call: Call) {\n    this.#call = call;\n  }\n\n");
    for command in COMMANDS {
        let arguments: String = command
            .params
            .iter()
            .map(|p| format!(", {}", camel_case(p.name)))
            .collect();
        let call = format!(
            "this.#call(Command.{}{arguments})",
            pascal_case(command.name)
        );
        let head = if command.getter {
            assert!(
                command.params.is_empty(),
                "getter {} takes no parameters",
                command.name
            );
            format!("get {}(): {}", camel_case(command.name), command.returns)
        } else {
            signature(command)
        };
        let body = match command.returns {
            "void" => format!("{call};"),
            returns => format!("return {call} as {returns};"),
        };
        let _ = writeln!(out, "  {head} {{\n    {body}\n  }}");
    }
    out.push_str("}\n");
}

fn signature(command: &Command) -> String {
    let params: Vec<String> = command
        .params
        .iter()
        .map(|p| format!("{}: {}", camel_case(p.name), p.ts))
        .collect();
    format!(
        "{}({}): {}",
        camel_case(command.name),
        params.join(", "),
        command.returns
    )
}

/// A JSDoc comment from doc lines (as rustdoc has them: a leading space each).
fn render_doc(out: &mut String, indent: &str, lines: &[&str]) {
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    match lines.as_slice() {
        [] => {}
        [line] => {
            let _ = writeln!(out, "{indent}/** {line} */");
        }
        lines => {
            let _ = writeln!(out, "{indent}/**");
            for line in lines {
                let _ = writeln!(out, "{indent} * {line}");
            }
            let _ = writeln!(out, "{indent} */");
        }
    }
}

/// `set_participants` → `setParticipants`.
pub fn camel_case(snake: &str) -> String {
    let pascal = pascal_case(snake);
    let mut chars = pascal.chars();
    chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `set_participants` → `SetParticipants`.
pub fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
