import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { engineVersion, loadEngine } from "../src/index.js";

const wasmBytes = () => readFile(new URL("../pkg/client_wasm_bg.wasm", import.meta.url));

describe("the wasm engine in Node", () => {
  it("loads from its bytes and answers with the crate version", async () => {
    await loadEngine(await wasmBytes());
    const cargoToml = await readFile(new URL("../../../client-wasm/Cargo.toml", import.meta.url), "utf8");
    const crateVersion = /^version = "([^"]+)"/m.exec(cargoToml)?.[1];
    expect(crateVersion).toBeDefined();
    expect(engineVersion()).toBe(crateVersion);
  });

  it("instantiates the module only once however often it is loaded", async () => {
    const bytes = await wasmBytes();
    const first = loadEngine(bytes);
    expect(loadEngine(bytes)).toBe(first);
    await first;
  });
});
