/**
 * The engine's JS build (wasm2js, what Hermes runs on phones) in Node with `WebAssembly`
 * deleted, chatting through a real chat-server (`CHAT_TEST_SERVER_URL`, which `cargo
 * xtask test` starts) with a wasm engine: each message exactly once and in order, an
 * outbox kept through a storage adapter surviving an engine restart, the reachability
 * adapter going offline and online, and a foreground event reconnecting at once. Without
 * the variable these skip (and fail under `CI`).
 *
 * The wasm peer is the wasm glue instantiated before `WebAssembly` is deleted, behind the
 * same generated class the package uses.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import { initSync, ChatEngine as WasmChatEngine } from "../pkg/client_wasm.js";
import { createApi, createChatEngine, engineBuild, type AuthResult, type ChatEngine, type KeyValueStorage } from "../src/index.js";
import { ChatEngineOverCall } from "../src/generated/bindings.js";

const global = globalThis as { WebAssembly?: typeof WebAssembly; WebSocket?: unknown; fetch: typeof fetch };
const savedWebAssembly = global.WebAssembly;
const savedFetch = global.fetch;
global.WebSocket = NodeWebSocket;

/**
 * `fetch` over `node:http`: Node's own parses HTTP with a wasm module (undici's llhttp),
 * so without `WebAssembly` it fails, where a phone's fetch works. Only what the engine
 * and the REST helpers use: method, headers, a string body, status and text.
 */
async function httpFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const body = request.body === null ? undefined : await request.text();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    const outgoing = httpRequest(request.url, { method: request.method, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => {
        const status = incoming.statusCode ?? 500;
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(new Response(status === 204 ? null : text, { status }));
      });
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

const SERVER_URL = process.env["CHAT_TEST_SERVER_URL"];
const within = { timeout: 15_000, interval: 20 };

if (SERVER_URL === undefined && process.env["CI"] !== undefined) {
  it("has a chat-server under CI (CHAT_TEST_SERVER_URL)", () => {
    expect.fail("CHAT_TEST_SERVER_URL is not set: the JS build's tests need a chat-server (cargo xtask test starts one)");
  });
}

/** A storage adapter over a Map, like expo-sqlite's kv-store. */
function mapStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

/** A reachability adapter the test switches. */
function switchable(): { reachability: (set: (online: boolean) => void) => () => void; set: (online: boolean) => void } {
  let listener: ((online: boolean) => void) | undefined;
  return {
    reachability: (set) => {
      listener = set;
      return () => (listener = undefined);
    },
    set: (online) => listener?.(online),
  };
}

describe.skipIf(SERVER_URL === undefined)("the JS build without WebAssembly, against a real chat-server", () => {
  const url = SERVER_URL ?? "";
  const engines: ChatEngine[] = [];
  afterEach(() => {
    for (const e of engines.splice(0)) e.destroy();
  });

  beforeAll(async () => {
    initSync({ module: await readFile(new URL("../pkg/client_wasm_bg.wasm", import.meta.url)) });
    await savedFetch(`${url}/healthz`); // Node loads its HTTP parser (wasm) on first use
    delete global.WebAssembly;
    global.fetch = httpFetch;
  });
  afterAll(() => {
    if (savedWebAssembly !== undefined) global.WebAssembly = savedWebAssembly;
    global.fetch = savedFetch;
  });

  async function register(): Promise<AuthResult> {
    return createApi({ url }).register(`jsb-${Math.random().toString(36).slice(2, 12)}`, "correct-horse-battery-staple");
  }

  /** A wasm engine (the peer), connected and caught up in `id`. */
  async function wasmPeer(user: AuthResult, id: number): Promise<ChatEngine> {
    const wasm = new WasmChatEngine({ url, getToken: () => user.token, storage: "memory", userId: user.user.id });
    const peer = new ChatEngineOverCall((command, a, b) => wasm.call(command, a, b));
    engines.push(peer);
    peer.connect();
    peer.join(id);
    await vi.waitFor(() => expect(peer.getConversation(id)?.synced).toBe(true), within);
    return peer;
  }

  async function pair(): Promise<{ alice: AuthResult; bob: AuthResult; id: number }> {
    const [alice, bob] = await Promise.all([register(), register()]);
    const conversation = await createApi({ url, getToken: () => alice.token }).createConversation([bob.user.id]);
    return { alice, bob, id: conversation.id };
  }

  const texts = (e: ChatEngine, id: number) => (e.getConversation(id)?.messages ?? []).map((m) => m.text);
  // Stored: `sent`, or already `read` (the peer's reply moves its watermark past them).
  const allStored = (e: ChatEngine, id: number) =>
    (e.getConversation(id)?.messages ?? []).every((m) => m.status === "sent" || m.status === "read");

  it("chats with a wasm engine: each message once, in order", async () => {
    expect(typeof globalThis.WebAssembly).toBe("undefined");
    const { alice, bob, id } = await pair();
    const js = await createChatEngine({ url, getToken: () => alice.token, storage: "memory", userId: alice.user.id });
    engines.push(js);
    expect(engineBuild()).toBe("js");
    js.connect();
    js.join(id);
    await vi.waitFor(() => expect(js.getConversation(id)?.synced).toBe(true), within);
    const wasm = await wasmPeer(bob, id);
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) {
      js.send(id, `from js ${i}`);
      expected.push(`from js ${i}`);
      await vi.waitFor(() => expect(allStored(js, id)).toBe(true), within);
      wasm.send(id, `from wasm ${i}`);
      expected.push(`from wasm ${i}`);
      await vi.waitFor(() => expect(allStored(wasm, id)).toBe(true), within);
    }
    await vi.waitFor(() => expect(texts(js, id)).toEqual(expected), within);
    await vi.waitFor(() => expect(texts(wasm, id)).toEqual(expected), within);
    const seqs = js.getConversation(id)?.messages.map((m) => m.seq);
    expect(seqs).toEqual(expected.map((_, i) => i + 1));
  });

  it("keeps the outbox through the storage adapter across a restart, offline then online", async () => {
    const { alice, bob, id } = await pair();
    const storage = mapStorage();
    const network = switchable();
    const options = { url, getToken: () => alice.token, storage, userId: alice.user.id, lifecycle: null };
    const first = await createChatEngine({ ...options, reachability: network.reachability });
    first.connect();
    first.join(id);
    await vi.waitFor(() => expect(first.getConversation(id)?.synced).toBe(true), within);
    network.set(false);
    expect(first.getSnapshot().connection.state).toBe("disconnected");
    first.send(id, "queued 1");
    first.send(id, "queued 2");
    expect(first.getSnapshot().outboxLength).toBe(2);
    expect([...storage.map.keys()]).toEqual([`chat-client/outbox/v1/${url}/${alice.user.id}`]);
    first.destroy();

    const second = await createChatEngine({ ...options, reachability: null });
    engines.push(second);
    expect(texts(second, id)).toEqual(["queued 1", "queued 2"]);
    second.connect();
    second.join(id);
    await vi.waitFor(() => expect(second.getSnapshot().outboxLength).toBe(0), within);
    expect(storage.map.size).toBe(0);
    const wasm = await wasmPeer(bob, id);
    await vi.waitFor(() => expect(texts(wasm, id)).toEqual(["queued 1", "queued 2"]), within);
  });

  it("reconnects at once on online, and on a foreground event instead of waiting out the backoff", async () => {
    const { alice } = await pair();
    const network = switchable();
    let foreground: (() => void) | undefined;
    let failing = true;
    const js = await createChatEngine({
      url,
      getToken: () => (failing ? Promise.reject(new Error("no token yet")) : alice.token),
      storage: "memory",
      reachability: network.reachability,
      lifecycle: (on) => {
        foreground = on;
        return () => (foreground = undefined);
      },
    });
    engines.push(js);
    js.connect();
    // The token getter failed: the engine backs off for a second or more.
    await vi.waitFor(() => expect(js.getSnapshot().connection.reconnectAt).not.toBeNull(), within);
    failing = false;
    foreground?.();
    expect(js.getSnapshot().connection.state).toBe("connecting");
    await vi.waitFor(() => expect(js.getSnapshot().connection.state).toBe("connected"), within);
    network.set(false);
    expect(js.getSnapshot().connection.state).toBe("disconnected");
    network.set(true);
    expect(js.getSnapshot().connection.state).toBe("connecting");
    await vi.waitFor(() => expect(js.getSnapshot().connection.state).toBe("connected"), within);
  });
});
