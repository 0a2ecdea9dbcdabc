/**
 * chat-client: the chat engine (Rust, compiled to WebAssembly) behind a small JS API,
 * React hooks over it, and typed REST helpers.
 *
 * Layout:
 * - `types.ts`: every public type (no runtime code).
 * - `engine.ts`: `loadEngine` (the wasm module, once) and `createChatEngine`.
 * - `errors.ts`: `ChatEngineError`, what every refusal of the engine throws.
 * - `generated/bindings.ts`: the `ChatEngine` interface, the class over the wasm's `call`
 *   and the refusals' texts, rendered from client-wasm's lists (not edited by hand).
 * - `react.ts`: `useSocketIO`, `useConversation`, `useConversations`, `ChatEngineProvider`, `useChatEngine`.
 * - `conversationList.ts`: the list's lines from REST names and the engine's live numbers; `conversationName`.
 * - `api.ts`: `createApi` (register/login → token, users, conversations, history) and `ApiError`.
 * - `../pkg`: the wasm-bindgen output (`cargo xtask build`), not edited by hand.
 */
export type * from "./types.js";
export { createChatEngine, engineBuild, engineVersion, loadEngine, type EngineBuild } from "./engine.js";
export { ChatEngineError } from "./errors.js";
export { ChatEngineProvider, useChatEngine, useConversation, useConversations, useSocketIO } from "./react.js";
export { conversationName } from "./conversationList.js";
export { ApiError, createApi } from "./api.js";
