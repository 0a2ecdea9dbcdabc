// @vitest-environment jsdom
/**
 * The hooks over a real engine (the wasm module loaded from its bytes).
 *
 * Without a server (nothing listens on port 9): one render per change of what a
 * component reads, none for changes elsewhere; listeners and conversations released on
 * unmount; commands reaching the engine.
 *
 * Against a real chat-server (`CHAT_TEST_SERVER_URL`, which `cargo xtask test` starts):
 * two users registered through the REST API, and the hooks of one seeing the other's
 * messages, typing and presence. Without the variable these skip (and fail under `CI`).
 * Their sockets are `ws`'s WebSocket: jsdom's (over undici) dispatches jsdom's `Event` on
 * a Node `EventTarget` and throws. Like a native app, `ws` sends no `Origin`, which the
 * server lets through.
 */
import { readFile } from "node:fs/promises";
import { URL as NodeURL } from "node:url";
import { act, cleanup, render } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import {
  ChatEngineProvider,
  conversationName,
  createApi,
  createChatEngine,
  loadEngine,
  useConversation,
  useConversations,
  useSocketIO,
  type AuthResult,
  type ChatEngine,
  type Message,
  type UseConversationReturn,
  type UseConversationsReturn,
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

const SERVER_URL = process.env["CHAT_TEST_SERVER_URL"];

if (SERVER_URL === undefined && process.env["CI"] !== undefined) {
  it("has a chat-server under CI (CHAT_TEST_SERVER_URL)", () => {
    expect.fail("CHAT_TEST_SERVER_URL is not set: the hook tests need a chat-server (cargo xtask test starts one)");
  });
}

/**
 * For a suite against the server: updates come from the network, outside any act(), and
 * React renders them itself; sockets are `ws`'s (see the top of this file).
 */
function renderingNetworkUpdates(): void {
  const global = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean; WebSocket: unknown };
  const jsdomWebSocket = global.WebSocket;
  beforeAll(() => {
    global.IS_REACT_ACT_ENVIRONMENT = false;
    global.WebSocket = NodeWebSocket;
  });
  afterAll(() => {
    global.IS_REACT_ACT_ENVIRONMENT = true;
    global.WebSocket = jsdomWebSocket;
  });
}

describe.skipIf(SERVER_URL === undefined)("the hooks against a real chat-server", () => {
  const url = SERVER_URL ?? "";
  /** Long enough for a debug server on a busy machine; the waits end as soon as the event is seen. */
  const within = { timeout: 15_000, interval: 20 };

  renderingNetworkUpdates();

  async function register(): Promise<AuthResult> {
    const name = `hooks-${Math.random().toString(36).slice(2, 12)}`;
    return createApi({ url }).register(name, "correct-horse-battery-staple");
  }

  async function engineOf(user: AuthResult): Promise<ChatEngine> {
    const e = await createChatEngine({ url, getToken: () => user.token, storage: "memory", userId: user.user.id });
    engines.push(e);
    return e;
  }

  /** Alice and Bob, a conversation of theirs, and Alice's engine joined to it and caught up. */
  async function aliceAndBob(): Promise<{ alice: AuthResult; bob: AuthResult; id: number; engine: ChatEngine }> {
    const [alice, bob] = await Promise.all([register(), register()]);
    const conversation = await createApi({ url, getToken: () => alice.token }).createConversation([bob.user.id]);
    const engine = await engineOf(alice);
    engine.setParticipants(conversation.id, conversation.participantIds);
    return { alice, bob, id: conversation.id, engine };
  }

  /** `aliceAndBob`, with Alice's `useSocketIO` mounted and the conversation joined through it. */
  async function aliceListening(): Promise<Awaited<ReturnType<typeof aliceAndBob>> & { hook: UseSocketIOReturn }> {
    const pair = await aliceAndBob();
    const { results } = renderHook(() => useSocketIO(), pair.engine);
    const hook = results.at(-1) as UseSocketIOReturn;
    hook.joinConversation(pair.id);
    await vi.waitFor(() => expect(pair.engine.getConversation(pair.id)?.synced).toBe(true), within);
    return { ...pair, hook };
  }

  /** Bob's engine, connected and caught up in the conversation. */
  async function bobJoins(bob: AuthResult, id: number): Promise<ChatEngine> {
    const e = await engineOf(bob);
    e.connect();
    e.join(id);
    await vi.waitFor(() => expect(e.getConversation(id)?.synced).toBe(true), within);
    return e;
  }

  it("useSocketIO connects on mount and shows connecting, then connected", async () => {
    const { engine } = await aliceAndBob();
    const { results } = renderHook(() => useSocketIO(), engine);
    await vi.waitFor(() => expect(results.at(-1)?.connected).toBe(true), within);
    expect(results.some((r) => r.connecting)).toBe(true);
    expect(results.at(-1)).toMatchObject({ state: "connected", error: null });
  });

  it("onMessage sees the other user's message, and stops at unsubscribe", async () => {
    const { bob, id, engine, hook } = await aliceListening();
    const seen: Message[] = [];
    const off = hook.onMessage((message) => seen.push(message));

    const bobs = await bobJoins(bob, id);
    bobs.send(id, "hello from bob");
    await vi.waitFor(() => expect(seen.map((m) => m.text)).toEqual(["hello from bob"]), within);
    expect(seen[0]).toMatchObject({ conversationId: id, senderId: bob.user.id, seq: 1 });

    off();
    const raw: string[] = [];
    engine.onEvent((e) => e.type === "message" && raw.push(e.message.text));
    bobs.send(id, "after unsubscribe");
    await vi.waitFor(() => expect(raw).toEqual(["after unsubscribe"]), within);
    expect(seen).toHaveLength(1);
  });

  it("onTyping sees the other user typing in the conversation", async () => {
    const { bob, id, hook } = await aliceListening();
    const typing: [number, boolean, number][] = [];
    hook.onTyping((userId, isTyping, conversationId) => typing.push([userId, isTyping, conversationId]));

    const bobs = await bobJoins(bob, id);
    bobs.typing(id);
    await vi.waitFor(() => expect(typing).toContainEqual([bob.user.id, true, id]), within);
    // A message ends its sender's typing.
    bobs.send(id, "done typing");
    await vi.waitFor(() => expect(typing).toContainEqual([bob.user.id, false, id]), within);
  });

  it("onPresence sees the other user come online and go offline", async () => {
    const { bob, id, hook } = await aliceListening();
    const presence: [number, boolean][] = [];
    hook.onPresence((userId, isOnline) => presence.push([userId, isOnline]));

    const bobs = await bobJoins(bob, id);
    await vi.waitFor(() => expect(presence).toContainEqual([bob.user.id, true]), within);
    bobs.destroy();
    await vi.waitFor(() => expect(presence.at(-1)).toEqual([bob.user.id, false]), within);
  });

  it("useConversation shows both users' messages as stored, who types and who is online", async () => {
    const { bob, id, engine } = await aliceAndBob();
    engine.connect();
    const { results } = renderHook(() => useConversation(id), engine);
    await vi.waitFor(() => expect(results.at(-1)?.synced).toBe(true), within);
    const last = (): UseConversationReturn => results.at(-1) as UseConversationReturn;

    last().send("hi bob");
    expect(engine.getConversation(id)?.messages.map((m) => [m.text, m.status])).toEqual([["hi bob", "sending"]]);
    await vi.waitFor(() => expect(last().messages.map((m) => [m.text, m.status])).toEqual([["hi bob", "sent"]]), within);

    const bobs = await bobJoins(bob, id);
    await vi.waitFor(() => expect(last().onlineUserIds).toContain(bob.user.id), within);
    bobs.typing(id);
    await vi.waitFor(() => expect(last().typingUserIds).toEqual([bob.user.id]), within);
    bobs.send(id, "hi alice");
    await vi.waitFor(
      () =>
        expect(last().messages.map((m) => [m.text, m.seq, m.senderId])).toEqual([
          ["hi bob", 1, engine.userId],
          ["hi alice", 2, bob.user.id],
        ]),
      within,
    );
    expect(last().typingUserIds).toEqual([]);
  });
});

describe.skipIf(SERVER_URL === undefined)("the conversation list against a real chat-server", () => {
  const url = SERVER_URL ?? "";
  const within = { timeout: 15_000, interval: 20 };
  renderingNetworkUpdates();

  async function register(prefix: string): Promise<AuthResult> {
    return createApi({ url }).register(`${prefix}-${Math.random().toString(36).slice(2, 10)}`, "correct-horse-battery-staple");
  }

  async function connected(user: AuthResult): Promise<ChatEngine> {
    const e = await createChatEngine({ url, getToken: () => user.token, storage: "memory", userId: user.user.id });
    engines.push(e);
    e.connect();
    await vi.waitFor(() => expect(e.getSnapshot().connection.state).toBe("connected"), within);
    return e;
  }

  const apiOf = (user: AuthResult) => createApi({ url, getToken: () => user.token });

  it("names each conversation, orders by activity, and counts unread messages live without joining", async () => {
    const [alice, bob, carol] = await Promise.all([register("alice"), register("bob"), register("carol")]);
    const withBob = await apiOf(alice).createConversation([bob.user.id]);
    const group = await apiOf(alice).createConversation([bob.user.id, carol.user.id], "Trip");
    const engine = await connected(alice);
    const { results } = renderHook(() => useConversations({ api: apiOf(alice) }), engine);
    const last = (): UseConversationsReturn => results.at(-1) as UseConversationsReturn;
    await vi.waitFor(() => expect(last().conversations.map((c) => c.id)).toEqual([group.id, withBob.id]), within);
    expect(last().loading).toBe(false);
    const [first, second] = last().conversations;
    expect(conversationName(first!, alice.user.id)).toBe("Trip");
    expect(conversationName(second!, alice.user.id)).toBe(bob.user.username);
    expect(second!.participants.map((p) => p.username).sort()).toEqual([alice.user.username, bob.user.username].sort());

    // Bob writes in the direct conversation, which Alice has not joined: it moves to the top.
    const bobs = await connected(bob);
    bobs.send(withBob.id, "one");
    bobs.send(withBob.id, "two");
    await vi.waitFor(() => {
      const top = last().conversations[0];
      expect([top?.id, top?.unreadCount, top?.lastMessage?.text]).toEqual([withBob.id, 2, "two"]);
    }, within);
    // Nothing that the list shows changes: the same array.
    const before = last().conversations;
    engine.typing(group.id);
    expect(last().conversations).toBe(before);

    // Carol writes in the group: it is first again, with its own count.
    const carols = await connected(carol);
    carols.send(group.id, "hello trip");
    await vi.waitFor(
      () =>
        expect(last().conversations.map((c) => [c.id, c.unreadCount])).toEqual([
          [group.id, 1],
          [withBob.id, 2],
        ]),
      within,
    );
  });

  it("markRead() on one device clears the count on the other, and the sender sees read", async () => {
    const [alice, bob] = await Promise.all([register("alice"), register("bob")]);
    const conversation = await apiOf(alice).createConversation([bob.user.id]);
    const bobs = await connected(bob);
    const sent = bobs.send(conversation.id, "are you there?");
    await vi.waitFor(
      () => expect(bobs.getConversation(conversation.id)?.messages.find((m) => m.clientMessageId === sent)?.status).toBe("sent"),
      within,
    );

    const phone = await connected(alice);
    const laptop = await connected(alice);
    const list = renderHook(() => useConversations({ api: apiOf(alice) }), laptop);
    const laptopList = (): UseConversationsReturn => list.results.at(-1) as UseConversationsReturn;
    await vi.waitFor(() => expect(laptopList().conversations[0]?.unreadCount).toBe(1), within);

    const room = renderHook(() => useConversation(conversation.id), phone);
    const phoneRoom = (): UseConversationReturn => room.results.at(-1) as UseConversationReturn;
    await vi.waitFor(() => expect(phoneRoom().synced).toBe(true), within);
    expect(phoneRoom().unreadCount).toBe(1);
    phoneRoom().markRead();
    expect(phone.getConversation(conversation.id)?.unreadCount).toBe(0);
    await vi.waitFor(() => expect(laptopList().conversations[0]?.unreadCount).toBe(0), within);
    await vi.waitFor(
      () => expect(bobs.getConversation(conversation.id)?.messages.find((m) => m.clientMessageId === sent)?.status).toBe("read"),
      within,
    );
  });
});
