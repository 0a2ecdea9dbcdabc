/**
 * The argument checks of the wasm's commands, for a tab that does not run the engine (a
 * follower): it must refuse bad arguments at once, with the same `ChatEngineError`, as
 * the engine would, although the engine that runs the command is in another tab. These
 * mirror client-wasm's `Arg` implementations and `chat_wire::text::validate_text`;
 * `test/tabs.test.ts` checks them against the wasm on generated inputs.
 */
import { Command, Refusal } from "../generated/bindings.js";

/** `Refusal` numbers, or `0` when the arguments are fine. */
type Check = (a: unknown, b: unknown) => number;

const positiveInteger = (value: unknown): boolean =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= Number.MAX_SAFE_INTEGER;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` removes. */
const EDGE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
/** Rust's `char::is_control` (general category Cc) but newline and tab. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const MAX_TEXT_CHARS = 1000;
const MAX_TEXT_BYTES = 4096;

/** UTF-8 bytes of `text` as the engine receives it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * `chat_wire::text::validate_text`: at most 4096 bytes as given, 1 to 1000 characters
 * after trimming, no control characters but newline and tab.
 */
export function textRefusal(text: string): number {
  if (text.length > MAX_TEXT_BYTES / 4 && utf8Length(text) > MAX_TEXT_BYTES) return Refusal.TextTooLong;
  const trimmed = text.replace(EDGE_SPACE, "");
  if (trimmed.length === 0) return Refusal.TextEmpty;
  if (trimmed.length > MAX_TEXT_CHARS && [...trimmed].length > MAX_TEXT_CHARS) return Refusal.TextTooLong;
  if (CONTROL.test(text)) return Refusal.TextControlCharacter;
  return 0;
}

const conversation: Check = (a) => (positiveInteger(a) ? 0 : Refusal.ConversationId);

const CHECKS: Partial<Record<number, Check>> = {
  [Command.SetToken]: (a) => (typeof a === "string" && a.length > 0 ? 0 : Refusal.Token),
  [Command.Join]: conversation,
  [Command.Leave]: conversation,
  [Command.Send]: (a, b) => conversation(a, b) || (typeof b === "string" ? textRefusal(b) : Refusal.Text),
  [Command.Retry]: (a) => (typeof a === "string" && UUID.test(a) ? 0 : Refusal.ClientMessageId),
  [Command.Typing]: conversation,
  [Command.MarkRead]: (a) => (positiveInteger(a) ? 0 : Refusal.MessageId),
  [Command.LoadOlder]: conversation,
  [Command.SetParticipants]: (a, b) =>
    conversation(a, b) || (!Array.isArray(b) ? Refusal.UserIds : b.every(positiveInteger) ? 0 : Refusal.UserIdsItem),
  [Command.Subscribe]: (a) => (typeof a === "function" ? 0 : Refusal.Subscriber),
  [Command.OnEvent]: (a) => (typeof a === "function" ? 0 : Refusal.EventListener),
  [Command.GetConversation]: conversation,
  [Command.SetOnline]: (a) => (typeof a === "boolean" ? 0 : Refusal.Online),
  [Command.MarkConversationRead]: conversation,
};

/** The refusal the engine would throw for `command(a, b)`, or `0`. */
export function refusalOf(command: number, a: unknown, b: unknown): number {
  return CHECKS[command]?.(a, b) ?? 0;
}

/** A random (version 4) UUID: `crypto.randomUUID` needs a secure context, `getRandomValues` does not. */
export function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
