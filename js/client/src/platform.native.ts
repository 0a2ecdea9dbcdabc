/**
 * The platform adapters' defaults on iOS and Android (Metro picks this file over
 * `platform.ts` there). Every module is optional and loaded here, so an app that passes
 * its own adapter needs none of them:
 *
 * - storage: `expo-sqlite/kv-store` (`Storage`'s `getItemSync`/`setItemSync`/
 *   `removeItemSync`; it works in Expo Go). Missing, `createChatEngine` refuses with a
 *   `ChatEngineError` naming what to install or pass.
 * - reachability: `expo-network`'s `addNetworkStateListener` (and its state at start):
 *   offline when `isConnected` or `isInternetReachable` is `false`. Missing, the same.
 * - lifecycle: React Native's `AppState`: `active` after anything else is the foreground.
 */
import type { PlatformDefaults } from "./platform.js";
import type { KeyValueStorage, Lifecycle, Reachability } from "./types.js";

/** `expo-sqlite/kv-store`'s synchronous API, as far as the outbox uses it. */
export interface KvStoreModule {
  readonly Storage: {
    getItemSync(key: string): string | null;
    setItemSync(key: string, value: string): void;
    removeItemSync(key: string): boolean;
  };
}

/** `expo-network`'s state and listener, as far as reachability uses them. */
export interface NetworkModule {
  getNetworkStateAsync(): Promise<NetworkState>;
  addNetworkStateListener(listener: (state: NetworkState) => void): { remove(): void };
}

export interface NetworkState {
  readonly isConnected?: boolean | undefined;
  readonly isInternetReachable?: boolean | undefined;
}

/** React Native's `AppState`, as far as the lifecycle uses it. */
export interface AppStateModule {
  readonly AppState: {
    readonly currentState: string | null;
    addEventListener(type: "change", listener: (state: string) => void): { remove(): void };
  };
}

/** How the native defaults get their modules: each returns `undefined` when not installed. */
export interface NativeModules {
  kvStore(): KvStoreModule | undefined;
  network(): NetworkModule | undefined;
  appState(): AppStateModule | undefined;
}

/** The native defaults over `modules`. */
export function nativeDefaults(modules: NativeModules): PlatformDefaults {
  return {
    platform: "native",
    storage() {
      const kv = modules.kvStore();
      if (kv === undefined) return undefined;
      return kvStoreStorage(kv);
    },
    reachability() {
      const network = modules.network();
      return network === undefined ? undefined : networkReachability(network);
    },
    lifecycle() {
      const appState = modules.appState();
      return appState === undefined ? null : appStateLifecycle(appState);
    },
  };
}

/** `expo-sqlite/kv-store` as the outbox's key–value storage. */
export function kvStoreStorage({ Storage }: KvStoreModule): KeyValueStorage {
  return {
    getItem: (key) => Storage.getItemSync(key),
    setItem: (key, value) => Storage.setItemSync(key, value),
    removeItem: (key) => {
      Storage.removeItemSync(key);
    },
  };
}

/** `expo-network` as reachability. */
export function networkReachability(network: NetworkModule): Reachability {
  const online = (state: NetworkState) => state.isConnected !== false && state.isInternetReachable !== false;
  return (setOnline) => {
    let stopped = false;
    const subscription = network.addNetworkStateListener((state) => setOnline(online(state)));
    network.getNetworkStateAsync().then(
      (state) => {
        if (!stopped) setOnline(online(state));
      },
      () => {}, // unknown: leave the engine as it is
    );
    return () => {
      stopped = true;
      subscription.remove();
    };
  };
}

/** React Native's `AppState` as the lifecycle: `active` after another state is the foreground. */
export function appStateLifecycle({ AppState }: AppStateModule): Lifecycle {
  return (onForeground) => {
    let previous = AppState.currentState;
    const subscription = AppState.addEventListener("change", (state) => {
      if (state === "active" && previous !== "active") onForeground();
      previous = state;
    });
    return () => subscription.remove();
  };
}

declare const require: (name: string) => unknown;

/** `require(name)` of an optional module (Metro bundles it when installed). */
function optional<T>(load: () => unknown): () => T | undefined {
  return () => {
    try {
      return load() as T;
    } catch {
      return undefined;
    }
  };
}

/** This platform's defaults. */
export function platformDefaults(): PlatformDefaults {
  return nativeDefaults({
    // Literal names: Metro resolves each `require` at bundle time.
    kvStore: optional<KvStoreModule>(() => require("expo-sqlite/kv-store")),
    network: optional<NetworkModule>(() => require("expo-network")),
    appState: optional<AppStateModule>(() => require("react-native")),
  });
}
