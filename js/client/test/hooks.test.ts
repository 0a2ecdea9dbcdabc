// @vitest-environment jsdom
/**
 * The hooks over a real engine (the wasm module loaded from its bytes): one render per
 * change of what a component reads, none for changes elsewhere; listeners and
 * conversations released on unmount; commands reaching the engine.
 */
import { readFile } from "node:fs/promises";
import { URL as NodeURL } from "node:url";
import { act, cleanup, render } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ChatEngineProvider,
  createChatEngine,
  loadEngine,
  useConversation,
  useSocketIO,
  type ChatEngine,
  type UseConversationReturn,
  type UseSocketIOReturn,
} from "../src/index.js";

// React's act() warnings need this flag in a non-Jest runner.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

// jsdom replaces the global URL; node:fs wants Node's own.
beforeAll(async () => {
  await loadEngine(await readFile(new NodeURL("../pkg/client_wasm_bg.wasm", import.meta.url)));
});

const engines: ChatEngine[] = [];
afterEach(() => {
  cleanup();
  for (const engine of engines.splice(0)) engine.destroy();
});

/** An engine for a server that is never reached (nothing listens on port 9), in memory. */
async function engine(): Promise<ChatEngine> {
  const e = await createChatEngine({ url: "http://127.0.0.1:9", getToken: () => "token", storage: "memory" });
  engines.push(e);
  return e;
}

/** Renders `hook` in a component, recording every render's result. */
function renderHook<T>(hook: () => T, engine: ChatEngine): { results: T[]; unmount: () => void } {
  const results: T[] = [];
  function Probe(): ReactNode {
    results.push(hook());
    return null;
  }
  const view = render(createElement(ChatEngineProvider, { engine }, createElement(Probe)));
  return { results, unmount: view.unmount };
}

describe("useConversation", () => {
  it("re-renders only when its own conversation changes", async () => {
    const e = await engine();
    const { results } = renderHook(() => useConversation(1), e);
    // The first render, and one more when joining on mount creates the conversation.
    expect(results.length).toBeLessThanOrEqual(2);
    expect(results.at(-1)?.messages).toEqual([]);
    const before = results.length;

    act(() => e.join(2)); // another conversation
    act(() => e.send(2, "elsewhere"));
    expect(results).toHaveLength(before);

    act(() => void e.send(1, "here"));
    expect(results.length).toBe(before + 1);
    const last = results.at(-1) as UseConversationReturn;
    expect(last.messages.map((m) => [m.text, m.status])).toEqual([["here", "sending"]]);
    expect(last.messages[0]?.id).toBeNull();
  });

  it("keeps the identity of messages and arrays that did not change", async () => {
    const e = await engine();
    const { results } = renderHook(() => useConversation(1), e);
    act(() => void e.send(1, "first"));
    const first = (results.at(-1) as UseConversationReturn).messages[0];
    act(() => void e.send(1, "second"));
    const now = results.at(-1) as UseConversationReturn;
    expect(now.messages).toHaveLength(2);
    expect(now.messages[0]).toBe(first);
    expect(Object.isFrozen(now.messages)).toBe(true);
    expect(e.getConversation(1)).toBe(e.getSnapshot().conversations[1]);
  });

  it("joins on mount and leaves on unmount, and sends through the engine", async () => {
    const e = await engine();
    const join = vi.spyOn(e, "join");
    const leave = vi.spyOn(e, "leave");
    const { results, unmount } = renderHook(() => useConversation(7), e);
    expect(join).toHaveBeenCalledWith(7);
    let id: unknown;
    act(() => {
      id = (results.at(-1) as UseConversationReturn).send("hello");
    });
    expect(typeof id).toBe("string");
    expect(e.getSnapshot().outboxLength).toBe(1);
    unmount();
    expect(leave).toHaveBeenCalledWith(7);
  });

  it("releases its subscription on unmount", async () => {
    const e = await engine();
    let live = 0;
    const subscribe = e.subscribe.bind(e);
    vi.spyOn(e, "subscribe").mockImplementation((listener) => {
      live += 1;
      const off = subscribe(listener);
      return () => {
        live -= 1;
        off();
      };
    });
    const { unmount } = renderHook(() => useConversation(1), e);
    expect(live).toBeGreaterThan(0);
    unmount();
    expect(live).toBe(0);
  });

  it("reads nothing for a null id", async () => {
    const e = await engine();
    const { results } = renderHook(() => useConversation(null), e);
    expect(results.at(-1)?.messages).toEqual([]);
    expect(() => results.at(-1)?.send("x")).toThrow(/no chat engine or conversation/);
  });
});

describe("useSocketIO", () => {
  it("gives DESIGN.md 2.2's interface and does not re-render for message traffic", async () => {
    const e = await engine();
    const { results } = renderHook(() => useSocketIO({ autoConnect: false }), e);
    const first = results[0] as UseSocketIOReturn;
    expect(first).toMatchObject({ connected: false, connecting: false, error: null, state: "disconnected" });
    for (const f of ["sendMessage", "joinConversation", "leaveConversation", "onMessage", "onTyping", "onPresence"] as const) {
      expect(typeof first[f]).toBe("function");
    }
    const renders = results.length;
    act(() => e.join(3));
    act(() => void e.send(3, "traffic"));
    expect(results).toHaveLength(renders);

    await act(() => first.sendMessage(3, { text: "via the hook" }));
    expect(e.getConversation(3)?.messages.map((m) => m.text)).toEqual(["traffic", "via the hook"]);
    await expect(first.sendMessage(3, { text: "   " })).rejects.toThrow(/cannot be sent/);
  });

  it("connects on mount and shows the connection state", async () => {
    const e = await engine();
    const { results } = renderHook(() => useSocketIO(), e);
    expect(results.some((r) => r.connecting)).toBe(true);
  });

  it("removes the listeners it registered when the component unmounts", async () => {
    const e = await engine();
    let live = 0;
    const onEvent = e.onEvent.bind(e);
    vi.spyOn(e, "onEvent").mockImplementation((listener) => {
      live += 1;
      const off = onEvent(listener);
      return () => {
        live -= 1;
        off();
      };
    });
    const { results, unmount } = renderHook(() => useSocketIO({ autoConnect: false }), e);
    const hook = results.at(-1) as UseSocketIOReturn;
    hook.onMessage(() => {});
    hook.onTyping(() => {});
    const offPresence = hook.onPresence(() => {});
    expect(live).toBe(3);
    offPresence();
    expect(live).toBe(2);
    unmount();
    expect(live).toBe(0);
  });

  it("shows an engine without a token as error with code auth, and a failing getToken as a retry", async () => {
    const noToken = await createChatEngine({ url: "http://127.0.0.1:9", getToken: () => null, storage: "memory" });
    engines.push(noToken);
    const { results } = renderHook(() => useSocketIO(), noToken);
    await act(async () => {
      await Promise.resolve(); // getToken's answer is awaited as a promise
    });
    const last = results.at(-1) as UseSocketIOReturn;
    expect(last.state).toBe("error");
    expect(last.error).toBeInstanceOf(Error);
    expect(last.error?.code).toBe("auth");
    expect(noToken.getSnapshot().connection.reconnectAt).toBeNull();

    const failing = await createChatEngine({
      url: "http://127.0.0.1:9",
      getToken: () => Promise.reject(new Error("refresh failed")),
      storage: "memory",
    });
    engines.push(failing);
    const warnings: string[] = [];
    failing.onEvent((e) => e.type === "warning" && warnings.push(e.message));
    failing.connect();
    await act(async () => {
      await new Promise<void>((resolve) => queueMicrotask(resolve));
    });
    const connection = failing.getSnapshot().connection;
    expect(connection.state).toBe("disconnected");
    expect(connection.reconnectAt).toBeGreaterThan(Date.now() - 1000);
    expect(warnings.some((w) => w.includes("refresh failed"))).toBe(true);
  });

  it("without an engine is disconnected and inert", () => {
    const results: UseSocketIOReturn[] = [];
    function Probe(): ReactNode {
      results.push(useSocketIO({ engine: null }));
      return null;
    }
    render(createElement(Probe));
    expect(results[0]).toMatchObject({ connected: false, state: "disconnected", engine: null });
    expect(results[0]?.onMessage(() => {})).toBeTypeOf("function");
  });
});
