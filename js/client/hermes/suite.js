// The engine's JS build under the Hermes VM, through the package's public API
// (createChatEngine): connect, join, send and ack, a lost frame retried, offline queueing,
// an outbox restored by a new engine; then the hot paths. Bundled by run.mjs (esbuild,
// then Babel for what Hermes 0.12 lacks) after host.js. Waits are conditions with a
// deadline in virtual time; each test prints "ok - name" or "not ok - name: why".
import { createChatEngine, engineBuild } from "../src/engine.ts";

const ROOM = 10;
const results = { passed: 0, failed: 0 };

/** Lets pending promise jobs run. */
async function settle() {
  for (let i = 0; i < 50; i++) await null;
}

/** Resolves once `check()` is true; runs due timers in between; fails after `ms` of virtual time. */
async function until(what, check, ms = 60_000) {
  const deadline = host.now() + ms;
  for (;;) {
    await settle();
    if (check()) return;
    if (host.now() > deadline || !host.fireNext()) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Runs the timers of the next `ms` of virtual time. */
async function runFor(ms) {
  const end = host.now() + ms;
  while (host.nextAt() !== null && host.nextAt() <= end) {
    host.fireNext();
    await settle();
  }
  host.moveTo(end);
}

function assert(condition, what) {
  if (!condition) throw new Error(what);
}

async function test(name, body) {
  try {
    await body();
    results.passed++;
    print(`ok - ${name}`);
  } catch (error) {
    results.failed++;
    print(`not ok - ${name}: ${error && error.message}`);
  }
}

/** A storage adapter over an object, shared between engine instances. */
function memoryStore() {
  const items = {};
  return {
    items,
    getItem: (key) => (key in items ? items[key] : null),
    setItem: (key, value) => {
      items[key] = String(value);
    },
    removeItem: (key) => {
      delete items[key];
    },
  };
}

/** A reachability adapter the test switches. */
function switchable() {
  const state = { set: undefined };
  return {
    reachability: (set) => {
      state.set = set;
      return () => (state.set = undefined);
    },
    set: (online) => state.set && state.set(online),
  };
}

const texts = (engine) => (engine.getConversation(ROOM)?.messages ?? []).map((m) => `${m.text}:${m.status}`);

async function engine(options = {}) {
  // run.mjs runs the benchmark in Node too, with the wasm build (its bytes given here).
  const wasm = globalThis.wasmBytes === undefined ? {} : { wasm: globalThis.wasmBytes };
  return createChatEngine({ url: "http://chat.test", getToken: () => "token", userId: 1, storage: "memory", lifecycle: null, reachability: null, ...wasm, ...options });
}

async function main() {
  if (globalThis.benchOnly) return bench();
  await test("the JS build loads where there is no WebAssembly", async () => {
    assert(typeof WebAssembly === "undefined", "Hermes has no WebAssembly");
    const e = await engine();
    assert(engineBuild() === "js", `build ${engineBuild()}`);
    e.destroy();
  });

  await test("connects, joins, sends, and the ack turns sending into sent", async () => {
    const e = await engine();
    e.connect();
    e.join(ROOM);
    await until("connected and synced", () => e.getSnapshot().connection.state === "connected" && e.getConversation(ROOM)?.synced === true);
    const id = e.send(ROOM, "hello from Hermes");
    assert(texts(e).join() === "hello from Hermes:sending", texts(e).join());
    await until("sent", () => texts(e).join() === "hello from Hermes:sent");
    const stored = host.server.messages.filter((m) => m.clientMessageId === id);
    assert(stored.length === 1, `stored ${stored.length} times`);
    e.destroy();
  });

  await test("a lost message:send frame is retried after the ack timeout and stored once", async () => {
    const e = await engine();
    e.connect();
    e.join(ROOM);
    await until("synced", () => e.getConversation(ROOM)?.synced === true);
    host.server.dropNextSends = 1;
    const seen = host.server.sendsSeen;
    const started = host.now();
    const id = e.send(ROOM, "lost once");
    await until("sent after a retry", () => e.getConversation(ROOM)?.messages.some((m) => m.clientMessageId === id && m.status === "sent"));
    assert(host.server.sendsSeen === seen + 2, `tries: ${host.server.sendsSeen - seen}`);
    assert(host.now() - started >= 5000, "waited for the ack timeout");
    assert(host.server.messages.filter((m) => m.clientMessageId === id).length === 1, "stored once");
    e.destroy();
  });

  await test("offline queues sends without trying; a new engine restores the outbox and sends it", async () => {
    const store = memoryStore();
    const network = switchable();
    const first = await engine({ storage: store, reachability: network.reachability });
    first.connect();
    first.join(ROOM);
    await until("synced", () => first.getConversation(ROOM)?.synced === true);
    network.set(false);
    assert(first.getSnapshot().connection.state === "disconnected", "offline closes at once");
    const seen = host.server.sendsSeen;
    first.send(ROOM, "queued 1");
    first.send(ROOM, "queued 2");
    await runFor(60_000);
    assert(host.server.sendsSeen === seen, "nothing sent while offline");
    assert(first.getSnapshot().outboxLength === 2, "two queued");
    assert(Object.keys(store.items).length === 1, "the outbox is stored");
    first.destroy();

    const second = await engine({ storage: store });
    const restored = (second.getConversation(ROOM)?.messages ?? []).map((m) => m.text);
    assert(restored.join() === "queued 1,queued 2", `restored ${restored.join()}`);
    second.connect();
    second.join(ROOM);
    await until("flushed", () => second.getSnapshot().outboxLength === 0);
    const stored = host.server.messages.map((m) => m.text);
    assert(stored.indexOf("queued 1") + 1 === stored.indexOf("queued 2"), "in order");
    assert(Object.keys(store.items).length === 0, "the empty outbox removed");
    second.destroy();
  });

  await test("a corrupt stored outbox is set aside, not sent", async () => {
    const store = memoryStore();
    store.items["chat-client/outbox/v1/http://chat.test/1"] = "{not an outbox";
    const e = await engine({ storage: store });
    assert(e.getSnapshot().outboxLength === 0, "nothing restored");
    const keys = Object.keys(store.items);
    assert(keys.length === 1 && keys[0].indexOf("/unreadable/") > 0, `keys ${keys.join()}`);
    e.destroy();
  });

  print(`hermes: ${results.passed} passed, ${results.failed} failed`);
  print(`test result: ${results.failed === 0 ? "ok" : "FAILED"}. ${results.passed} passed; ${results.failed} failed; 0 ignored (the JS build under Hermes)`);
  if (results.failed === 0) await bench();
}

/** The hot paths of docs/CLIENT.md ("Benchmark"), in Hermes. */
async function bench() {
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const clock = () => Date.now();
  const runs = [];
  for (let run = 0; run < 3; run++) {
    const e = await engine();
    e.connect();
    e.join(ROOM);
    await until("synced", () => e.getConversation(ROOM)?.synced === true);
    const socket = host.server.sockets[host.server.sockets.length - 1];
    const base = host.server.messages.length;
    const frames = [];
    for (let i = 1; i <= 1000; i++) {
      const seq = base + i;
      frames.push(`42["message:new",${JSON.stringify({ id: 5000 + seq, conversationId: ROOM, seq, senderId: 2, text: `message number ${seq}`, clientMessageId: null, createdAt: "2026-01-01T00:00:00.000Z" })}]`);
    }
    const started = clock();
    for (const frame of frames) {
      socket.deliver(frame);
      e.getSnapshot();
    }
    runs.push(clock() - started);
    e.destroy();
  }
  const sends = [];
  for (let run = 0; run < 3; run++) {
    const network = switchable();
    const e = await engine({ reachability: network.reachability });
    network.set(false);
    const started = clock();
    for (let i = 0; i < 100; i++) e.send(ROOM, `queued ${i}`);
    sends.push(clock() - started);
    e.destroy();
  }
  // An older page of 100 merged into a timeline of 10,000 (scrolled back 100 pages).
  const merges = [];
  {
    const base = host.server.messages.length;
    for (let seq = base + 1; seq <= base + 10_400; seq++) {
      host.server.messages.push({ id: 20_000 + seq, conversationId: ROOM, seq, senderId: 2, text: `message number ${seq}`, clientMessageId: null, createdAt: "2026-01-01T00:00:00.000Z" });
    }
    const e = await engine();
    e.connect();
    e.join(ROOM);
    const shown = () => e.getConversation(ROOM)?.messages.length ?? 0;
    const older = async () => {
      const before = shown();
      assert(e.loadOlder(ROOM), "an older page to load");
      await until("an older page", () => shown() > before && e.getConversation(ROOM)?.loadingOlder === false);
    };
    await until("synced with the newest page", () => e.getConversation(ROOM)?.synced === true && shown() >= 100);
    while (shown() < 10_000) await older();
    for (let run = 0; run < 3; run++) {
      const started = clock();
      await older();
      merges.push(clock() - started);
    }
    e.destroy();
  }
  const where = engineBuild() === "js" ? "JS build in Hermes" : "wasm in Node";
  print(`bench (${where}): 1,000 incoming messages, getSnapshot after each: median ${median(runs)} ms (runs ${runs.join(", ")})`);
  print(`bench (${where}): 100 sends queued offline: median ${median(sends)} ms (runs ${sends.join(", ")})`);
  print(`bench (${where}): an older page of 100 merged into 10,000 (loadOlder to the new snapshot): median ${median(merges)} ms (runs ${merges.join(", ")})`);
}

main().then(
  () => {},
  (error) => print(`not ok - the suite crashed: ${error && error.stack}`),
);
