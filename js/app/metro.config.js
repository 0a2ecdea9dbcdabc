// Metro for the web export (and the dev server). Expo's default config already knows
// npm workspaces (it watches the repository root and resolves from the hoisted
// node_modules), which is how `chat-client` (js/client, a symlink in node_modules) is
// found. Two additions:
// - `wasm` is an asset, so `import wasmUrl from "chat-client/client_wasm_bg.wasm"`
//   gives a hashed URL that the web export copies to dist/assets.
// - package `exports` are honoured, which chat-client uses to expose that wasm file.
const { getDefaultConfig } = require("expo/metro-config");

const config = getDefaultConfig(__dirname);

config.resolver.assetExts = [...config.resolver.assetExts, "wasm"];
config.resolver.unstable_enablePackageExports = true;

module.exports = config;
