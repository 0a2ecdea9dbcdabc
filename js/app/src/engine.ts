/**
 * Creates the chat engine for a session. The wasm module is a Metro asset (see
 * metro.config.js): on web its import is the hashed URL the export serves, which is
 * passed to the engine explicitly, because babel-preset-expo rewrites `import.meta.url`
 * and wasm-bindgen's default lookup would fetch the wrong file.
 *
 * Native builds (Hermes) have no WebAssembly: `createChatEngine` rejects there, and the
 * app shows that error instead of the chat (docs/APP.md).
 */
import { createChatEngine } from "chat-client";
import type { ChatEngine } from "chat-client";
import wasmAsset from "chat-client/client_wasm_bg.wasm";

import { serverUrl } from "./config";
import type { Session } from "./session";

export function startEngine(session: Session): Promise<ChatEngine> {
  return createChatEngine({
    url: serverUrl(),
    getToken: () => session.token,
    storage: "local",
    userId: session.user.id,
    // On native the asset is a number (a packager asset id), of no use without WebAssembly.
    ...(typeof wasmAsset === "string" ? { wasm: wasmAsset } : {}),
  });
}
