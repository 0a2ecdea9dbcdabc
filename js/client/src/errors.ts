/**
 * `ChatEngineError`, what every refusal of the engine throws, and the helpers its
 * messages use to name a bad value (the generated `REFUSALS` table calls them).
 */
import type { ChatEngineErrorCode } from "./generated/bindings.js";

/**
 * A call the engine refused: bad options or arguments, a text that cannot be sent, or a
 * destroyed engine. Narrow with `instanceof ChatEngineError`, then on `code`.
 */
export class ChatEngineError extends Error {
  override readonly name = "ChatEngineError";
  readonly code: ChatEngineErrorCode;

  constructor(code: ChatEngineErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A bad value for an error message: its type, or a short string or number (never its whole content). */
export function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `the string "${[...value].slice(0, 40).join("")}"`;
  if (value === null) return "null";
  return typeof value;
}

/** An option of an options object that may be anything. */
export function field(options: unknown, name: string): unknown {
  return typeof options === "object" && options !== null ? (options as Record<string, unknown>)[name] : undefined;
}

/** The first element of `ids` that is not a positive integer. */
export function firstBadId(ids: unknown): unknown {
  return Array.isArray(ids) ? ids.find((id) => !isPositiveInteger(id)) : undefined;
}

const isPositiveInteger = (value: unknown): boolean =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= Number.MAX_SAFE_INTEGER;
