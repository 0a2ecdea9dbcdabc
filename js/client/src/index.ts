/**
 * chat-client: the chat engine (Rust, compiled to WebAssembly) behind a small JS API,
 * React hooks over it, and typed REST helpers.
 *
 * Layout:
 * - `types.ts`: every public type (no runtime code).
 * - `engine.ts`: `loadEngine` (the wasm module, once) and `createChatEngine`.
 * - `react.ts`: `useSocketIO`, `useConversation`, `ChatEngineProvider`, `useChatEngine`.
 * - `api.ts`: `createApi` (register/login → token, users, conversations, history) and `ApiError`.
 * - `../pkg`: the wasm-bindgen output (`cargo xtask build`), not edited by hand.
 */
export type * from "./types.js";
export { createChatEngine, engineVersion, loadEngine } from "./engine.js";
export { ChatEngineProvider, useChatEngine, useConversation, useSocketIO } from "./react.js";
export { ApiError, createApi } from "./api.js";
