/**
 * Every refusal of the engine, through the package as an app calls it: bad options and
 * bad arguments throw a `ChatEngineError` whose `code` says what kind of refusal it is
 * and whose message names the bad value; the engine keeps working afterwards. No server
 * is needed: nothing here reaches the network (nothing listens on port 9).
 */
import { readFile } from "node:fs/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatEngineError, createChatEngine, loadEngine, type ChatEngine, type ChatEngineErrorCode } from "../src/index.js";

beforeAll(async () => {
  await loadEngine(await readFile(new URL("../pkg/client_wasm_bg.wasm", import.meta.url)));
});

const engines: ChatEngine[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.destroy();
});

async function engine(): Promise<ChatEngine> {
  const e = await createChatEngine({ url: "http://127.0.0.1:9", getToken: () => "token", storage: "memory" });
  engines.push(e);
  return e;
}

/** What `call` threw, which must be a `ChatEngineError`. */
function thrownBy(call: () => unknown): ChatEngineError {
  try {
    call();
  } catch (error) {
    if (error instanceof ChatEngineError) return error;
    throw new Error(`expected a ChatEngineError, got ${String(error)}`);
  }
  throw new Error("expected a ChatEngineError, nothing was thrown");
}

function expectRefused(call: () => unknown, code: ChatEngineErrorCode, message: RegExp): void {
  const error = thrownBy(call);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe("ChatEngineError");
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe("createChatEngine", () => {
  const getToken = () => "token";
  it.each([
    [{ getToken }, /`url`/],
    [{ url: "chat.example", getToken }, /`url` must start with http:\/\/ or https:\/\/ \(got "chat.example"\)/],
    [{ url: "http://h", getToken: "token" }, /`getToken` must be a function/],
    [{ url: "http://h", getToken, storage: "disk" }, /`storage` must be "local", "memory" or an object with getItem, setItem and removeItem functions \(got the string "disk"\)/],
    [{ url: "http://h", getToken, transport: "pigeon" }, /`transport` must be "websocket" or "http" \(got the string "pigeon"\)/],
    [{ url: "http://h", getToken, userId: -3 }, /`userId` must be a positive integer \(got -3\)/],
    [{ url: "http://h", getToken, pollIntervalMs: Number.NaN }, /`pollIntervalMs` must be a number of milliseconds from 50 to 3600000 \(got NaN\)/],
    [{ url: 7, getToken }, /`url` must be the server's URL as a string/],
  ])("rejects bad options %#", async (options, message) => {
    // @ts-expect-error: deliberately wrong options, as plain JS could pass them
    const error: unknown = await createChatEngine(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatEngineError);
    if (!(error instanceof ChatEngineError)) return;
    expect(error.code).toBe("invalid_options");
    expect(error.name).toBe("ChatEngineError");
    expect(error.message).toMatch(message);
  });

  it("rejects a missing options object", async () => {
    // @ts-expect-error: no options at all
    const error: unknown = await createChatEngine().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatEngineError);
    expect(error).toMatchObject({ code: "invalid_options", message: expect.stringMatching(/options must be an object/) });
  });
});

describe("the engine's arguments", () => {
  it("refuses wrong argument types and keeps working", async () => {
    const e = await engine();
    const bad: unknown[] = ["7", Number.NaN, -1, 0, 1.5, {}, null, undefined];
    for (const value of bad) {
      expectRefused(() => e.join(value as number), "invalid_argument", /conversation id must be a positive integer/);
      expectRefused(() => e.markRead(value as number), "invalid_argument", /message id/);
    }
    expectRefused(() => e.send(1, 42 as unknown as string), "invalid_argument", /text must be a string/);
    expectRefused(() => e.retry("nope"), "invalid_argument", /UUID/);
    expect(e.send(1, "fine")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("names the bad value for every method, with the error's code", async () => {
    const e = await engine();
    const id = /conversation id must be a positive integer \(got the string "7"\)/;
    for (const call of [e.join, e.leave, e.typing, e.loadOlder, e.getConversation]) {
      expectRefused(() => call.call(e, "7" as unknown as number), "invalid_argument", id);
    }
    expectRefused(() => e.markRead(1.5), "invalid_argument", /message id must be a positive integer \(got 1.5\)/);
    expectRefused(() => e.send(0, "hi"), "invalid_argument", /conversation id must be a positive integer \(got 0\)/);
    expectRefused(() => e.send(1, null as unknown as string), "invalid_argument", /text must be a string \(got null\)/);
    expectRefused(() => e.send(1, ""), "invalid_text", /cannot be sent: text must not be empty/);
    expectRefused(() => e.send(1, "x".repeat(1001)), "invalid_text", /cannot be sent: text is longer than 1000 characters/);
    expectRefused(() => e.send(1, "a\u0000b"), "invalid_text", /cannot be sent: text contains control characters/);
    expectRefused(() => e.retry(3 as unknown as string), "invalid_argument", /clientMessageId must be a UUID string \(got 3\)/);
    expectRefused(() => e.setToken(""), "invalid_argument", /token must be a non-empty string \(got the string ""\)/);
    expectRefused(
      () => e.setParticipants(1, 2 as unknown as number[]),
      "invalid_argument",
      /user ids must be an array of positive integers \(got 2\)/,
    );
    expectRefused(
      () => e.setParticipants(1, [2, "3" as unknown as number]),
      "invalid_argument",
      /a user id must be a positive integer \(got the string "3"\)/,
    );
    expectRefused(() => e.subscribe({} as () => void), "invalid_argument", /a subscriber must be a function/);
    expectRefused(() => e.onEvent(undefined as unknown as () => void), "invalid_argument", /an event listener must be a function/);
    e.destroy();
    expectRefused(() => e.connect(), "destroyed", /the chat engine was destroyed/);
    expect(e.getSnapshot()).toBe(e.getSnapshot());
  });

  it("lets a caller narrow on the error's class and code", async () => {
    const e = await engine();
    let code: ChatEngineErrorCode | undefined;
    try {
      e.send(1, "");
    } catch (error) {
      if (error instanceof ChatEngineError) code = error.code;
    }
    expect(code).toBe("invalid_text");
  });
});
