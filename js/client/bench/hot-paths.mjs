// The engine's hot paths in Node, through the wasm and its JS API (what a browser runs):
//   node js/client/bench/hot-paths.mjs        (after `cargo xtask build`: it uses dist/)
// A scripted WebSocket and fetch stand in for chat-server, answering at once:
// - an older page of 100 merged into a timeline of 10,000 (`loadOlder` → the page → the
//   subscriber), the timeline grown by 100 such pages first;
// - 1,000 `message:new` frames delivered one by one, reading `getSnapshot()` after each
//   (as a React subscriber would).
import { readFile } from "node:fs/promises";
import { createChatEngine, loadEngine } from "../dist/engine.js";

await loadEngine(await readFile(new URL("../pkg/client_wasm_bg.wasm", import.meta.url)));

const CONVERSATION = 5;
let lastSeq = 0;
const message = (seq) => ({
  id: seq, conversationId: CONVERSATION, seq, senderId: 2, text: `message number ${seq}`,
  clientMessageId: null, createdAt: "2026-01-01T00:00:00.000Z",
});

class ScriptedSocket {
  static last;
  constructor() {
    ScriptedSocket.last = this;
    queueMicrotask(() => {
      this.onopen?.();
      this.deliver('0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}');
    });
  }
  deliver(data) { this.onmessage?.({ data }); }
  send(text) {
    if (text.startsWith("40")) queueMicrotask(() => this.deliver('40{"sid":"b"}'));
    const join = /^42(\d+)\["conversation:join"/.exec(text);
    if (join) {
      queueMicrotask(() => this.deliver(`43${join[1]}[{"success":true,"onlineUserIds":[],"lastSeq":${lastSeq}}]`));
    }
  }
  close() {}
}
globalThis.WebSocket = ScriptedSocket;
globalThis.fetch = async (request) => {
  const url = new URL(request.url);
  const before = Number(url.searchParams.get("beforeSeq") ?? lastSeq + 1);
  const from = Math.max(1, before - 100);
  const messages = [];
  for (let seq = from; seq < before; seq++) messages.push(message(seq));
  return new Response(JSON.stringify({ messages, hasMore: from > 1 }), { status: 200 });
};

/** Resolves once `predicate(engine)` holds, woken by the engine's subscribe. */
function until(engine, predicate) {
  return new Promise((resolve) => {
    if (predicate(engine)) return resolve();
    const off = engine.subscribe(() => {
      if (predicate(engine)) {
        off();
        resolve();
      }
    });
  });
}

async function joined(seq) {
  lastSeq = seq;
  const engine = await createChatEngine({ url: "http://bench.test", getToken: () => "t", storage: "memory" });
  engine.connect();
  engine.join(CONVERSATION);
  await until(engine, (e) => e.getConversation(CONVERSATION)?.synced === true);
  return engine;
}

const length = (engine) => engine.getConversation(CONVERSATION)?.messages.length ?? 0;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. An older page of 100 into a timeline of 10,000.
const merges = [];
for (let run = 0; run < 5; run++) {
  const engine = await joined(10_200);
  await until(engine, (e) => length(e) === 100);
  while (length(engine) < 10_000) {
    const target = length(engine) + 100;
    engine.loadOlder(CONVERSATION);
    await until(engine, (e) => length(e) === target);
  }
  const started = performance.now();
  engine.loadOlder(CONVERSATION);
  await until(engine, (e) => length(e) === 10_100);
  merges.push(performance.now() - started);
  engine.destroy();
}

// 2. 1,000 incoming messages.
const incoming = [];
const frames = Array.from({ length: 1000 }, (_, i) => `42["message:new",${JSON.stringify(message(i + 1))}]`);
for (let run = 0; run < 5; run++) {
  const engine = await joined(0);
  const socket = ScriptedSocket.last;
  const started = performance.now();
  for (const frame of frames) {
    socket.deliver(frame);
    engine.getSnapshot();
  }
  incoming.push(performance.now() - started);
  if (length(engine) !== 100) throw new Error(`expected a window of 100, got ${length(engine)}`);
  engine.destroy();
}

console.log(`older page of 100 into 10,000: median ${median(merges).toFixed(2)} ms (runs: ${merges.map((t) => t.toFixed(2)).join(", ")})`);
console.log(`1,000 incoming messages: median ${median(incoming).toFixed(2)} ms (runs: ${incoming.map((t) => t.toFixed(2)).join(", ")})`);
