// Generated from client-wasm/src/commands.rs and client-wasm/src/refusals.rs by
// client-wasm/src/ts.rs. Do not edit: change those lists, then run
// `UPDATE_BINDINGS=1 cargo test -p client-wasm --test bindings_ts`.
import type { ConversationSnapshot, EngineEvent, EngineSnapshot, Transport, Unsubscribe } from "../types.js";
import { describe, field, firstBadId } from "../errors.js";

/** The numbers of the wasm's `ChatEngine.call(command, a, b)`. */
export const Command = {
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
  SetOnline: 18,
  Foreground: 19,
  MarkConversationRead: 20,
  SendAs: 21,
} as const;

/** The numbers the wasm throws (`WebError`). */
export const Refusal = {
  OptionsNotObject: 1,
  Url: 2,
  UrlScheme: 3,
  GetToken: 4,
  Storage: 5,
  Transport: 6,
  UserId: 7,
  PollInterval: 8,
  ConversationId: 9,
  MessageId: 10,
  UserIds: 11,
  UserIdsItem: 12,
  Text: 13,
  Token: 14,
  ClientMessageId: 15,
  Subscriber: 16,
  EventListener: 17,
  Online: 18,
  TextEmpty: 19,
  TextTooLong: 20,
  TextControlCharacter: 21,
  Destroyed: 22,
} as const;

/** The `code` of a `ChatEngineError`: what kind of refusal it is. */
export type ChatEngineErrorCode = "invalid_options" | "invalid_argument" | "invalid_text" | "destroyed";

/**
 * Each refusal's code and message, by number (`REFUSALS[n - 1]`). `a` and `b` are the
 * call's arguments (for `new ChatEngine`, `a` is the options).
 */
export const REFUSALS: readonly (readonly [ChatEngineErrorCode, (a: unknown, b: unknown) => string])[] = [
  ["invalid_options", () => "createChatEngine: options must be an object like { url, getToken, storage }"],
  ["invalid_options", () => "createChatEngine: `url` must be the server's URL as a string"],
  ["invalid_options", (a) => `createChatEngine: \`url\` must start with http:// or https:// (got "${String(field(a, "url")).trim()}")`],
  ["invalid_options", () => "createChatEngine: `getToken` must be a function returning a token (or a Promise of one)"],
  ["invalid_options", (a) => `createChatEngine: \`storage\` must be "local", "memory" or an object with getItem, setItem and removeItem functions (got ${describe(field(a, "storage"))})`],
  ["invalid_options", (a) => `createChatEngine: \`transport\` must be "websocket" or "http" (got ${describe(field(a, "transport"))})`],
  ["invalid_options", (a) => `createChatEngine: \`userId\` must be a positive integer (got ${describe(field(a, "userId"))})`],
  ["invalid_options", (a) => `createChatEngine: \`pollIntervalMs\` must be a number of milliseconds from 50 to 3600000 (got ${describe(field(a, "pollIntervalMs"))})`],
  ["invalid_argument", (a) => `a conversation id must be a positive integer (got ${describe(a)})`],
  ["invalid_argument", (a) => `a message id must be a positive integer (got ${describe(a)})`],
  ["invalid_argument", (_, b) => `user ids must be an array of positive integers (got ${describe(b)})`],
  ["invalid_argument", (_, b) => `a user id must be a positive integer (got ${describe(firstBadId(b))})`],
  ["invalid_argument", (_, b) => `the message text must be a string (got ${describe(b)})`],
  ["invalid_argument", (a) => `a token must be a non-empty string (got ${describe(a)})`],
  ["invalid_argument", (a) => `a clientMessageId must be a UUID string (got ${describe(a)})`],
  ["invalid_argument", () => "a subscriber must be a function"],
  ["invalid_argument", () => "an event listener must be a function"],
  ["invalid_argument", (a) => `setOnline takes a boolean (got ${describe(a)})`],
  ["invalid_text", () => "the message cannot be sent: text must not be empty"],
  ["invalid_text", () => "the message cannot be sent: text is longer than 1000 characters or 4096 bytes"],
  ["invalid_text", () => "the message cannot be sent: text contains control characters"],
  ["destroyed", () => "the chat engine was destroyed"],
];

/**
 * The chat engine (SPEC.md section 5). Every method validates its arguments and throws a
 * `ChatEngineError` (with a `code`) on bad input; none of them blocks.
 * After `destroy()` every method but `getSnapshot`/`getConversation` throws.
 */
export interface ChatEngine {
  /** Connect, and stay connected (reconnecting with backoff) until `disconnect`. */
  connect(): void;
  /** Close the connection and stay disconnected. */
  disconnect(): void;
  /** A new token (after a login or refresh): leaves an `auth` error and connects with it. */
  setToken(token: string): void;
  /** Follow a conversation: join it now and on every reconnection, keep it in sync. */
  join(conversationId: number): void;
  /** Stop following it; its messages stay in memory. */
  leave(conversationId: number): void;
  /** Queue a message; returns its `clientMessageId` at once (the message shows as `sending`). Throws on empty or over-long text. */
  send(conversationId: number, text: string): string;
  /** Try a `failed` message again; false if it is not a failed message. */
  retry(clientMessageId: string): boolean;
  /** Call on every keystroke in the conversation's input. */
  typing(conversationId: number): void;
  /** Tell the sender the message was read (now, or on the next connection). */
  markRead(messageId: number): void;
  /** Fetch the page before the oldest message shown; false if nothing to fetch or under way. */
  loadOlder(conversationId: number): boolean;
  /** Who is in a conversation (from `GET /api/conversations`), so presence can be placed. */
  setParticipants(conversationId: number, userIds: readonly number[]): void;
  /** For `useSyncExternalStore`: `listener` runs after every change of the snapshot. */
  subscribe(listener: () => void): Unsubscribe;
  /** Every event, in order. Listener errors are logged, never break the engine. */
  onEvent(listener: (event: EngineEvent) => void): Unsubscribe;
  /** Everything the UI reads: the same frozen object until something changes. */
  getSnapshot(): EngineSnapshot;
  /** One conversation's snapshot (the same object as in `getSnapshot().conversations`). */
  getConversation(conversationId: number): ConversationSnapshot | undefined;
  /** The user the token names, once a token was seen. */
  readonly userId: number | null;
  /** `"websocket"` or `"http"`. */
  readonly transport: Transport;
  /** Close the socket, stop every timer and listener. The engine cannot be used again. */
  destroy(): void;
  /** What the reachability adapter reports: `false` closes the connection at once and queues sends (retries do not count down); `true` reconnects at once. */
  setOnline(online: boolean): void;
  /** What the lifecycle adapter reports when the app comes back to the foreground: a connection that is down (lost while asleep, or waiting out a backoff) is tried again at once, and catches up. */
  foreground(): void;
  /**
   * The user has seen the whole conversation: its unread count is 0 at once, and the
   * server hears it now or after reconnecting (every device of the user clears too).
   */
  markConversationRead(conversationId: number): void;
  /** Queue a message under a `clientMessageId` the caller chose (a UUID): how the tabs of a browser send through the one that holds the connection. False, and nothing changes, if that id is already queued or shown. Throws on empty or over-long text. */
  sendAs(conversationId: number, message: { readonly clientMessageId: string; readonly text: string }): boolean;
}

/** The wasm's one entry point, with refusals already turned into `ChatEngineError`s. */
export type Call = (command: number, a?: unknown, b?: unknown) => unknown;

/** `ChatEngine` over `call`: one command number per method; the wasm side checks the arguments. */
export class ChatEngineOverCall implements ChatEngine {
  readonly #call: Call;

  constructor(call: Call) {
    this.#call = call;
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
  onEvent(listener: (event: EngineEvent) => void): Unsubscribe {
    return this.#call(Command.OnEvent, listener) as Unsubscribe;
  }
  getSnapshot(): EngineSnapshot {
    return this.#call(Command.GetSnapshot) as EngineSnapshot;
  }
  getConversation(conversationId: number): ConversationSnapshot | undefined {
    return this.#call(Command.GetConversation, conversationId) as ConversationSnapshot | undefined;
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
  setOnline(online: boolean): void {
    this.#call(Command.SetOnline, online);
  }
  foreground(): void {
    this.#call(Command.Foreground);
  }
  markConversationRead(conversationId: number): void {
    this.#call(Command.MarkConversationRead, conversationId);
  }
  sendAs(conversationId: number, message: { readonly clientMessageId: string; readonly text: string }): boolean {
    return this.#call(Command.SendAs, conversationId, message) as boolean;
  }
}
