// Runs the engine's JS build under the real Hermes VM (npm `hermes-engine-cli`, whose
// Linux `hermes` has no WebAssembly, like a phone): bundles suite.js with the package's
// sources and the JS build (esbuild), lowers what Hermes 0.12 lacks (classes, block
// scoping: Babel, as Metro's preset does for React Native), puts host.js in front, runs
// it, and fails unless every test passed. `node js/client/hermes/run.mjs` after
// `cargo xtask build` (it needs js/client/pkg and js/client/pkg-js).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { transformAsync } from "@babel/core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../..");
const hermes = join(root, "node_modules/hermes-engine-cli/linux64-bin/hermes");
for (const needed of [hermes, join(here, "../pkg-js/engine.js"), join(here, "../pkg/client_wasm.js")]) {
  if (!existsSync(needed)) {
    console.error(`missing ${needed}: run npm ci and cargo xtask build first`);
    process.exit(1);
  }
}

const bundled = await build({
  entryPoints: [join(here, "suite.js")],
  bundle: true,
  write: false,
  format: "iife",
  // Hermes 0.12 has generators but no async functions or newer syntax.
  target: "es2016",
  logLevel: "error",
  // The wasm glue is bundled too (the package imports it) but never runs here.
  logOverride: { "empty-import-meta": "silent" },
});
const lowered = await transformAsync(bundled.outputFiles[0].text, {
  babelrc: false,
  configFile: false,
  compact: false,
  plugins: ["@babel/plugin-transform-classes", "@babel/plugin-transform-block-scoping"],
});
const dir = mkdtempSync(join(tmpdir(), "chat-hermes-"));
const script = join(dir, "suite.js");
writeFileSync(script, `${readFileSync(join(here, "host.js"), "utf8")}\n${lowered.code}`);
const run = spawnSync(hermes, [script], { encoding: "utf8", timeout: 300_000 });
process.stdout.write(run.stdout ?? "");
process.stderr.write(run.stderr ?? "");
const summary = /hermes: (\d+) passed, (\d+) failed/.exec(run.stdout ?? "");
if (run.status !== 0 || summary === null || summary[2] !== "0" || summary[1] === "0") {
  console.error(`the Hermes suite failed (exit ${run.status}${run.error ? `, ${run.error.message}` : ""})`);
  process.exit(1);
}

// The same benchmark with the wasm build in Node (V8), for comparison.
const forNode = await build({
  entryPoints: [join(here, "suite.js")],
  bundle: true,
  write: false,
  format: "esm",
  platform: "node",
  logLevel: "error",
});
const nodeScript = join(dir, "bench.mjs");
const wasmPath = JSON.stringify(join(here, "../pkg/client_wasm_bg.wasm"));
writeFileSync(
  nodeScript,
  `import { readFileSync } from "node:fs";\nglobalThis.print = (line) => console.log(line);\nglobalThis.benchOnly = true;\nglobalThis.wasmBytes = readFileSync(${wasmPath});\n${readFileSync(join(here, "host.js"), "utf8")}\n${forNode.outputFiles[0].text}`,
);
const node = spawnSync(process.execPath, [nodeScript], { encoding: "utf8", timeout: 300_000 });
process.stdout.write(node.stdout ?? "");
process.stderr.write(node.stderr ?? "");
