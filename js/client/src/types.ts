/**
 * The public types of chat-client: the engine (SPEC.md section 5), its snapshots and
 * events, the React hooks' results, and the REST helpers. Everything here is plain
 * data or a function type: no runtime code, so apps can import it freely. The
 * `ChatEngine` interface itself is generated (`./generated/bindings.ts`) and re-exported.
 *
 * Ids are numbers (the server's integer ids); `clientMessageId` is a UUID string; times
 * from the server are RFC 3339 strings; times of the engine are epoch milliseconds.
 */

import type { ChatEngine, ChatEngineErrorCode } from "./generated/bindings.js";

// ---- Wire shapes (SPEC.md sections 2 and 3) -------------------------------------------

/** A stored message as the server sends it (`message:new`, history pages, HTTP sends). */
export interface Message {
  readonly id: number;
  readonly conversationId: number;
  /** 1, 2, 3… within the conversation, gapless, in commit order. */
  readonly seq: number;
  readonly senderId: number;
  readonly text: string;
  readonly clientMessageId: string | null;
  /** RFC 3339 UTC with milliseconds. */
  readonly createdAt: string;
}

/** What `sendMessage` of `useSocketIO` takes (DESIGN.md 2.2). */
export interface MessageData {
  readonly text: string;
}

export type ConversationKind = "direct" | "group";

/** A conversation as `GET /api/conversations` lists it (and `conversation:new` carries it). */
export interface Conversation {
  readonly id: number;
  readonly kind: ConversationKind;
  readonly title: string | null;
  readonly participantIds: readonly number[];
  readonly lastSeq: number;
}

export interface User {
  readonly id: number;
  readonly username: string;
}

/** A participant as the conversation list names them. */
export type Participant = User;

/** An item of `GET /api/conversations` (SPEC.md section 9): the conversation and its line in the list. */
export interface ConversationSummary extends Conversation {
  /** Every participant, the caller included. */
  readonly participants: readonly Participant[];
  readonly lastMessage: Message | null;
  /** The caller's watermark: everything up to this seq is read (0 when nothing is). */
  readonly lastReadSeq: number;
  /** Messages of others above the caller's watermark. */
  readonly unreadCount: number;
  /** Every participant's watermark, by user id. */
  readonly readSeqs: Readonly<Record<string, number>>;
  /** RFC 3339: the last message's time, else the conversation's creation. */
  readonly activityAt: string;
}

/** A page of the list: `before`/`beforeId` are the previous page's last `activityAt` and `id`. */
export interface ConversationListQuery {
  /** 1–500 (default 500). */
  readonly limit?: number;
  readonly before?: string;
  readonly beforeId?: number;
}

/** `POST /api/auth/register` and `/login`. */
export interface AuthResult {
  readonly token: string;
  readonly user: User;
}

/** Failure codes of acks and REST errors; `"unknown"` for a code this build does not know. */
export type ErrorCode =
  | "bad_request"
  | "forbidden"
  | "too_long"
  | "rate_limited"
  | "unavailable"
  | "internal"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unknown";

// ---- The engine's options -------------------------------------------------------------

/** Where the wasm module comes from: a URL (browsers, bundlers such as Metro) or its bytes (Node). */
export type WasmSource = string | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Asked on every connect (so a refreshed token is used on reconnect). `null` means "no
 * token": the engine goes to state `error` with code `auth` and stops reconnecting until
 * `setToken` or `connect` is called. A thrown error or rejected promise counts as a failed
 * attempt (the engine backs off and asks again).
 */
export type TokenGetter = () => string | null | Promise<string | null>;

/** Where the outbox of unsent messages is kept: `localStorage` (survives a reload) or memory. */
export type StorageKind = "local" | "memory";

/**
 * Synchronous key–value storage for the outbox, with Web Storage's methods:
 * `localStorage` is one; on phones the default wraps `expo-sqlite/kv-store`. Any method
 * may throw (quota, a corrupt database): the engine then keeps the outbox in memory from
 * that moment, with one warning (console and a `warning` event). A stored outbox the engine
 * cannot read is moved to `<key>/unreadable/<epoch ms>`, reported, and never sent.
 */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Reachability, as TanStack Query's `onlineManager.setEventListener` takes it: set up
 * listening, call `setOnline(false)` when the network goes and `setOnline(true)` when it
 * comes back (at once too, if the state is known), return how to stop. Offline closes the
 * connection and queues sends; online reconnects at once. Defaults: the window's
 * `online`/`offline` events on the web, `expo-network` on iOS and Android.
 */
export type Reachability = (setOnline: (online: boolean) => void) => Unsubscribe;

/**
 * The app's lifecycle, as TanStack Query's `focusManager.setEventListener` takes it:
 * call `onForeground()` whenever the app comes back to the foreground, return how to
 * stop. A connection that is down then reconnects and catches up at once instead of
 * waiting out its backoff delay. Defaults: `visibilitychange` on the web, `AppState` on
 * iOS and Android.
 */
export type Lifecycle = (onForeground: () => void) => Unsubscribe;

/**
 * `websocket`: Socket.IO over a WebSocket (the default). `http`: the rollback mode of
 * DESIGN.md section 9: sends go through `POST /api/conversations/:id/messages` and history is
 * polled; the same outbox, the same idempotent `clientMessageId`s, the same snapshots.
 */
export type Transport = "websocket" | "http";

export interface ChatEngineOptions {
  /** The server's base URL, `http(s)://host[:port]`. */
  readonly url: string;
  readonly getToken: TokenGetter;
  /**
   * Where the outbox is kept. Default: `localStorage` where it can be used (else memory)
   * on the web, `expo-sqlite/kv-store` on iOS and Android (refused if it is not installed).
   */
  readonly storage?: StorageKind | KeyValueStorage;
  /** Network reachability (see `Reachability`); `null` to watch nothing. Default per platform. */
  readonly reachability?: Reachability | null;
  /** Foreground events (see `Lifecycle`); `null` to watch nothing. Default per platform. */
  readonly lifecycle?: Lifecycle | null;
  /** Default `"websocket"`. */
  readonly transport?: Transport;
  /**
   * The wasm module, for bundlers that cannot resolve it next to the JS (Metro: import the
   * `.wasm` as an asset and pass its URL). Only the first engine's value is used: the
   * module is loaded once.
   */
  readonly wasm?: WasmSource;
  /**
   * The user the outbox belongs to (its storage key is per server URL and user). When
   * omitted, `createChatEngine` asks `getToken()` once and reads the token's `userId`.
   */
  readonly userId?: number;
  /** HTTP mode: how often history is polled, in ms (default 2000). */
  readonly pollIntervalMs?: number;
  /**
   * Browsers, with the outbox in `localStorage`: the tabs of one user on one server share
   * one connection and one outbox (one tab's engine holds them, the others talk to it;
   * docs/CLIENT.md, "Tabs"). Default `true`; `false` gives this tab its own connection.
   */
  readonly shareTabs?: boolean;
}

// ---- Snapshots ------------------------------------------------------------------------

export type ConnectionStatus = "disconnected" | "connecting" | "connected" | "error";

/** Why the connection is in `error`. `auth`: the token was missing, invalid or expired. */
export interface ConnectionError {
  readonly code: "auth";
  readonly message: string;
}

/** A message's status (the `data-status` of SPEC.md section 6). */
export type MessageStatus = "sending" | "sent" | "read" | "failed";

/**
 * A message as the UI shows it. Unsent messages (status `sending` or `failed`) have no
 * `id`, `seq` or `createdAt` yet; `clientMessageId` identifies them (for `retry`).
 */
export interface MessageView {
  readonly id: number | null;
  readonly seq: number | null;
  /** `null` for an unsent message when the engine does not know its own user yet. */
  readonly senderId: number | null;
  readonly text: string;
  readonly clientMessageId: string | null;
  readonly createdAt: string | null;
  readonly status: MessageStatus;
}

/** One conversation. Frozen; replaced (new identity) only when something in it changed. */
export interface ConversationSnapshot {
  readonly id: number;
  /** Stored messages by seq, then unsent ones in send order. Each message object keeps its identity while unchanged. */
  readonly messages: readonly MessageView[];
  /** Who is typing now, ascending. */
  readonly typingUserIds: readonly number[];
  /** Who is online, ascending. */
  readonly onlineUserIds: readonly number[];
  /** The server has older messages than the oldest shown (`loadOlder` fetches them). */
  readonly hasOlder: boolean;
  /** An older page is being fetched. */
  readonly loadingOlder: boolean;
  /** Joined on the current connection and caught up. */
  readonly synced: boolean;
  /** Messages of others above the user's watermark (SPEC.md section 9); 0 once read. */
  readonly unreadCount: number;
  /** The user's watermark: everything up to this seq is read. */
  readonly lastReadSeq: number;
  /** The newest seq known to exist. */
  readonly lastSeq: number;
  /** Every participant's watermark known, by user id. */
  readonly readSeqs: Readonly<Record<number, number>>;
  /** The newest message (for the list), joined or not; `null` while there is none. */
  readonly lastMessage: MessageView | null;
  /** When the conversation last moved (RFC 3339): the list orders by it, newest first. */
  readonly activityAt: string | null;
}

export interface ConnectionSnapshot {
  readonly state: ConnectionStatus;
  /** Set exactly when `state` is `"error"`. */
  readonly error: ConnectionError | null;
  /** While waiting to reconnect: when the next attempt starts (epoch ms). */
  readonly reconnectAt: number | null;
  /** Failed attempts since the last success. */
  readonly failedAttempts: number;
}

/** Everything the UI reads. Frozen; a new object only when something changed. */
export interface EngineSnapshot {
  /** Grows with every change. */
  readonly version: number;
  readonly connection: ConnectionSnapshot;
  /** Conversations the engine knows (joined, sent to, or with participants set), by id. */
  readonly conversations: Readonly<Record<number, ConversationSnapshot>>;
  /** Messages in the outbox (sending or failed), across conversations. */
  readonly outboxLength: number;
}

// ---- Events ---------------------------------------------------------------------------

/** What the engine tells listeners of `onEvent`, beside the snapshot. */
export type EngineEvent =
  | { readonly type: "state"; readonly state: ConnectionStatus; readonly error: ConnectionError | null }
  /** A message arrived live that the timeline did not have stored: someone else's, one from another device, or the echo of this engine's own send when it beats the ack. */
  | { readonly type: "message"; readonly message: Message }
  | { readonly type: "typing"; readonly conversationId: number; readonly userId: number; readonly isTyping: boolean }
  | { readonly type: "presence"; readonly userId: number; readonly isOnline: boolean }
  /** A conversation including this user was created (`conversation:new`). */
  | { readonly type: "conversationNew"; readonly conversation: Conversation }
  /** Joining failed (`forbidden`: not a participant or no such conversation); the conversation is left. */
  | { readonly type: "joinFailed"; readonly conversationId: number; readonly code: ErrorCode }
  /** A message of this engine is stored on the server (by its ack, its echo or a history page): status `sent`. */
  | {
      readonly type: "sent";
      readonly clientMessageId: string;
      readonly conversationId: number;
      readonly messageId: number;
      readonly seq: number;
    }
  /** A message is `failed`: tries used up (`code` null) or refused (`code`). `retry` tries again. */
  | { readonly type: "sendFailed"; readonly clientMessageId: string; readonly code: ErrorCode | null }
  /** Something from the network was ignored or ended the connection; for the log. */
  | { readonly type: "warning"; readonly message: string };

export type EngineEventType = EngineEvent["type"];

export type Unsubscribe = () => void;

// ---- The engine -----------------------------------------------------------------------

/** The engine's interface and its error codes are generated from client-wasm's lists. */
export type { ChatEngine, ChatEngineErrorCode };

// ---- Hooks ----------------------------------------------------------------------------

export interface UseSocketIOOptions {
  /** The engine; defaults to the one of the nearest `ChatEngineProvider`. `null` while loading. */
  readonly engine?: ChatEngine | null;
  /** Call `engine.connect()` on mount (default true). The hook never disconnects: `destroy` does. */
  readonly autoConnect?: boolean;
}

/** DESIGN.md 2.2, plus the full connection state. Callback registrations return an unsubscribe and are removed on unmount. */
export interface UseSocketIOReturn {
  readonly connected: boolean;
  readonly connecting: boolean;
  /** The connection error (an `Error` whose `code` is `"auth"`), or null. */
  readonly error: (Error & { readonly code: ConnectionError["code"] }) | null;
  readonly state: ConnectionStatus;
  /** Queues the message; resolves at once with its `clientMessageId` (delivery shows in its status). Rejects on bad text. */
  readonly sendMessage: (conversationId: number, data: MessageData) => Promise<string>;
  readonly joinConversation: (conversationId: number) => void;
  readonly leaveConversation: (conversationId: number) => void;
  readonly onMessage: (callback: (message: Message) => void) => Unsubscribe;
  readonly onTyping: (callback: (userId: number, isTyping: boolean, conversationId: number) => void) => Unsubscribe;
  readonly onPresence: (callback: (userId: number, isOnline: boolean) => void) => Unsubscribe;
  readonly onConversationNew: (callback: (conversation: Conversation) => void) => Unsubscribe;
  readonly engine: ChatEngine | null;
}

export interface UseConversationOptions {
  readonly engine?: ChatEngine | null;
  /** Join on mount and leave on unmount (default true). */
  readonly join?: boolean;
}

export interface UseConversationReturn {
  readonly messages: readonly MessageView[];
  /** Returns the `clientMessageId`; throws on bad text. */
  readonly send: (text: string) => string;
  readonly retry: (clientMessageId: string) => boolean;
  /** Call on every keystroke. */
  readonly typing: () => void;
  readonly typingUserIds: readonly number[];
  readonly onlineUserIds: readonly number[];
  /**
   * With no argument: the whole conversation is read (its `unreadCount` is 0 at once, on
   * every device of the user soon after; queued while offline). With a message id: that
   * message's read receipt (`message:read`), which also moves the watermark to it.
   */
  readonly markRead: (messageId?: number) => void;
  /** Messages of others not read yet (SPEC.md section 9). */
  readonly unreadCount: number;
  /** The user's watermark in this conversation. */
  readonly lastReadSeq: number;
  /** Every participant's watermark known, by user id. */
  readonly readSeqs: Readonly<Record<number, number>>;
  readonly loadOlder: () => boolean;
  readonly hasOlder: boolean;
  readonly loadingOlder: boolean;
  readonly synced: boolean;
}

export interface UseConversationsOptions {
  readonly engine?: ChatEngine | null;
  /** Where names, titles and participants come from (`createApi`, or anything with its `listConversations`). */
  readonly api: Pick<ChatApi, "listConversations">;
}

/** One line of the conversation list: who it is with (REST) and its live numbers (the engine). */
export interface ConversationListItem {
  readonly id: number;
  readonly kind: ConversationKind;
  readonly title: string | null;
  readonly participantIds: readonly number[];
  /** Empty until the list has been fetched (a conversation just announced by `conversation:new`). */
  readonly participants: readonly Participant[];
  readonly lastMessage: MessageView | null;
  readonly unreadCount: number;
  readonly lastReadSeq: number;
  readonly lastSeq: number;
  readonly readSeqs: Readonly<Record<number, number>>;
  /** RFC 3339; the list is ordered by it, newest first, then by id, highest first. */
  readonly activityAt: string | null;
}

export interface UseConversationsReturn {
  /** Ordered by activity, newest first; the same array while nothing in it changed. */
  readonly conversations: readonly ConversationListItem[];
  /** True until the first fetch of the list ended. */
  readonly loading: boolean;
  /** The last fetch's failure (kept until one succeeds); the list shows what it has. */
  readonly error: Error | null;
  /** Fetches the names again (the hook already does on every connection and `conversation:new`). */
  readonly refresh: () => Promise<void>;
}

// ---- REST helpers ---------------------------------------------------------------------

export interface ChatApi {
  register(username: string, password: string): Promise<AuthResult>;
  login(username: string, password: string): Promise<AuthResult>;
  me(): Promise<User>;
  /** `null` when there is no user of that exact name. */
  findUser(username: string): Promise<User | null>;
  /** One page of the list, newest activity first (`query` pages it; SPEC.md section 9). */
  listConversations(query?: ConversationListQuery): Promise<ConversationSummary[]>;
  /** The caller is added; two people and no title is a direct conversation (the same one every time). */
  createConversation(participantIds: readonly number[], title?: string): Promise<Conversation>;
  /** History: `afterSeq` (what was missed) or `beforeSeq` (older), `limit` 1–500. */
  messages(
    conversationId: number,
    query?: { readonly afterSeq?: number; readonly beforeSeq?: number; readonly limit?: number },
  ): Promise<{ messages: Message[]; hasMore: boolean }>;
}

export interface ChatApiOptions {
  readonly url: string;
  /** Needed for every route but register/login. */
  readonly getToken?: TokenGetter;
  /** Defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}
