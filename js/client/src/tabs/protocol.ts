/**
 * The messages between the tabs of one browser that share an engine (`shared.ts`), and
 * their checks: whatever arrives on the channel is untrusted (another version of the app,
 * a bug, a script of the same origin) and is applied only once it has the right shape.
 */
import type { ConnectionSnapshot, ConversationSnapshot, EngineEvent } from "../types.js";

/**
 * The version of these messages. Tabs of another version ignore them, and elect their own
 * leader (the lock's name carries the version too), so they never misread each other.
 */
export const TAB_PROTOCOL = 1;

/** What a tab wants of the shared connection; the leader serves the union of all tabs'. */
export interface Wants {
  readonly connected: boolean;
  readonly joined: readonly number[];
  /** `setParticipants` calls, by conversation. */
  readonly participants: readonly (readonly [number, readonly number[]])[];
}

/** A snapshot on the channel: a conversation unchanged since the previous one is `0`. */
export interface WireSnapshot {
  readonly version: number;
  readonly connection: ConnectionSnapshot;
  readonly outboxLength: number;
  readonly conversations: Readonly<Record<string, ConversationSnapshot | 0>>;
  /** Every conversation is given (none is `0`): a tab that just arrived can start from it. */
  readonly full: boolean;
}

export interface ResultError {
  readonly code: string;
  readonly message: string;
}

export type TabMessage =
  /** Follower → leader: what it wants now (on start, on every change, and to a new leader). */
  | { readonly kind: "wants"; readonly from: string; readonly wants: Wants }
  /** Follower → leader: it is going (closed, or its engine destroyed). */
  | { readonly kind: "bye"; readonly from: string }
  /** Follower → leader: one command to run on the engine. */
  | { readonly kind: "command"; readonly from: string; readonly id: number; readonly command: number; readonly a: unknown; readonly b: unknown }
  /** Leader → follower: the command ran (`error` null) or was refused. */
  | { readonly kind: "result"; readonly from: string; readonly to: string; readonly id: number; readonly error: ResultError | null }
  /** Leader → all: it leads now; followers send their wants and unanswered commands again. */
  | { readonly kind: "leader"; readonly from: string }
  | { readonly kind: "snapshot"; readonly from: string; readonly snapshot: WireSnapshot }
  | { readonly kind: "event"; readonly from: string; readonly event: EngineEvent };

export type Envelope = TabMessage & { readonly v: number };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
const isId = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= Number.MAX_SAFE_INTEGER;
const isCount = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0;
const isIds = (value: unknown): value is number[] => Array.isArray(value) && value.every(isId);

function isWants(value: unknown): value is Wants {
  return (
    isObject(value) &&
    typeof value.connected === "boolean" &&
    isIds(value.joined) &&
    Array.isArray(value.participants) &&
    value.participants.every((entry: unknown) => Array.isArray(entry) && entry.length === 2 && isId(entry[0]) && isIds(entry[1]))
  );
}

const STATES = new Set(["disconnected", "connecting", "connected", "error"]);

function isConversation(value: unknown, id: string): boolean {
  return (
    isObject(value) &&
    String(value.id) === id &&
    Array.isArray(value.messages) &&
    value.messages.every(isObject) &&
    isIds(value.typingUserIds) &&
    isIds(value.onlineUserIds) &&
    isCount(value.unreadCount) &&
    isObject(value.readSeqs)
  );
}

function isSnapshot(value: unknown): value is WireSnapshot {
  if (!isObject(value) || !isCount(value.version) || !isCount(value.outboxLength) || typeof value.full !== "boolean") return false;
  const connection = value.connection;
  if (!isObject(connection) || !STATES.has(connection.state as string) || !isCount(connection.failedAttempts)) return false;
  const conversations = value.conversations;
  if (!isObject(conversations)) return false;
  return Object.entries(conversations).every(([id, conversation]) => (conversation === 0 && !value.full) || isConversation(conversation, id));
}

const isError = (value: unknown): value is ResultError | null =>
  value === null || (isObject(value) && typeof value.code === "string" && typeof value.message === "string");

/**
 * The message in `data`, or why it is not one: `"foreign"` for another protocol version
 * (expected while two versions of the app are open), else a description for the warning.
 */
export function readTabMessage(data: unknown): TabMessage | { readonly ignored: string } {
  if (!isObject(data) || typeof data.kind !== "string" || typeof data.from !== "string") {
    return { ignored: "not a tab message" };
  }
  if (data.v !== TAB_PROTOCOL) return { ignored: "foreign" };
  const ok = (() => {
    switch (data.kind) {
      case "wants":
        return isWants(data.wants);
      case "bye":
      case "leader":
        return true;
      case "command":
        return isCount(data.id) && isCount(data.command);
      case "result":
        return typeof data.to === "string" && isCount(data.id) && isError(data.error);
      case "snapshot":
        return isSnapshot(data.snapshot);
      case "event":
        return isObject(data.event) && typeof data.event.type === "string";
      default:
        return false;
    }
  })();
  return ok ? (data as unknown as TabMessage) : { ignored: `a malformed "${data.kind}" message` };
}
