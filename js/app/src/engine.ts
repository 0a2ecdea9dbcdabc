/**
 * Creates the chat engine for a session. On the web the wasm module is a Metro asset (see
 * metro.config.js): its import is the hashed URL the export serves, which is passed to
 * the engine explicitly, because babel-preset-expo rewrites `import.meta.url` and
 * wasm-bindgen's default lookup would fetch the wrong file.
 *
 * On iOS and Android (Hermes, no WebAssembly) chat-client loads its JS build of the same
 * engine instead, and its native adapters: the outbox in `expo-sqlite/kv-store`,
 * reachability from `expo-network`, the foreground from `AppState` (docs/APP.md).
 */
import { createChatEngine } from "chat-client";
import type { ChatEngine } from "chat-client";
import wasmAsset from "chat-client/client_wasm_bg.wasm";

import { serverUrl } from "./config";
import type { Session } from "./session";

export async function startEngine(session: Session): Promise<ChatEngine> {
  return createChatEngine({
    url: serverUrl(),
    getToken: () => session.token,
    userId: session.user.id,
    // On native the asset is a number (a packager asset id), and no wasm is loaded there.
    ...(typeof wasmAsset === "string" ? { wasm: wasmAsset } : {}),
  });
}
