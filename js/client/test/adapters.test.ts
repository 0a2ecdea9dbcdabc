/**
 * The platform adapters (src/platform.ts, src/platform.native.ts) over fakes of what they
 * wrap, and createChatEngine with them: the web defaults (localStorage, online/offline,
 * visibilitychange), the native ones (expo-sqlite/kv-store, expo-network, AppState), a
 * custom storage adapter, a throwing one (memory from then on, one warning), and a
 * missing native module (a clear error naming what to pass).
 */
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createWith } from "../src/engine.js";
import { ChatEngineError, loadEngine, type KeyValueStorage } from "../src/index.js";
import { webDefaults } from "../src/platform.js";
import { nativeDefaults, type NetworkState } from "../src/platform.native.js";

beforeAll(async () => {
  await loadEngine(await readFile(new URL("../pkg/client_wasm_bg.wasm", import.meta.url)));
});

const options = { url: "http://127.0.0.1:9", getToken: () => "token", userId: 7 } as const;
const KEY = "chat-client/outbox/v1/http://127.0.0.1:9/7";

function mapStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

/** An EventTarget-like object whose listeners the test can fire. */
function target() {
  const listeners = new Map<string, Set<() => void>>();
  return {
    addEventListener: (type: string, l: () => void) => listeners.set(type, (listeners.get(type) ?? new Set()).add(l)),
    removeEventListener: (type: string, l: () => void) => listeners.get(type)?.delete(l),
    fire: (type: string) => listeners.get(type)?.forEach((l) => l()),
    count: (type: string) => listeners.get(type)?.size ?? 0,
  };
}

describe("web defaults", () => {
  it("keep the outbox in localStorage, follow online/offline, and reconnect on visibilitychange", async () => {
    const window = target();
    const document = { ...target(), visibilityState: "visible" };
    const localStorage = mapStorage();
    const defaults = webDefaults({ window, document, localStorage, navigator: { onLine: false } });
    const engine = await createWith(options, defaults);
    expect(engine.getSnapshot().connection.state).toBe("disconnected");
    engine.connect();
    expect(engine.getSnapshot().connection.state).toBe("disconnected"); // offline at start
    engine.send(3, "kept");
    expect(localStorage.map.has(KEY)).toBe(true);
    window.fire("online");
    expect(engine.getSnapshot().connection.state).toBe("connecting");
    window.fire("offline");
    expect(engine.getSnapshot().connection.state).toBe("disconnected");
    document.fire("visibilitychange"); // offline: the foreground does not connect
    expect(engine.getSnapshot().connection.state).toBe("disconnected");
    engine.destroy();
    expect(window.count("online") + window.count("offline") + document.count("visibilitychange")).toBe(0);
  });

  it("fall back to memory where localStorage throws or is missing, and watch nothing outside a window", () => {
    const throwing = webDefaults(Object.defineProperty({}, "localStorage", { get: () => { throw new Error("denied"); } }));
    expect(throwing.storage()).toBe("memory");
    const node = webDefaults({});
    expect([node.storage(), node.reachability(), node.lifecycle()]).toEqual(["memory", null, null]);
  });
});

describe("native defaults", () => {
  function fakes() {
    const kv = new Map<string, string>();
    let network: ((state: NetworkState) => void) | undefined;
    let appState: ((state: string) => void) | undefined;
    const modules = {
      kvStore: () => ({
        Storage: {
          getItemSync: (k: string) => kv.get(k) ?? null,
          setItemSync: (k: string, v: string) => void kv.set(k, v),
          removeItemSync: (k: string) => kv.delete(k),
        },
      }),
      network: () => ({
        getNetworkStateAsync: async () => ({ isConnected: true, isInternetReachable: true }),
        addNetworkStateListener: (l: (state: NetworkState) => void) => ((network = l), { remove: () => (network = undefined) }),
      }),
      appState: () => ({
        AppState: {
          currentState: "active",
          addEventListener: (_: "change", l: (state: string) => void) => ((appState = l), { remove: () => (appState = undefined) }),
        },
      }),
    };
    return { kv, modules, network: (s: NetworkState) => network?.(s), appState: (s: string) => appState?.(s), listening: () => network !== undefined || appState !== undefined };
  }

  it("keep the outbox in expo-sqlite's kv-store, follow expo-network and reconnect on AppState active", async () => {
    const f = fakes();
    const engine = await createWith(options, nativeDefaults(f.modules));
    engine.send(3, "kept");
    expect(JSON.parse(f.kv.get(KEY) ?? "null")).not.toBeNull();
    engine.connect();
    f.network({ isConnected: true, isInternetReachable: false });
    expect(engine.getSnapshot().connection.state).toBe("disconnected");
    f.network({ isConnected: true, isInternetReachable: true });
    expect(engine.getSnapshot().connection.state).toBe("connecting");
    f.appState("background");
    f.appState("active");
    engine.destroy();
    expect(f.listening()).toBe(false);
    // A new engine restores what the first one stored.
    const again = await createWith(options, nativeDefaults(f.modules));
    expect(again.getSnapshot().outboxLength).toBe(1);
    again.destroy();
  });

  it("refuse clearly when expo-sqlite or expo-network is missing, unless the app passes its own", async () => {
    const f = fakes();
    const noKv = nativeDefaults({ ...f.modules, kvStore: () => undefined });
    await expect(createWith(options, noKv)).rejects.toThrow(/expo-sqlite is not installed.*pass `storage`/);
    await expect(createWith(options, noKv)).rejects.toBeInstanceOf(ChatEngineError);
    const noNetwork = nativeDefaults({ ...f.modules, network: () => undefined });
    await expect(createWith(options, noNetwork)).rejects.toThrow(/expo-network.*`reachability: null`/);
    const own = await createWith({ ...options, storage: mapStorage(), reachability: null }, nativeDefaults({ kvStore: () => undefined, network: () => undefined, appState: () => undefined }));
    own.destroy();
  });
});

describe("a custom storage adapter", () => {
  it("is used, and one that throws leaves the engine in memory with one warning", async () => {
    const custom = mapStorage();
    const engine = await createWith({ ...options, storage: custom, reachability: null, lifecycle: null }, webDefaults({}));
    engine.send(3, "first");
    expect(custom.map.has(KEY)).toBe(true);
    engine.destroy();

    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const full: KeyValueStorage = { getItem: () => null, setItem: () => { throw new Error("QuotaExceededError"); }, removeItem: () => {} };
    const e = await createWith({ ...options, storage: full, reachability: null, lifecycle: null }, webDefaults({}));
    const warnings: string[] = [];
    e.onEvent((event) => event.type === "warning" && warnings.push(event.message));
    e.send(3, "one");
    e.send(3, "two");
    expect(e.getSnapshot().outboxLength).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/could not write the outbox.*QuotaExceededError.*memory/)]);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
    e.destroy();
  });
});
