/**
 * A follower's copy of the leader's snapshot. Snapshots cross the channel as copies, so
 * identity would change on every message; React (`useSyncExternalStore`, `memo`) needs
 * what did not change to keep its identity, as the engine's own snapshots do. So each
 * snapshot is rebuilt over the previous one: unchanged conversations and messages are
 * the previous objects.
 */
import type { ConversationSnapshot, EngineSnapshot, MessageView } from "../types.js";
import type { WireSnapshot } from "./protocol.js";

export const EMPTY_SNAPSHOT: EngineSnapshot = Object.freeze({
  version: 0,
  connection: Object.freeze({ state: "disconnected", error: null, reconnectAt: null, failedAttempts: 0 }),
  conversations: Object.freeze({}),
  outboxLength: 0,
});

const MESSAGE_FIELDS = ["id", "seq", "senderId", "text", "clientMessageId", "createdAt", "status"] as const;

function sameMessage(a: MessageView, b: MessageView): boolean {
  return MESSAGE_FIELDS.every((field) => a[field] === b[field]);
}

function shareMessages(previous: readonly MessageView[], next: readonly MessageView[]): readonly MessageView[] {
  const byKey = new Map<string, MessageView>();
  for (const message of previous) byKey.set(keyOf(message), message);
  return Object.freeze(
    next.map((message) => {
      const old = byKey.get(keyOf(message));
      return old !== undefined && sameMessage(old, message) ? old : Object.freeze(message);
    }),
  );
}

const keyOf = (message: MessageView): string => (message.id === null ? `c${message.clientMessageId}` : `i${message.id}`);

function shareConversation(previous: ConversationSnapshot | undefined, next: ConversationSnapshot): ConversationSnapshot {
  if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(next)) return previous;
  const messages = shareMessages(previous?.messages ?? [], next.messages);
  const lastMessage =
    next.lastMessage === null
      ? null
      : previous?.lastMessage != null && sameMessage(previous.lastMessage, next.lastMessage)
        ? previous.lastMessage
        : Object.freeze(next.lastMessage);
  return Object.freeze({
    ...next,
    messages,
    lastMessage,
    typingUserIds: Object.freeze(next.typingUserIds),
    onlineUserIds: Object.freeze(next.onlineUserIds),
    readSeqs: Object.freeze(next.readSeqs),
  });
}

/**
 * The snapshot `wire` describes, sharing what did not change with `previous`; `undefined`
 * if `wire` refers to a conversation `previous` does not have (a tab that missed a
 * message must wait for a full one).
 */
export function applyWireSnapshot(previous: EngineSnapshot, wire: WireSnapshot): EngineSnapshot | undefined {
  const conversations: Record<number, ConversationSnapshot> = {};
  for (const [key, conversation] of Object.entries(wire.conversations)) {
    const id = Number(key);
    const old = previous.conversations[id];
    if (conversation === 0) {
      if (old === undefined) return undefined;
      conversations[id] = old;
    } else {
      conversations[id] = shareConversation(old, conversation);
    }
  }
  const connection =
    JSON.stringify(previous.connection) === JSON.stringify(wire.connection) ? previous.connection : Object.freeze({ ...wire.connection });
  const ids = Object.keys(conversations);
  const unchanged =
    wire.version === previous.version &&
    connection === previous.connection &&
    wire.outboxLength === previous.outboxLength &&
    ids.length === Object.keys(previous.conversations).length &&
    ids.every((id) => conversations[Number(id)] === previous.conversations[Number(id)]);
  // A full snapshot sent again for another tab: nothing to re-render here.
  if (unchanged) return previous;
  return Object.freeze({
    version: wire.version,
    connection,
    conversations: Object.freeze(conversations),
    outboxLength: wire.outboxLength,
  });
}

/** The leader's side: `snapshot` for the channel, `0` for each conversation the same object as in `sent`. */
export function toWireSnapshot(snapshot: EngineSnapshot, sent: EngineSnapshot | undefined): WireSnapshot {
  const conversations: Record<string, ConversationSnapshot | 0> = {};
  for (const [key, conversation] of Object.entries(snapshot.conversations)) {
    conversations[key] = sent?.conversations[Number(key)] === conversation ? 0 : conversation;
  }
  return {
    version: snapshot.version,
    connection: snapshot.connection,
    outboxLength: snapshot.outboxLength,
    conversations,
    full: sent === undefined,
  };
}
