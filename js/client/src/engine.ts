/**
 * Loading the wasm engine once and creating engines (SPEC.md section 5).
 *
 * The wasm class (client-wasm/src/web) exports one method, `call(command, a, b)`, rather
 * than one per engine method (each export cost a wasm-bindgen shim and glue: see
 * docs/CLIENT.md, "Size"). The typed class over it, the command numbers and the refusals'
 * texts are generated from client-wasm's lists (`./generated/bindings.ts`). The wasm side
 * validates the options and every argument; it throws a refusal's number, which this
 * module turns into a `ChatEngineError` with its text (texts cost no wasm here). This
 * module also picks the user the outbox is stored for.
 */
import init, { ChatEngine as WasmChatEngine, engineVersion as wasmEngineVersion, tokenUserId } from "../pkg/client_wasm.js";
import { ChatEngineError } from "./errors.js";
import { ChatEngineOverCall, REFUSALS, Refusal } from "./generated/bindings.js";
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
    throw refusal(Refusal.OptionsNotObject, options, undefined);
  }
  await loadEngine(options.wasm);
  let userId = options.userId;
  if (userId === undefined && options.storage !== "memory" && typeof options.getToken === "function") {
    userId = await userOfToken(options.getToken);
  }
  const { wasm: _wasm, ...engineOptions } = options;
  const withUser = userId === undefined ? engineOptions : { ...engineOptions, userId };
  try {
    return overWasm(new WasmChatEngine(withUser));
  } catch (thrown) {
    throw refusal(thrown, withUser, undefined);
  }
}

/** `ChatEngine` over the wasm class's one entry point; the wasm side checks the arguments. */
function overWasm(wasm: WasmChatEngine): ChatEngine {
  return new ChatEngineOverCall((command, a, b) => {
    try {
      return wasm.call(command, a, b);
    } catch (thrown) {
      throw refusal(thrown, a, b);
    }
  });
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

/** What to throw for a value the wasm side threw: a refusal's number becomes its `ChatEngineError`. */
function refusal(thrown: unknown, a: unknown, b: unknown): unknown {
  const known = typeof thrown === "number" ? REFUSALS[thrown - 1] : undefined;
  return known === undefined ? thrown : new ChatEngineError(known[0], known[1](a, b));
}
