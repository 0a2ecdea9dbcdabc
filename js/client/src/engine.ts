/**
 * Loading the wasm engine once and creating engines (SPEC.md section 5).
 *
 * The wasm class (client-wasm/src/web) exports one method, `call(command, a, b)`, rather
 * than one per engine method (each export cost a wasm-bindgen shim and glue: see
 * docs/CLIENT.md, "Size"). `Engine` below is the typed class over it. The wasm side
 * validates the options and every argument and throws `ChatEngineError`s. This module
 * also picks the user the outbox is stored for.
 */
import init, { ChatEngine as WasmChatEngine, engineVersion as wasmEngineVersion, tokenUserId } from "../pkg/client_wasm.js";
import type {
  ChatEngine,
  ChatEngineOptions,
  ConversationSnapshot,
  EngineEvent,
  EngineSnapshot,
  Transport,
  Unsubscribe,
  WasmSource,
} from "./types.js";

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
  return new Engine(new WasmChatEngine(userId === undefined ? engineOptions : { ...engineOptions, userId }));
}

/** The numbers of `ChatEngine::call` (client-wasm/src/web/mod.rs), in its order. */
const Command = {
  Connect: 0,
  Disconnect: 1,
  SetToken: 2,
  Join: 3,
  Leave: 4,
  Send: 5,
  Retry: 6,
  Typing: 7,
  MarkRead: 8,
  LoadOlder: 9,
  SetParticipants: 10,
  Subscribe: 11,
  OnEvent: 12,
  GetSnapshot: 13,
  GetConversation: 14,
  UserId: 15,
  Transport: 16,
  Destroy: 17,
} as const;

/** `ChatEngine` over the wasm class's one entry point; the wasm side checks the arguments. */
class Engine implements ChatEngine {
  readonly #wasm: WasmChatEngine;

  constructor(wasm: WasmChatEngine) {
    this.#wasm = wasm;
  }

  connect(): void {
    this.#wasm.call(Command.Connect, undefined, undefined);
  }
  disconnect(): void {
    this.#wasm.call(Command.Disconnect, undefined, undefined);
  }
  setToken(token: string): void {
    this.#wasm.call(Command.SetToken, token, undefined);
  }
  join(conversationId: number): void {
    this.#wasm.call(Command.Join, conversationId, undefined);
  }
  leave(conversationId: number): void {
    this.#wasm.call(Command.Leave, conversationId, undefined);
  }
  send(conversationId: number, text: string): string {
    return this.#wasm.call(Command.Send, conversationId, text) as string;
  }
  retry(clientMessageId: string): boolean {
    return this.#wasm.call(Command.Retry, clientMessageId, undefined) as boolean;
  }
  typing(conversationId: number): void {
    this.#wasm.call(Command.Typing, conversationId, undefined);
  }
  markRead(messageId: number): void {
    this.#wasm.call(Command.MarkRead, messageId, undefined);
  }
  loadOlder(conversationId: number): boolean {
    return this.#wasm.call(Command.LoadOlder, conversationId, undefined) as boolean;
  }
  setParticipants(conversationId: number, userIds: readonly number[]): void {
    this.#wasm.call(Command.SetParticipants, conversationId, userIds);
  }
  subscribe(listener: () => void): Unsubscribe {
    return this.#wasm.call(Command.Subscribe, listener, undefined) as Unsubscribe;
  }
  getSnapshot(): EngineSnapshot {
    return this.#wasm.call(Command.GetSnapshot, undefined, undefined) as EngineSnapshot;
  }
  getConversation(conversationId: number): ConversationSnapshot | undefined {
    return this.#wasm.call(Command.GetConversation, conversationId, undefined) as ConversationSnapshot | undefined;
  }
  onEvent(listener: (event: EngineEvent) => void): Unsubscribe {
    return this.#wasm.call(Command.OnEvent, listener, undefined) as Unsubscribe;
  }
  get userId(): number | null {
    return this.#wasm.call(Command.UserId, undefined, undefined) as number | null;
  }
  get transport(): Transport {
    return this.#wasm.call(Command.Transport, undefined, undefined) as Transport;
  }
  destroy(): void {
    this.#wasm.call(Command.Destroy, undefined, undefined);
  }
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
