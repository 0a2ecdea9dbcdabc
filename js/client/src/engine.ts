/**
 * Loading the wasm engine once and creating engines (SPEC.md section 5).
 *
 * The wasm class (client-wasm/src/web) exports one method, `call(command, a, b)`, rather
 * than one per engine method (each export cost a wasm-bindgen shim and glue: see
 * docs/CLIENT.md, "Size"). The typed class over it, the command numbers and the refusals'
 * texts are generated from client-wasm's lists (`./generated/bindings.ts`). The wasm side
 * validates the options and every argument; it throws a refusal's number, which this
 * module turns into a `ChatEngineError` with its text (texts cost no wasm here). This
 * module also picks the build (wasm, or the JS build where there is no `WebAssembly`),
 * the user the outbox is stored for, and the platform adapters (`platform.ts`).
 */
// First: both builds' glue decode strings with a TextDecoder when they load, which Hermes lacks.
import "./utf8.js";
import init, * as wasmBuild from "../pkg/client_wasm.js";
import { ChatEngineError } from "./errors.js";
import { ChatEngineOverCall, Command, REFUSALS, Refusal, type Call } from "./generated/bindings.js";
import { platformDefaults, type PlatformDefaults } from "./platform.js";
import { randomUuid } from "./tabs/checks.js";
import { isEnumerable, outboxKey, perTabOutbox, type EnumerableStorage } from "./tabs/outbox.js";
import { browserCoordination, createSharedEngine, type Coordination } from "./tabs/shared.js";
import type { ChatEngine, ChatEngineOptions, KeyValueStorage, Lifecycle, Reachability, Unsubscribe, WasmSource } from "./types.js";

/** What both builds export: the engine class and two functions. */
type Build = Pick<typeof wasmBuild, "ChatEngine" | "engineVersion" | "tokenUserId">;

/** Which build of the engine runs here: see `engineBuild`. */
export type EngineBuild = "wasm" | "js";

let build: Build | undefined;
let loading: Promise<void> | undefined;

/**
 * `"wasm"` where the JS engine has `WebAssembly` (browsers, Node), else `"js"`: the same
 * Rust engine compiled to JavaScript by wasm2js (Hermes on iOS and Android). Decided when
 * the engine loads.
 */
export function engineBuild(): EngineBuild {
  return typeof WebAssembly === "object" && WebAssembly !== null ? "wasm" : "js";
}

/**
 * Loads the engine. Safe to call many times: it is loaded once. With `WebAssembly`, the
 * wasm module: pass its URL explicitly under bundlers that rewrite `import.meta.url`
 * (Metro), or its bytes in Node. Without (Hermes), the JS build (`source` is not used).
 */
export function loadEngine(source?: WasmSource): Promise<void> {
  loading ??= (engineBuild() === "wasm" ? loadWasm(source) : loadJs()).then(
    (loaded) => {
      build = loaded;
    },
    (error: unknown) => {
      loading = undefined; // let a later call try again (e.g. with the right URL)
      throw error;
    },
  );
  return loading;
}

async function loadWasm(source: WasmSource | undefined): Promise<Build> {
  await init(source === undefined ? undefined : { module_or_path: source });
  return wasmBuild;
}

/** The JS build: its glue instantiates the wasm2js module over its imports. */
async function loadJs(): Promise<Build> {
  const [glue, compiled] = await Promise.all([import("../pkg-js/client_wasm.js"), import("../pkg-js/engine.js")]);
  glue.initJs(compiled.instantiate);
  return glue;
}

function loaded(): Build {
  if (build === undefined) throw new Error("the chat engine is not loaded yet: await loadEngine() or createChatEngine() first");
  return build;
}

/** The engine's version. Throws if `loadEngine` has not finished. */
export function engineVersion(): string {
  return loaded().engineVersion();
}

/**
 * Creates an engine (disconnected; call `connect()` or mount `useSocketIO`). Rejects with
 * a `ChatEngineError` (code `invalid_options`) on bad options: no URL, a `getToken` that is
 * not a function, an unknown `storage` or `transport`, or an adapter this platform needs
 * and lacks (on iOS and Android: `expo-sqlite` for the outbox, `expo-network` for
 * reachability, unless `storage`/`reachability` are given).
 *
 * The outbox is stored per server URL and user: the user is `options.userId`, or else the
 * `userId` claim of the token `getToken()` gives now (it is asked once more here).
 */
export async function createChatEngine(options: ChatEngineOptions): Promise<ChatEngine> {
  return createWith(options, platformDefaults());
}

/**
 * `createChatEngine` over given platform defaults and tab coordination (the tests pass
 * their own).
 */
export async function createWith(
  options: ChatEngineOptions,
  defaults: PlatformDefaults,
  coordination: Coordination | undefined = browserCoordination(),
): Promise<ChatEngine> {
  if (typeof options !== "object" || options === null) {
    throw refusal(Refusal.OptionsNotObject, options, undefined);
  }
  const storage = options.storage ?? orMissing(defaults.storage(), defaults, "storage");
  const reachability =
    options.reachability === undefined
      ? orMissing(defaults.reachability(), defaults, "reachability")
      : adapter(options.reachability);
  const lifecycle = options.lifecycle === undefined ? (defaults.lifecycle() ?? null) : adapter(options.lifecycle);
  await loadEngine(options.wasm);
  let userId = options.userId;
  if (userId === undefined && options.storage !== "memory" && typeof options.getToken === "function") {
    userId = await userOfToken(options.getToken);
  }
  const { wasm: _wasm, reachability: _r, lifecycle: _l, shareTabs: _s, ...rest } = options;
  const engineOptions = { ...rest, storage, ...(userId === undefined ? {} : { userId }) };
  const tabStore = options.storage === undefined || options.storage === "local" ? enumerable(defaults.storage()) : undefined;
  if (tabStore === undefined || userId === undefined) {
    return new ChatEngineOverCall(callOver(construct(engineOptions), reachability, lifecycle));
  }
  // localStorage: one outbox key per tab, merged on start (tabs/outbox.ts); and where the
  // browser can, one engine for all the tabs of this user on this server (tabs/shared.ts).
  const ownOutbox = { ...engineOptions, storage: perTabOutbox(tabStore, outboxKey(options.url, userId), randomUuid()) };
  if (coordination === undefined || options.shareTabs === false) {
    return new ChatEngineOverCall(callOver(construct(ownOutbox), reachability, lifecycle));
  }
  // A follower runs no engine, so the options are checked here as the engine would.
  const probe = construct({ ...engineOptions, storage: "memory" });
  probe.call(Command.Destroy, undefined, undefined);
  probe.free();
  const call = await createSharedEngine({
    url: options.url,
    userId,
    transport: options.transport ?? "websocket",
    startEngine: () => callOver(construct(ownOutbox), reachability, lifecycle),
    refusal,
    coordination,
  });
  return new ChatEngineOverCall(call);
}

function construct(engineOptions: object): InstanceType<Build["ChatEngine"]> {
  try {
    return new (loaded().ChatEngine)(engineOptions);
  } catch (thrown) {
    throw refusal(thrown, engineOptions, undefined);
  }
}

/** The store if it is one whose keys can be listed (`localStorage`). */
function enumerable(store: KeyValueStorage | "memory" | undefined): EnumerableStorage | undefined {
  return store !== undefined && store !== "memory" && isEnumerable(store) ? store : undefined;
}

/** An adapter the app gave: a function, or `null` (watch nothing). */
function adapter<T>(given: T | null): T | null {
  if (given === null || typeof given === "function") return given;
  throw new ChatEngineError("invalid_options", "createChatEngine: `reachability` and `lifecycle` must be functions (TanStack Query's setEventListener shape) or null");
}

const INSTALL: Record<"storage" | "reachability", string> = {
  storage:
    "the outbox needs synchronous key-value storage, and expo-sqlite is not installed: run `npx expo install expo-sqlite`, or pass `storage` (an object with getItem, setItem and removeItem), or `storage: \"memory\"` to keep unsent messages in memory only",
  reachability:
    "reachability comes from expo-network, which is not installed: run `npx expo install expo-network`, or pass `reachability` (a function given setOnline), or `reachability: null` to watch nothing",
};

/** A default, unless the platform needs it and has none (`undefined`; `null` is "nothing to watch"). */
function orMissing<T>(value: T | undefined, defaults: PlatformDefaults, adapter: "storage" | "reachability"): T {
  if (value !== undefined) return value;
  throw new ChatEngineError("invalid_options", `createChatEngine on ${defaults.platform === "native" ? "iOS/Android" : "this platform"}: ${INSTALL[adapter]}`);
}
/**
 * The wasm class's one entry point, refusals turned into `ChatEngineError`s; the wasm
 * side checks the arguments. The adapters feed `setOnline` and `foreground` until `destroy`.
 */
function callOver(wasm: InstanceType<Build["ChatEngine"]>, reachability: Reachability | null, lifecycle: Lifecycle | null): Call {
  const stops: Unsubscribe[] = [];
  const call = (command: number, a: unknown, b: unknown): unknown => {
    if (command === Command.Destroy) for (const stop of stops.splice(0)) stop();
    try {
      return wasm.call(command, a, b);
    } catch (thrown) {
      throw refusal(thrown, a, b);
    }
  };
  if (reachability !== null) stops.push(reachability((online) => call(Command.SetOnline, online === true, undefined)));
  if (lifecycle !== null) stops.push(lifecycle(() => call(Command.Foreground, undefined, undefined)));
  return call;
}

async function userOfToken(getToken: ChatEngineOptions["getToken"]): Promise<number | undefined> {
  try {
    const token = await getToken();
    if (typeof token !== "string") return undefined;
    return loaded().tokenUserId(token) ?? undefined;
  } catch {
    return undefined; // the first connect will ask again and report the failure
  }
}

/** What to throw for a value the wasm side threw: a refusal's number becomes its `ChatEngineError`. */
function refusal(thrown: unknown, a: unknown, b: unknown): unknown {
  const known = typeof thrown === "number" ? REFUSALS[thrown - 1] : undefined;
  return known === undefined ? thrown : new ChatEngineError(known[0], known[1](a, b));
}
