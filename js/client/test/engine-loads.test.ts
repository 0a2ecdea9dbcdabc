import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { createChatEngine, engineVersion, loadEngine } from "../src/index.js";

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

  it("reads the outbox's user from the token when no userId is given", async () => {
    await loadEngine(await wasmBytes());
    const payload = Buffer.from(JSON.stringify({ userId: 42, exp: 4102444800 })).toString("base64url");
    const e = await createChatEngine({ url: "http://127.0.0.1:9", getToken: async () => `h.${payload}.s` });
    expect(e.userId).toBe(42);
    e.destroy();
  });
});
