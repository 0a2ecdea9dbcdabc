/**
 * Tabs of one browser (SPEC.md section 10), in one Node process: each "tab" is an engine
 * from `createWith` over one shared fake `localStorage`, Node's own `BroadcastChannel`
 * (which, as a browser's, reaches the other instances of the same name) and a fake Web
 * Locks manager that grants a lock to one holder at a time and to the next waiting one
 * when the holder lets go or its tab dies. No server is reached (nothing listens on
 * port 9): every engine is offline, so sends stay in the outbox, which is what these
 * tests look at. The real browser, server and take-over are tests/e2e/tabs.test.mjs.
 */
import { readFile } from "node:fs/promises";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createWith } from "../src/engine.js";
import { Command, REFUSALS } from "../src/generated/bindings.js";
import { ChatEngineError, loadEngine, type ChatEngine, type ChatEngineOptions, type EngineSnapshot } from "../src/index.js";
import { webDefaults } from "../src/platform.js";
import { refusalOf } from "../src/tabs/checks.js";
import { mergeOutboxes, outboxKey, perTabOutbox, type EnumerableStorage } from "../src/tabs/outbox.js";
import { tabsName, type Coordination } from "../src/tabs/shared.js";

beforeAll(async () => {
  await loadEngine(await readFile(new URL("../pkg/client_wasm_bg.wasm", import.meta.url)));
});

const URL_ = "http://127.0.0.1:9";
const USER = 7;
const ROOM = 3;
const options: ChatEngineOptions = { url: URL_, getToken: () => "token", userId: USER };

/** `localStorage` over a Map: the three methods, `length` and `key`. */
class FakeStorage implements EnumerableStorage {
  readonly map = new Map<string, string>();
  get length() {
    return this.map.size;
  }
  key(index: number) {
    return [...this.map.keys()][index] ?? null;
  }
  getItem(key: string) {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.map.set(key, value);
  }
  removeItem(key: string) {
    this.map.delete(key);
  }
  /** The messages stored under every outbox key, by text. */
  storedTexts(): string[] {
    return [...this.map.entries()]
      .filter(([key]) => key.startsWith(outboxKey(URL_, USER)))
      .flatMap(([, value]) => (JSON.parse(value) as { messages: { text: string }[] }).messages.map((m) => m.text))
      .sort();
  }
}

type Grant = (lock: Lock | null) => unknown;

/** Web Locks, exclusive mode: what the tabs use of it. `die(tab)` is a tab closed or crashed. */
class FakeLocks {
  readonly #holders = new Map<string, { tab: number; release: () => void }>();
  readonly #waiting = new Map<string, { tab: number; grant: Grant }[]>();

  forTab(tab: number): Pick<LockManager, "request"> {
    return {
      request: ((name: string, second: LockOptions | Grant, third?: Grant) => {
        const [lockOptions, grant] = typeof second === "function" ? [{}, second] : [second, third!];
        if (this.#holders.has(name)) {
          if (lockOptions.ifAvailable === true) return Promise.resolve(grant(null));
          this.#waiting.set(name, [...(this.#waiting.get(name) ?? []), { tab, grant }]);
          return Promise.resolve(undefined);
        }
        this.#grant(name, tab, grant);
        return Promise.resolve(undefined);
      }) as LockManager["request"],
    };
  }

  #grant(name: string, tab: number, grant: Grant): void {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#holders.delete(name);
      const next = this.#waiting.get(name)?.shift();
      if (next !== undefined) this.#grant(name, next.tab, next.grant);
    };
    this.#holders.set(name, { tab, release });
    void Promise.resolve(grant({ name, mode: "exclusive" } as Lock)).then(release, release);
  }

  holder(name: string): number | undefined {
    return this.#holders.get(name)?.tab;
  }

  /** The tab is gone: its lock is released, its place in queues dropped. */
  die(tab: number): void {
    for (const [name, holder] of [...this.#holders]) if (holder.tab === tab) holder.release();
    for (const [name, queue] of this.#waiting) this.#waiting.set(name, queue.filter((w) => w.tab !== tab));
  }
}

/** Node's BroadcastChannel, but a tab that "dies" stops hearing and saying anything. */
function coordination(locks: FakeLocks, tab: number, dead: Set<number>): Coordination {
  class TabChannel {
    readonly #channel: BroadcastChannel;
    constructor(name: string) {
      this.#channel = new BroadcastChannel(name);
      channels.push(this.#channel);
    }
    postMessage(message: unknown) {
      if (!dead.has(tab)) this.#channel.postMessage(message);
    }
    close() {
      this.#channel.close();
    }
    addEventListener(type: string, listener: (event: MessageEvent) => void) {
      this.#channel.addEventListener(type, (event) => {
        if (!dead.has(tab)) listener(event as MessageEvent);
      });
    }
  }
  return { locks: locks.forTab(tab), BroadcastChannel: TabChannel as unknown as Coordination["BroadcastChannel"] };
}

const channels: BroadcastChannel[] = [];
const engines: ChatEngine[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) {
    try {
      engine.destroy();
    } catch {
      // destroyed by the test
    }
  }
  for (const channel of channels.splice(0)) channel.close();
  vi.restoreAllMocks();
});

/** A browser: one storage, one lock manager; `tab()` opens a tab's engine. */
function browser() {
  const storage = new FakeStorage();
  const locks = new FakeLocks();
  const dead = new Set<number>();
  let tabs = 0;
  return {
    storage,
    locks,
    async tab(extra: Partial<ChatEngineOptions> = {}, withLocks = true): Promise<ChatEngine & { tab: number }> {
      const tab = ++tabs;
      const defaults = webDefaults({ localStorage: storage });
      const engine = await createWith({ ...options, ...extra }, defaults, withLocks ? coordination(locks, tab, dead) : undefined);
      engines.push(engine);
      return Object.assign(engine, { tab });
    },
    /** The tab hangs: it no longer hears or says anything (its lock stays held). */
    hang(tab: number) {
      dead.add(tab);
    },
    /** The tab crashed: nothing more from it, and its lock is free. */
    crash(tab: number) {
      dead.add(tab);
      locks.die(tab);
    },
  };
}

/** Waits (on the event loop, with a deadline) until `check` holds. */
async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const texts = (snapshot: EngineSnapshot, id = ROOM) => snapshot.conversations[id]?.messages.map((m) => `${m.text}:${m.status}`) ?? [];

describe("a follower's argument checks", () => {
  /** What the engine refuses `command(a, b)` with (its message), or "" if it takes it. */
  function engineSays(engine: ChatEngine, command: number, a: unknown, b: unknown): string {
    const call = (engine as unknown as Record<string, (a: unknown, b: unknown) => unknown>);
    const method = { [Command.Send]: "send", [Command.Join]: "join", [Command.Retry]: "retry", [Command.MarkRead]: "markRead", [Command.SetParticipants]: "setParticipants", [Command.SetToken]: "setToken", [Command.SetOnline]: "setOnline" }[command]!;
    try {
      call[method]!.call(engine, a, b);
      return "";
    } catch (error) {
      if (!(error instanceof ChatEngineError)) throw error;
      return error.message;
    }
  }
  const followerSays = (command: number, a: unknown, b: unknown) => {
    const refused = refusalOf(command, a, b);
    return refused === 0 ? "" : REFUSALS[refused - 1]![1](a, b);
  };

  it("refuse exactly what the engine refuses, with its messages", async () => {
    const engine = await createWith({ ...options, storage: "memory" }, webDefaults({}), undefined);
    engines.push(engine);
    // Rust's and JS's whitespace differ at the edges (U+0085, U+FEFF): the checks use Rust's.
    const pieces = ["a", "é", "😀", " ", "\t", "\n", "\r", "\u0085", "\u00a0", "\ufeff", "\u2028", "\u3000", "\u0000", "\u0007", "\u007f", "\u009f", "\u200b"];
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const values: unknown[] = [1, 7, 0, -1, 1.5, Number.NaN, 2 ** 53, 2 ** 53 - 1, "7", null, undefined, {}, [], [1, 2], [1, "2"], true];
    for (let i = 0; i < 400; i++) {
      const length = [0, 1, 3, 999, 1000, 1001, 1002, 1365, 4095, 4096, 4097][Math.floor(random() * 11)]!;
      let text = "";
      // Long texts are mostly one filler: a letter, a space (trimmed away) or a 3-byte character.
      const filler = ["x", " ", "\u3042"][Math.floor(random() * 3)]!;
      for (let j = 0; j < length; j++) text += random() < 0.9 && length > 10 ? filler : pieces[Math.floor(random() * pieces.length)]!;
      if (random() < 0.3) text = pieces[Math.floor(random() * pieces.length)]! + text + pieces[Math.floor(random() * pieces.length)]!;
      expect(followerSays(Command.Send, ROOM, text), JSON.stringify(text)).toBe(engineSays(engine, Command.Send, ROOM, text));
    }
    for (const value of values) {
      for (const command of [Command.Join, Command.MarkRead, Command.SetOnline, Command.SetToken, Command.Retry]) {
        expect(followerSays(command, value, undefined), `${command}(${String(value)})`).toBe(engineSays(engine, command, value, undefined));
      }
      expect(followerSays(Command.SetParticipants, ROOM, value)).toBe(engineSays(engine, Command.SetParticipants, ROOM, value));
      expect(followerSays(Command.Send, value, "hi")).toBe(engineSays(engine, Command.Send, value, "hi"));
    }
    for (const id of ["0b7c8a52-2f55-4d8e-9a3c-6f1de0b2a4c1", "0B7C8A52-2F55-4D8E-9A3C-6F1DE0B2A4C1", "0b7c8a52-2f55-4d8e-9a3c-6f1de0b2a4c", "0b7c8a522f554d8e9a3c6f1de0b2a4c1xxxx"]) {
      expect(followerSays(Command.Retry, id, undefined)).toBe(engineSays(engine, Command.Retry, id, undefined));
    }
  });
});

describe("one outbox key per tab", () => {
  it("a tab emptying its outbox removes only its own key", () => {
    const storage = new FakeStorage();
    const key = outboxKey(URL_, USER);
    const first = perTabOutbox(storage, key, "first");
    const second = perTabOutbox(storage, key, "second");
    const stored = (text: string) => JSON.stringify(mergeOutboxes([[{ clientMessageId: "0b7c8a52-2f55-4d8e-9a3c-6f1de0b2a4c1", order: 0, text }]]));
    first.setItem(key, stored("first's"));
    second.setItem(key, stored("second's"));
    first.removeItem(key); // its outbox emptied, as after a successful send
    expect(storage.storedTexts()).toEqual(["second's"]);
    expect(second.getItem("unrelated")).toBeNull();
  });

  it("a new tab adopts every other tab's outbox and the shared key of older versions, once each", async () => {
    const b = browser();
    const first = await b.tab({}, false);
    const second = await b.tab({}, false);
    first.send(ROOM, "one");
    second.send(ROOM, "two");
    first.send(ROOM, "three");
    // What an older version of the package left under the shared key.
    b.storage.setItem(outboxKey(URL_, USER), JSON.stringify(mergeOutboxes([[{ clientMessageId: "0b7c8a52-2f55-4d8e-9a3c-6f1de0b2a4c1", conversationId: ROOM, text: "old", order: 0, lostTries: 0, failed: null }]])));
    // Unreadable by this version: left where it is.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    b.storage.setItem(`${outboxKey(URL_, USER)}/tab/future`, JSON.stringify({ version: 9, messages: [] }));
    first.destroy();
    second.destroy();
    const third = await b.tab({}, false);
    expect(texts(third.getSnapshot()).sort()).toEqual(["old:sending", "one:sending", "three:sending", "two:sending"]);
    expect(third.getSnapshot().outboxLength).toBe(4);
    const keys = [...b.storage.map.keys()].sort();
    expect(keys).toHaveLength(2); // the third tab's own key, and the unreadable one
    expect(keys).toContain(`${outboxKey(URL_, USER)}/tab/future`);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/is not one this version reads/));
    // Each tab's own order is kept.
    const mine = texts(third.getSnapshot()).filter((t) => t !== "old:sending" && t !== "two:sending");
    expect(mine).toEqual(["one:sending", "three:sending"]);
  });
});

describe("tabs sharing one engine", () => {
  it("one tab leads; a follower's commands run there, and every tab sees the same snapshot", async () => {
    const b = browser();
    const leader = await b.tab();
    const follower = await b.tab();
    expect(b.locks.holder(tabsName(URL_, USER))).toBe(leader.tab);
    follower.connect();
    follower.join(ROOM);
    const id = follower.send(ROOM, "from the follower");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => texts(follower.getSnapshot()).length === 1, "the follower's message in its own snapshot");
    expect(texts(leader.getSnapshot())).toEqual(["from the follower:sending"]);
    expect(follower.getSnapshot().conversations[ROOM]!.messages[0]!.clientMessageId).toBe(id);
    leader.send(ROOM, "from the leader");
    await until(() => texts(follower.getSnapshot()).length === 2, "the leader's message at the follower");
    expect(follower.getSnapshot().outboxLength).toBe(2);
    // Identity: what did not change keeps its identity in the follower's copy.
    const before = follower.getSnapshot();
    leader.setParticipants(99, [1, 2]);
    await until(() => follower.getSnapshot() !== before, "the next snapshot");
    expect(follower.getSnapshot().conversations[ROOM]).toBe(before.conversations[ROOM]);
    // A tab arriving makes the leader send everyone a full snapshot: nothing changed here.
    const settled = follower.getSnapshot();
    const third = await b.tab();
    await until(() => texts(third.getSnapshot()).length === 2, "the third tab's first snapshot");
    expect(follower.getSnapshot()).toBe(settled);
    // Asking again for what it already has sends nothing.
    follower.join(ROOM);
    // Refusals are the engine's, at once, in the follower too.
    expect(() => follower.send(ROOM, "   ")).toThrow(ChatEngineError);
    expect(() => follower.join(-1)).toThrow(/conversation id must be a positive integer/);
    // Only the leader's tab key holds the outbox.
    expect(b.storage.storedTexts()).toEqual(["from the follower", "from the leader"]);
  });

  it("joins are served while any tab wants them, and leaving in one tab does not leave for another", async () => {
    const b = browser();
    const leader = await b.tab();
    const follower = await b.tab();
    leader.join(ROOM);
    follower.join(ROOM);
    follower.join(5);
    await until(() => leader.getSnapshot().conversations[5] !== undefined, "the follower's join served");
    leader.leave(ROOM);
    follower.leave(5);
    // Still wanted by the follower: the leader's engine keeps ROOM; 5 is left.
    await until(() => follower.getSnapshot().conversations[ROOM] !== undefined, "the follower's snapshot");
    expect(leader.getSnapshot().conversations[ROOM]).toBeDefined();
  });

  it("when the leader closes, a follower leads with the outbox, and nothing is sent twice", async () => {
    const b = browser();
    const leader = await b.tab();
    const follower = await b.tab();
    const other = await b.tab();
    follower.send(ROOM, "queued before");
    await until(() => texts(leader.getSnapshot()).length === 1, "the send at the leader");
    leader.destroy();
    await until(() => b.locks.holder(tabsName(URL_, USER)) === follower.tab, "the follower leading");
    expect(texts(follower.getSnapshot())).toEqual(["queued before:sending"]);
    await until(() => texts(other.getSnapshot()).length === 1, "the third tab following the new leader");
    other.send(ROOM, "after");
    await until(() => texts(follower.getSnapshot()).length === 2, "the third tab's send at the new leader");
    expect(b.storage.storedTexts()).toEqual(["after", "queued before"]);
  });

  it("a command the crashed leader never answered is run once by the next leader, whether or not the leader had run it", async () => {
    const b = browser();
    const leader = await b.tab();
    const follower = await b.tab();
    follower.send(ROOM, "ran, not answered");
    await until(() => texts(leader.getSnapshot()).length === 1, "the leader running the send");
    // The leader crashes after running it but before its answer reaches the follower:
    // the follower still holds the command, and the outbox holds the message.
    b.hang(leader.tab);
    follower.send(ROOM, "never reached a leader");
    expect(b.locks.holder(tabsName(URL_, USER))).toBe(leader.tab);
    b.crash(leader.tab);
    await until(() => b.locks.holder(tabsName(URL_, USER)) === follower.tab, "the follower leading");
    await until(() => texts(follower.getSnapshot()).length === 2, "both messages at the new leader");
    expect(texts(follower.getSnapshot()).sort()).toEqual(["never reached a leader:sending", "ran, not answered:sending"]);
    expect(follower.getSnapshot().outboxLength).toBe(2);
  });

  it("ignores malformed and foreign messages on the channel, with a warning", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const b = browser();
    const leader = await b.tab();
    const follower = await b.tab();
    follower.send(ROOM, "real");
    await until(() => texts(follower.getSnapshot()).length === 1, "the real message");
    const before = follower.getSnapshot();
    const intruder = new BroadcastChannel(tabsName(URL_, USER));
    channels.push(intruder);
    const bad = [
      "text",
      null,
      { v: 1, kind: "snapshot", from: "x", snapshot: { version: 1 } },
      { v: 1, kind: "snapshot", from: "x", snapshot: { ...before, full: true, conversations: { [ROOM]: { id: 4 } } } },
      { v: 1, kind: "command", from: "x", id: 1, command: Command.Destroy },
      { v: 1, kind: "wants", from: "x", wants: { connected: "yes", joined: [], participants: [] } },
      { v: 2, kind: "snapshot", from: "x", snapshot: { anything: true } },
    ];
    for (const message of bad) intruder.postMessage(message);
    await until(() => warn.mock.calls.length >= bad.length - 1, "the warnings");
    expect(follower.getSnapshot()).toBe(before);
    expect(texts(leader.getSnapshot())).toEqual(["real:sending"]);
    expect(leader.getSnapshot().connection.state).not.toBe("error");
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/another version of the app/);
    // The leader was not destroyed by the foreign `destroy`.
    leader.send(ROOM, "still here");
    await until(() => texts(follower.getSnapshot()).length === 2, "the leader still working");
  });

  it("users and servers never share", async () => {
    const b = browser();
    const mine = await b.tab();
    const theirs = await b.tab({ userId: 8 });
    const elsewhere = await b.tab({ url: "http://127.0.0.1:10" });
    expect(b.locks.holder(tabsName(URL_, USER))).toBe(mine.tab);
    expect(b.locks.holder(tabsName(URL_, 8))).toBe(theirs.tab);
    expect(b.locks.holder(tabsName("http://127.0.0.1:10", USER))).toBe(elsewhere.tab);
    theirs.send(ROOM, "theirs");
    mine.send(ROOM, "mine");
    expect(texts(mine.getSnapshot())).toEqual(["mine:sending"]);
    expect(texts(theirs.getSnapshot())).toEqual(["theirs:sending"]);
  });
});
