/**
 * Loading the wasm engine once and creating engines (SPEC.md section 5).
 *
 * The engine itself is the wasm class `ChatEngine` (client-wasm/src/web): it validates
 * its options and every argument and throws `ChatEngineError`s. This module only loads
 * the module and picks the user the outbox is stored for.
 */
import init, { ChatEngine as WasmChatEngine, engineVersion as wasmEngineVersion, tokenUserId } from "../pkg/client_wasm.js";
import type { ChatEngine, ChatEngineOptions, WasmSource } from "./types.js";

let loading: Promise<void> | undefined;

/**
 * Loads the wasm engine. Safe to call many times: the module is instantiated once. Pass
 * the module's URL explicitly under bundlers that rewrite `import.meta.url` (Metro), or
 * its bytes in Node.
 */
export function loadEngine(source?: WasmSource): Promise<void> {
  loading ??= init(source === undefined ? undefined : { module_or_path: source }).then(
    () => undefined,
    (error: unknown) => {
      loading = undefined; // let a later call try again (e.g. with the right URL)
      throw error;
    },
  );
  return loading;
}

/** The engine's version. Throws if `loadEngine` has not finished. */
export function engineVersion(): string {
  return wasmEngineVersion();
}

/**
 * Creates an engine (disconnected; call `connect()` or mount `useSocketIO`). Rejects with
 * a `ChatEngineError` (code `invalid_options`) on bad options: no URL, a `getToken` that is
 * not a function, an unknown `storage` or `transport`.
 *
 * The outbox is stored per server URL and user: the user is `options.userId`, or else the
 * `userId` claim of the token `getToken()` gives now (it is asked once more here).
 */
export async function createChatEngine(options: ChatEngineOptions): Promise<ChatEngine> {
  if (typeof options !== "object" || options === null) {
    throw optionsError("options must be an object like { url, getToken, storage }");
  }
  await loadEngine(options.wasm);
  let userId = options.userId;
  if (userId === undefined && options.storage !== "memory" && typeof options.getToken === "function") {
    userId = await userOfToken(options.getToken);
  }
  const { wasm: _wasm, ...engineOptions } = options;
  const engine: ChatEngine = new WasmChatEngine(userId === undefined ? engineOptions : { ...engineOptions, userId });
  return engine;
}

async function userOfToken(getToken: ChatEngineOptions["getToken"]): Promise<number | undefined> {
  try {
    const token = await getToken();
    if (typeof token !== "string") return undefined;
    return tokenUserId(token) ?? undefined;
  } catch {
    return undefined; // the first connect will ask again and report the failure
  }
}

function optionsError(message: string): Error {
  const error = new Error(`createChatEngine: ${message}`);
  error.name = "ChatEngineError";
  return Object.assign(error, { code: "invalid_options" as const });
}
