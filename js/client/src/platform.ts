/**
 * The platform adapters' defaults on the web (and in Node, where there is nothing to
 * watch). React Native's bundler (Metro) picks `platform.native.ts` instead on iOS and
 * Android. Each concern is one small injectable function, as TanStack Query's
 * `onlineManager`/`focusManager` have them: `createChatEngine` takes the app's own in
 * `options.storage`, `options.reachability` and `options.lifecycle`, and uses these
 * where they are not given.
 *
 * - storage: `localStorage` where it can be used, else memory (the outbox then lasts as
 *   long as the page);
 * - reachability: the window's `online`/`offline` events (`navigator.onLine` at start);
 * - lifecycle: `visibilitychange` on the document, a page made visible again being the
 *   foreground.
 */
import type { KeyValueStorage, Lifecycle, Reachability } from "./types.js";

/**
 * A platform's defaults. Each answers `null` when there is nothing to watch (Node), and
 * `undefined` when the platform needs the adapter and cannot provide it (a module not
 * installed): `createChatEngine` then refuses, naming what to pass.
 */
export interface PlatformDefaults {
  readonly platform: "web" | "native";
  storage(): KeyValueStorage | "memory" | undefined;
  reachability(): Reachability | null | undefined;
  lifecycle(): Lifecycle | null | undefined;
}

interface EventSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface WebGlobals {
  localStorage?: KeyValueStorage;
  window?: EventSource;
  navigator?: { onLine?: boolean };
  document?: EventSource & { visibilityState?: string };
}

/** The web defaults over `globals` (the global object; tests pass their own). */
export function webDefaults(globals: WebGlobals = globalThis as WebGlobals): PlatformDefaults {
  return {
    platform: "web",
    storage() {
      try {
        const storage = globals.localStorage;
        return storage === undefined || storage === null ? "memory" : storage;
      } catch {
        return "memory"; // reading `localStorage` throws in some privacy modes
      }
    },
    reachability: () => webReachability(globals),
    lifecycle: () => webLifecycle(globals),
  };
}

function webReachability(globals: WebGlobals): Reachability | null {
  const target = globals.window;
  if (target === undefined || typeof target.addEventListener !== "function") return null;
  return (setOnline) => {
    const online = () => setOnline(true);
    const offline = () => setOnline(false);
    target.addEventListener("online", online);
    target.addEventListener("offline", offline);
    if (globals.navigator?.onLine === false) setOnline(false);
    return () => {
      target.removeEventListener("online", online);
      target.removeEventListener("offline", offline);
    };
  };
}

function webLifecycle(globals: WebGlobals): Lifecycle | null {
  const document = globals.document;
  if (document === undefined || typeof document.addEventListener !== "function") return null;
  return (onForeground) => {
    const changed = () => {
      if (document.visibilityState === "visible") onForeground();
    };
    document.addEventListener("visibilitychange", changed);
    return () => document.removeEventListener("visibilitychange", changed);
  };
}

/** This platform's defaults. */
export function platformDefaults(): PlatformDefaults {
  return webDefaults();
}
