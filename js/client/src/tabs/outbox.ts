/**
 * One outbox key per tab, merged when an engine starts (SPEC.md section 10: no tab's
 * write may drop another tab's queued messages).
 *
 * The engine stores its whole outbox under one key per server and user, and removes the
 * key when the outbox empties. Two engines on that key overwrite each other: one tab's
 * successful send could erase another tab's offline queue. So the engine is given this
 * store instead of `localStorage`: its key becomes `<key>/tab/<tabId>`, written only by
 * this tab; and when the engine first reads its key, every other tab's key (and the key
 * older versions wrote) is adopted: merged into this tab's key, then removed. A tab that
 * is still open writes its key again on its next change, so a message can be sent by two
 * tabs; idempotent `clientMessageId`s make that harmless (the server stores it once, the
 * timelines show it once). Nothing is removed before it is written under this tab's key.
 *
 * The merge reads the engine's stored format (`version`, `nextOrder`, `messages` with an
 * `order` each, as `chat_engine::Outbox::save` writes it); a value it cannot read is left
 * where it is, with a warning, for the engine of a newer version to read.
 */
import type { KeyValueStorage } from "../types.js";

/** `localStorage`'s shape: the three methods the engine calls, and enumeration. */
export interface EnumerableStorage extends KeyValueStorage {
  readonly length: number;
  key(index: number): string | null;
}

/** The version of the stored format this merge reads. */
const STORED_VERSION = 1;

interface StoredMessage {
  readonly clientMessageId: string;
  readonly order: number;
  readonly [field: string]: unknown;
}

/** The outbox key of a server URL and user, as client-wasm's `storage_key` builds it. */
export function outboxKey(url: string, userId: number): string {
  return `chat-client/outbox/v1/${url.trim().replace(/\/+$/, "")}/${userId}`;
}

export function isEnumerable(storage: KeyValueStorage): storage is EnumerableStorage {
  const candidate = storage as Partial<EnumerableStorage>;
  return typeof candidate.key === "function" && typeof candidate.length === "number";
}

/**
 * The store to give the engine of tab `tabId` for the outbox under `key`. `warn` reports
 * stored values left alone.
 */
export function perTabOutbox(
  storage: EnumerableStorage,
  key: string,
  tabId: string,
  warn: (message: string) => void = console.warn,
): KeyValueStorage {
  const own = `${key}/tab/${tabId}`;
  let adopted = false;
  return {
    getItem(asked) {
      if (asked !== key) return storage.getItem(asked);
      if (!adopted) {
        adopted = true;
        adoptOthers(storage, key, own, warn);
      }
      return storage.getItem(own);
    },
    setItem(asked, value) {
      storage.setItem(asked === key ? own : asked, value);
    },
    removeItem(asked) {
      storage.removeItem(asked === key ? own : asked);
    },
  };
}

/** Merges the other tabs' outboxes (and the shared key) into `own`, then removes them. */
function adoptOthers(storage: EnumerableStorage, key: string, own: string, warn: (message: string) => void): void {
  const others: string[] = [];
  for (let index = 0; index < storage.length; index++) {
    const name = storage.key(index);
    if (name !== null && name !== own && (name === key || name.startsWith(`${key}/tab/`))) others.push(name);
  }
  if (others.length === 0) return;
  const outboxes: StoredMessage[][] = [];
  const merged: string[] = [];
  for (const name of [own, ...others]) {
    const value = storage.getItem(name);
    if (value === null) continue;
    const messages = readMessages(value);
    if (messages === undefined) {
      if (name !== own) warn(`chat engine: the outbox stored under "${name}" is not one this version reads; it is left there`);
      else outboxes.push([]);
      continue;
    }
    outboxes.push(messages);
    if (name !== own) merged.push(name);
  }
  if (merged.length === 0) return;
  storage.setItem(own, JSON.stringify(mergeOutboxes(outboxes)));
  for (const name of merged) storage.removeItem(name);
}

function readMessages(value: string): StoredMessage[] | undefined {
  try {
    const stored: unknown = JSON.parse(value);
    if (typeof stored !== "object" || stored === null) return undefined;
    const { version, messages } = stored as { version?: unknown; messages?: unknown };
    if (version !== STORED_VERSION || !Array.isArray(messages)) return undefined;
    const valid = messages.every(
      (m: unknown) =>
        typeof m === "object" &&
        m !== null &&
        typeof (m as StoredMessage).clientMessageId === "string" &&
        typeof (m as StoredMessage).order === "number",
    );
    return valid ? (messages as StoredMessage[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One outbox from several: each message once (by `clientMessageId`), each tab's own order
 * kept, tabs interleaved by their order numbers; renumbered from 0.
 */
export function mergeOutboxes(outboxes: readonly (readonly StoredMessage[])[]): {
  version: number;
  nextOrder: number;
  messages: StoredMessage[];
} {
  const seen = new Set<string>();
  const all: { message: StoredMessage; source: number }[] = [];
  outboxes.forEach((messages, source) => {
    for (const message of messages) {
      const id = message.clientMessageId.toLowerCase();
      if (seen.has(id)) continue;
      seen.add(id);
      all.push({ message, source });
    }
  });
  all.sort((x, y) => x.message.order - y.message.order || x.source - y.source);
  const messages = all.map(({ message }, order) => ({ ...message, order }));
  return { version: STORED_VERSION, nextOrder: messages.length, messages };
}
