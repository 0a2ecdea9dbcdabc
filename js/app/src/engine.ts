/**
 * Creates the chat engine for a session. The wasm module is a Metro asset (see
 * metro.config.js): on web its import is the hashed URL the export serves, which is
 * passed to the engine explicitly, because babel-preset-expo rewrites `import.meta.url`
 * and wasm-bindgen's default lookup would fetch the wrong file.
 *
 * Native builds (Hermes) have no WebAssembly: `startEngine` rejects there with a plain
 * explanation, and the app shows it instead of the chat (docs/APP.md).
 */
import { createChatEngine } from "chat-client";
import type { ChatEngine } from "chat-client";
import wasmAsset from "chat-client/client_wasm_bg.wasm";

import { serverUrl } from "./config";
import type { Session } from "./session";

export async function startEngine(session: Session): Promise<ChatEngine> {
  if (typeof WebAssembly === "undefined") {
    // Checked here too so the message is the same whatever chat-client's version says.
    throw new Error(
      "this JavaScript engine has no WebAssembly (Hermes on iOS and Android), and the chat engine is WebAssembly: use the web app in a browser",
    );
  }
  return createChatEngine({
    url: serverUrl(),
    getToken: () => session.token,
    storage: "local",
    userId: session.user.id,
    // On native the asset is a number (a packager asset id), of no use without WebAssembly.
    ...(typeof wasmAsset === "string" ? { wasm: wasmAsset } : {}),
  });
}
