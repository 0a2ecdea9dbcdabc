/**
 * chat-client: the chat engine (Rust, compiled to WebAssembly) behind a small JS API.
 *
 * Layout:
 * - `loadEngine`: loads and instantiates the wasm module once.
 * - `engineVersion`: the engine's version, a cheap liveness check.
 */
import init, { engineVersion as wasmEngineVersion } from "../pkg/client_wasm.js";

/** Where the wasm module comes from: a URL (browsers, bundlers) or its bytes (Node). */
export type WasmSource = string | URL | Response | BufferSource | WebAssembly.Module;

let loading: Promise<void> | undefined;

/**
 * Loads the wasm engine. Safe to call many times: the module is instantiated once. Pass
 * the module's URL explicitly under bundlers that rewrite `import.meta.url` (Metro).
 */
export function loadEngine(source?: WasmSource): Promise<void> {
  loading ??= init(source === undefined ? undefined : { module_or_path: source }).then(() => undefined);
  return loading;
}

/** The engine's version. Throws if `loadEngine` has not finished. */
export function engineVersion(): string {
  return wasmEngineVersion();
}
