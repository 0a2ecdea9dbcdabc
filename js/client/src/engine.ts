/**
 * Loading the wasm engine once and creating engines (SPEC.md section 5).
 *
 * The wasm class (client-wasm/src/web) exports one method, `call(command, a, b)`, rather
 * than one per engine method (each export cost a wasm-bindgen shim and glue: see
 * docs/CLIENT.md, "Size"). `Engine` below is the typed class over it. The wasm side
 * validates the options and every argument; it throws a refusal's number, which this
 * module turns into a `ChatEngineError` with its text (texts cost no wasm here). This
 * module also picks the user the outbox is stored for.
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
    throw refusal(NOT_AN_OBJECT, options, undefined);
  }
  await loadEngine(options.wasm);
  let userId = options.userId;
  if (userId === undefined && options.storage !== "memory" && typeof options.getToken === "function") {
    userId = await userOfToken(options.getToken);
  }
  const { wasm: _wasm, ...engineOptions } = options;
  const withUser = userId === undefined ? engineOptions : { ...engineOptions, userId };
  try {
    return new Engine(new WasmChatEngine(withUser));
  } catch (thrown) {
    throw refusal(thrown, withUser, undefined);
  }
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

  #call(command: number, a?: unknown, b?: unknown): unknown {
    try {
      return this.#wasm.call(command, a, b);
    } catch (thrown) {
      throw refusal(thrown, a, b);
    }
  }

  connect(): void {
    this.#call(Command.Connect);
  }
  disconnect(): void {
    this.#call(Command.Disconnect);
  }
  setToken(token: string): void {
    this.#call(Command.SetToken, token);
  }
  join(conversationId: number): void {
    this.#call(Command.Join, conversationId);
  }
  leave(conversationId: number): void {
    this.#call(Command.Leave, conversationId);
  }
  send(conversationId: number, text: string): string {
    return this.#call(Command.Send, conversationId, text) as string;
  }
  retry(clientMessageId: string): boolean {
    return this.#call(Command.Retry, clientMessageId) as boolean;
  }
  typing(conversationId: number): void {
    this.#call(Command.Typing, conversationId);
  }
  markRead(messageId: number): void {
    this.#call(Command.MarkRead, messageId);
  }
  loadOlder(conversationId: number): boolean {
    return this.#call(Command.LoadOlder, conversationId) as boolean;
  }
  setParticipants(conversationId: number, userIds: readonly number[]): void {
    this.#call(Command.SetParticipants, conversationId, userIds);
  }
  subscribe(listener: () => void): Unsubscribe {
    return this.#call(Command.Subscribe, listener) as Unsubscribe;
  }
  getSnapshot(): EngineSnapshot {
    return this.#call(Command.GetSnapshot) as EngineSnapshot;
  }
  getConversation(conversationId: number): ConversationSnapshot | undefined {
    return this.#call(Command.GetConversation, conversationId) as ConversationSnapshot | undefined;
  }
  onEvent(listener: (event: EngineEvent) => void): Unsubscribe {
    return this.#call(Command.OnEvent, listener) as Unsubscribe;
  }
  get userId(): number | null {
    return this.#call(Command.UserId) as number | null;
  }
  get transport(): Transport {
    return this.#call(Command.Transport) as Transport;
  }
  destroy(): void {
    this.#call(Command.Destroy);
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

type RefusalCode = "invalid_options" | "invalid_argument" | "invalid_text" | "destroyed";

function engineError(code: RefusalCode, message: string): Error {
  const error = new Error(message);
  error.name = "ChatEngineError";
  return Object.assign(error, { code });
}

/** A bad value for an error message: its type, or a short string or number (never its whole content). */
function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `the string "${[...value].slice(0, 40).join("")}"`;
  if (value === null) return "null";
  return typeof value;
}

const field = (options: unknown, name: string): unknown => (options as Record<string, unknown>)[name];
const isPositiveInteger = (value: unknown): boolean =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= Number.MAX_SAFE_INTEGER;
const unsent = (reason: string): [RefusalCode, (a: unknown, b: unknown) => string] => [
  "invalid_text",
  () => `the message cannot be sent: ${reason}`,
];

/**
 * The refusals of the wasm side (`WebError` in client-wasm/src/web/error.rs, numbered from
 * 1 in its order): the error code, and the message from the call's arguments (for
 * `new ChatEngine`, `a` is the options).
 */
const REFUSALS: readonly (readonly [RefusalCode, (a: unknown, b: unknown) => string])[] = [
  ["invalid_options", () => "createChatEngine: options must be an object like { url, getToken, storage }"],
  ["invalid_options", () => "createChatEngine: `url` must be the server's URL as a string"],
  ["invalid_options", (o) => `createChatEngine: \`url\` must start with http:// or https:// (got "${String(field(o, "url")).trim()}")`],
  ["invalid_options", () => "createChatEngine: `getToken` must be a function returning a token (or a Promise of one)"],
  ["invalid_options", (o) => `createChatEngine: \`storage\` must be "local" or "memory" (got ${describe(field(o, "storage"))})`],
  ["invalid_options", (o) => `createChatEngine: \`transport\` must be "websocket" or "http" (got ${describe(field(o, "transport"))})`],
  ["invalid_options", (o) => `createChatEngine: \`userId\` must be a positive integer (got ${describe(field(o, "userId"))})`],
  [
    "invalid_options",
    (o) => `createChatEngine: \`pollIntervalMs\` must be a number of milliseconds from 50 to 3600000 (got ${describe(field(o, "pollIntervalMs"))})`,
  ],
  ["invalid_argument", (a) => `a conversation id must be a positive integer (got ${describe(a)})`],
  ["invalid_argument", (a) => `a message id must be a positive integer (got ${describe(a)})`],
  ["invalid_argument", (_, b) => `user ids must be an array of positive integers (got ${describe(b)})`],
  [
    "invalid_argument",
    (_, b) => `a user id must be a positive integer (got ${describe((b as unknown[]).find((id) => !isPositiveInteger(id)))})`,
  ],
  ["invalid_argument", (_, b) => `the message text must be a string (got ${describe(b)})`],
  ["invalid_argument", (a) => `a token must be a non-empty string (got ${describe(a)})`],
  ["invalid_argument", (a) => `a clientMessageId must be a UUID string (got ${describe(a)})`],
  ["invalid_argument", () => "a subscriber must be a function"],
  ["invalid_argument", () => "an event listener must be a function"],
  unsent("text must not be empty"),
  unsent("text is longer than 1000 characters"),
  unsent("text contains control characters"),
  ["destroyed", () => "the chat engine was destroyed"],
];

/** `WebError::OptionsNotObject`, which `createChatEngine` finds before loading the wasm. */
const NOT_AN_OBJECT = 1;

/** What to throw for a value the wasm side threw: a refusal's number becomes its `ChatEngineError`. */
function refusal(thrown: unknown, a: unknown, b: unknown): unknown {
  const known = typeof thrown === "number" ? REFUSALS[thrown - 1] : undefined;
  return known === undefined ? thrown : engineError(known[0], known[1](a, b));
}
