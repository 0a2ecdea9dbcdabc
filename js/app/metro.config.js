// Metro for the web export (and the dev server). Expo's default config already knows
// npm workspaces: it watches the repository root and resolves from the hoisted
// node_modules, where `chat-client` (js/client) is a symlink. Additions:
//
// - `wasm` is an asset, so `import wasmUrl from "chat-client/client_wasm_bg.wasm"` (a
//   subpath the package exports) gives a hashed URL that the web export copies to
//   dist/assets, and the app hands that URL to the engine (src/engine.ts).
// - `chat-client` is bundled from its TypeScript sources (js/client/src), as the type
//   check (tsconfig.json `paths`) reads it: the export then needs only the wasm build
//   (js/client/pkg), never a stale or missing js/client/dist. The sources import
//   siblings as `./engine.js` (TypeScript's ESM convention), which Metro would not map
//   to `engine.ts` by itself; on iOS and Android a `.native.ts` sibling wins (the native
//   platform adapters, chat-client's src/platform.native.ts).
// - chat-client's JS build of the engine (js/client/pkg-js, wasm2js) is reached by a
//   dynamic import: a chunk of its own on the web, loaded only without WebAssembly; inside
//   the Hermes bundle on iOS and Android.
const fs = require("node:fs");
const path = require("node:path");
const { getDefaultConfig } = require("expo/metro-config");

const config = getDefaultConfig(__dirname);

config.resolver.assetExts = [...config.resolver.assetExts, "wasm"];
config.resolver.unstable_enablePackageExports = true;

const clientSources = path.resolve(__dirname, "../client/src");

config.resolver.resolveRequest = (context, moduleName, platform) => {
  if (moduleName === "chat-client") {
    return { type: "sourceFile", filePath: path.join(clientSources, "index.ts") };
  }
  if (
    moduleName.startsWith(".") &&
    moduleName.endsWith(".js") &&
    context.originModulePath.startsWith(clientSources + path.sep)
  ) {
    const base = path.resolve(path.dirname(context.originModulePath), moduleName.replace(/\.js$/, ""));
    // On iOS and Android, `platform.native.ts` over `platform.ts` (Metro's platform files).
    const candidates = platform === "ios" || platform === "android" ? [`${base}.native.ts`, `${base}.ts`] : [`${base}.ts`];
    const typescript = candidates.find((file) => fs.existsSync(file));
    if (typescript !== undefined) return { type: "sourceFile", filePath: typescript };
  }
  return context.resolveRequest(context, moduleName, platform);
};

module.exports = config;
