/**
 * One connection and one outbox per browser, shared by the tabs of one user on one server
 * (SPEC.md section 10; docs/CLIENT.md, "Tabs").
 *
 * Every tab's `createChatEngine` returns one of these. The tab holding the Web Lock
 * `chat-client/tabs/v<protocol>/<url>/<userId>` is the leader: it runs the engine (the
 * socket, the outbox, the timelines). The others are followers: they keep a copy of the
 * leader's snapshot and send their commands to it over a `BroadcastChannel` of the same
 * name. The lock is the election: it is granted to one tab at a time and released when
 * that tab closes, crashes or destroys its engine, and then the next waiting tab leads.
 *
 * - Connect/disconnect, join/leave and setParticipants are wants: each tab says what it
 *   wants, and the leader serves the union (a follower leaving a conversation does not
 *   leave it for a tab still showing it).
 * - Other commands run on the leader's engine. A follower checks their arguments itself
 *   (`checks.ts`) so that it refuses bad input at once as the engine would; it picks a
 *   sent message's `clientMessageId` (the engine's `sendAs`), so that a command sent again
 *   to the next leader after a take-over cannot send the message twice.
 * - A follower keeps each command until the leader answers it, and sends it again when a
 *   new leader announces itself. The new leader restores every tab's stored outbox
 *   (`outbox.ts`) and re-sends what was in flight; the server's idempotency on
 *   `clientMessageId` makes a second send harmless.
 */
import { Command, Refusal, type Call } from "../generated/bindings.js";
import type { ConversationSnapshot, EngineEvent, EngineSnapshot, Transport, Unsubscribe } from "../types.js";
import { randomUuid, refusalOf } from "./checks.js";
import { applyWireSnapshot, EMPTY_SNAPSHOT, toWireSnapshot } from "./mirror.js";
import { readTabMessage, TAB_PROTOCOL, type Envelope, type TabMessage, type Wants } from "./protocol.js";

/** The browser APIs the tabs coordinate with (the tests pass their own). */
export interface Coordination {
  readonly locks: Pick<LockManager, "request">;
  readonly BroadcastChannel: new (name: string) => Pick<BroadcastChannel, "postMessage" | "close" | "addEventListener">;
}

/** The browser's own, where it has both. */
export function browserCoordination(): Coordination | undefined {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  const Channel = globalThis.BroadcastChannel;
  if (locks === undefined || typeof locks.request !== "function" || typeof Channel !== "function") return undefined;
  return { locks, BroadcastChannel: Channel };
}

export interface SharedEngineOptions {
  readonly url: string;
  readonly userId: number;
  readonly transport: Transport;
  /**
   * Starts this tab's engine when it leads (over `outbox.ts`'s per-tab store): its `call`,
   * with refusals already `ChatEngineError`s.
   */
  readonly startEngine: () => Call;
  /** Turns a refusal's number into the `ChatEngineError` the engine would throw. */
  readonly refusal: (refusal: number, a: unknown, b: unknown) => unknown;
  readonly coordination: Coordination;
  readonly warn?: (message: string) => void;
}

/** Commands a follower may have the leader run (never `destroy`, never the wants). */
const FORWARDED = new Set<number>([
  Command.SetToken,
  Command.Retry,
  Command.Typing,
  Command.MarkRead,
  Command.LoadOlder,
  Command.SetOnline,
  Command.Foreground,
  Command.MarkConversationRead,
  Command.SendAs,
]);

/** At most this many warnings about bad channel messages, per tab. */
const MAX_WARNINGS = 20;

/** The name of the lock and the channel of a server and user. */
export function tabsName(url: string, userId: number): string {
  return `chat-client/tabs/v${TAB_PROTOCOL}/${url.trim().replace(/\/+$/, "")}/${userId}`;
}

/**
 * The engine of this tab, shared with the other tabs. Resolves once this tab knows
 * whether it leads (at once when no other tab does).
 */
export async function createSharedEngine(options: SharedEngineOptions): Promise<Call> {
  const tab = new TabEngine(options);
  await tab.start();
  return tab.call;
}

class TabEngine {
  readonly #options: SharedEngineOptions;
  readonly #id = randomUuid();
  readonly #name: string;
  readonly #channel: Pick<BroadcastChannel, "postMessage" | "close" | "addEventListener">;
  readonly #warn: (message: string) => void;
  #warnings = 0;
  #foreignSeen = false;

  /** The engine's `call`, while this tab leads. */
  #engine: Call | undefined;
  #stopEngine: Unsubscribe[] = [];
  /** The last snapshot this leader sent (the base of the next one's `0`s). */
  #sent: EngineSnapshot | undefined;
  /** The followers' wants, by tab id (leader). */
  readonly #followers = new Map<string, Wants>();
  /** What the engine was told: connected, and the joined conversations (leader). */
  #served = { connected: false, joined: new Set<number>() };

  /** The leader's snapshot, as this follower last heard it. */
  #mirror: EngineSnapshot = EMPTY_SNAPSHOT;
  #hasMirror = false;
  /** Commands sent to the leader and not answered yet, by id (follower). */
  readonly #pending = new Map<number, { command: number; a: unknown; b: unknown }>();
  #nextCommand = 1;

  /** The wants this follower last sent. */
  #said = "";
  #wants = { connected: false, joined: new Set<number>(), participants: new Map<number, readonly number[]>() };
  readonly #subscribers = new Set<() => void>();
  readonly #listeners = new Set<(event: EngineEvent) => void>();
  #destroyed = false;
  #release: () => void = () => {};

  constructor(options: SharedEngineOptions) {
    this.#options = options;
    this.#name = tabsName(options.url, options.userId);
    this.#warn = options.warn ?? ((message) => console.warn(message));
    this.#channel = new options.coordination.BroadcastChannel(this.#name);
    this.#channel.addEventListener("message", (event) => this.#receive((event as MessageEvent).data));
  }

  /** Leads now if no tab does; else follows, and queues for the lock to lead later. */
  async start(): Promise<void> {
    const held = new Promise<void>((resolve) => (this.#release = resolve));
    const { locks } = this.#options.coordination;
    const leadsNow = await new Promise<boolean>((decided) => {
      void locks.request(this.#name, { ifAvailable: true }, (lock) => {
        decided(lock !== null);
        if (lock === null) return undefined;
        this.#lead();
        return held;
      });
    });
    if (leadsNow) return;
    this.#sayWants();
    void locks.request(this.#name, () => {
      if (this.#destroyed) return undefined;
      this.#lead();
      return held;
    });
  }

  /** The wasm's `call`, whichever tab runs the engine. */
  call = (command: number, a?: unknown, b?: unknown): unknown => {
    if (this.#destroyed && command !== Command.GetSnapshot && command !== Command.GetConversation) {
      throw this.#options.refusal(Refusal.Destroyed, a, b);
    }
    const refused = refusalOf(command, a, b);
    if (refused !== 0) throw this.#options.refusal(refused, a, b);
    switch (command) {
      case Command.Connect:
      case Command.Disconnect:
        this.#wants.connected = command === Command.Connect;
        return this.#wantsChanged();
      case Command.Join:
        this.#wants.joined.add(a as number);
        return this.#wantsChanged();
      case Command.Leave:
        this.#wants.joined.delete(a as number);
        return this.#wantsChanged();
      case Command.SetParticipants:
        this.#wants.participants.set(a as number, [...(b as number[])]);
        if (this.#engine !== undefined) return this.#engine(command, a, b);
        return this.#wantsChanged();
      case Command.Subscribe:
        return this.#add(this.#subscribers, a as () => void);
      case Command.OnEvent:
        return this.#add(this.#listeners, a as (event: EngineEvent) => void);
      case Command.GetSnapshot:
        return this.#snapshot();
      case Command.GetConversation:
        return this.#snapshot().conversations[a as number];
      case Command.UserId:
        return this.#engine?.(command) ?? this.#options.userId;
      case Command.Transport:
        return this.#options.transport;
      case Command.Destroy:
        return this.#destroy();
      case Command.Send:
        if (this.#engine !== undefined) return this.#engine(command, a, b);
        return this.#sendAs(a as number, b as string);
      default:
        return this.#command(command, a, b);
    }
  };

  #snapshot(): EngineSnapshot {
    return this.#engine === undefined ? this.#mirror : (this.#engine(Command.GetSnapshot) as EngineSnapshot);
  }

  #add<T>(set: Set<T>, listener: T): Unsubscribe {
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** A follower's send: the id is picked here, the leader sends it under that id. */
  #sendAs(conversationId: number, text: string): string {
    const clientMessageId = randomUuid();
    this.#command(Command.SendAs, conversationId, { clientMessageId, text });
    return clientMessageId;
  }

  /** A command with a result: the leader's engine's, or the follower's best answer from the snapshot. */
  #command(command: number, a: unknown, b: unknown): unknown {
    if (this.#engine !== undefined) return this.#engine(command, a, b);
    const id = this.#nextCommand++;
    this.#pending.set(id, { command, a, b });
    this.#post({ kind: "command", from: this.#id, id, command, a, b });
    if (command === Command.Retry) {
      const wanted = (a as string).toLowerCase();
      return Object.values<ConversationSnapshot>(this.#mirror.conversations).some((c) =>
        c.messages.some((m) => m.clientMessageId === wanted && m.status === "failed"),
      );
    }
    if (command === Command.LoadOlder) {
      const conversation = this.#mirror.conversations[a as number];
      return conversation !== undefined && conversation.hasOlder && !conversation.loadingOlder;
    }
    return undefined;
  }

  #ownWants(): Wants {
    return {
      connected: this.#wants.connected,
      joined: [...this.#wants.joined],
      participants: [...this.#wants.participants],
    };
  }

  #wantsChanged(): undefined {
    if (this.#engine !== undefined) {
      this.#serve();
      return undefined;
    }
    // Only a change is news: each `wants` makes the leader send every tab a full snapshot.
    const wants = this.#ownWants();
    const said = JSON.stringify(wants);
    if (said !== this.#said) this.#sayWants(wants);
    return undefined;
  }

  /** Sends this follower's wants (which also asks the leader for a full snapshot). */
  #sayWants(wants: Wants = this.#ownWants()): void {
    this.#said = JSON.stringify(wants);
    this.#post({ kind: "wants", from: this.#id, wants });
  }

  // ---- Leading ------------------------------------------------------------------------

  #lead(): void {
    if (this.#destroyed) return;
    const engine = this.#options.startEngine();
    this.#engine = engine;
    this.#sent = undefined;
    this.#stopEngine = [
      engine(Command.Subscribe, () => this.#engineChanged()) as Unsubscribe,
      engine(Command.OnEvent, (event: EngineEvent) => {
        this.#post({ kind: "event", from: this.#id, event });
        this.#emit(event);
      }) as Unsubscribe,
    ];
    for (const [conversationId, userIds] of this.#wants.participants) engine(Command.SetParticipants, conversationId, userIds);
    this.#serve();
    // What this tab asked of the previous leader and never heard back about.
    for (const { command, a, b } of this.#pending.values()) this.#run(command, a, b);
    this.#pending.clear();
    this.#post({ kind: "leader", from: this.#id });
    this.#engineChanged();
  }

  /** Tells the engine the union of every tab's wants. */
  #serve(): void {
    const engine = this.#engine;
    if (engine === undefined) return;
    const all = [this.#ownWants(), ...this.#followers.values()];
    const connected = all.some((wants) => wants.connected);
    const joined = new Set(all.flatMap((wants) => wants.joined));
    for (const id of joined) if (!this.#served.joined.has(id)) engine(Command.Join, id);
    for (const id of this.#served.joined) if (!joined.has(id)) engine(Command.Leave, id);
    if (connected && !this.#served.connected) engine(Command.Connect);
    if (!connected && this.#served.connected) engine(Command.Disconnect);
    this.#served = { connected, joined };
  }

  #engineChanged(): void {
    const engine = this.#engine;
    if (engine === undefined) return;
    const snapshot = engine(Command.GetSnapshot) as EngineSnapshot;
    if (snapshot !== this.#sent) {
      this.#post({ kind: "snapshot", from: this.#id, snapshot: toWireSnapshot(snapshot, this.#sent) });
      this.#sent = snapshot;
    }
    this.#notify();
  }

  /** Runs a command for a follower (or for this tab, from before it led); refusals are reported. */
  #run(command: number, a: unknown, b: unknown): string | null {
    try {
      this.#engine!(command, a, b);
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  // ---- The channel --------------------------------------------------------------------

  #post(message: TabMessage): void {
    if (this.#destroyed && message.kind !== "bye") return;
    const envelope: Envelope = { v: TAB_PROTOCOL, ...message };
    try {
      this.#channel.postMessage(envelope);
    } catch (error) {
      this.#warnOnce(`chat engine: a message to the other tabs could not be sent (${String(error)})`);
    }
  }

  #receive(data: unknown): void {
    if (this.#destroyed) return;
    const message = readTabMessage(data);
    if ("ignored" in message) {
      if (message.ignored !== "foreign") this.#warnOnce(`chat engine: ignored ${message.ignored} from another tab`);
      else if (!this.#foreignSeen) {
        this.#foreignSeen = true;
        this.#warn("chat engine: another version of the app is open in another tab; each version keeps its own connection");
      }
      return;
    }
    if (this.#engine !== undefined) this.#receiveAsLeader(message);
    else this.#receiveAsFollower(message);
  }

  #receiveAsLeader(message: TabMessage): void {
    switch (message.kind) {
      case "wants": {
        this.#followers.set(message.from, message.wants);
        for (const [conversationId, userIds] of message.wants.participants) {
          this.#engine!(Command.SetParticipants, conversationId, userIds);
        }
        this.#serve();
        // A tab that just arrived (or missed messages) starts from a full snapshot.
        this.#sent = undefined;
        this.#engineChanged();
        return;
      }
      case "bye":
        this.#followers.delete(message.from);
        this.#serve();
        return;
      case "command": {
        if (!FORWARDED.has(message.command)) {
          this.#warnOnce(`chat engine: ignored command ${message.command} from another tab`);
          return;
        }
        const refused = this.#run(message.command, message.a, message.b);
        this.#post({
          kind: "result",
          from: this.#id,
          to: message.from,
          id: message.id,
          error: refused === null ? null : { code: "refused", message: refused },
        });
        return;
      }
      case "leader":
        this.#warnOnce("chat engine: another tab claims to lead; ignored");
        return;
      default:
        return; // results, snapshots and events are for followers
    }
  }

  #receiveAsFollower(message: TabMessage): void {
    switch (message.kind) {
      case "leader":
        this.#sayWants();
        for (const [id, { command, a, b }] of this.#pending) this.#post({ kind: "command", from: this.#id, id, command, a, b });
        return;
      case "result":
        if (message.to !== this.#id) return;
        this.#pending.delete(message.id);
        if (message.error !== null) this.#warn(`chat engine: the tab holding the connection refused a command: ${message.error.message}`);
        return;
      case "snapshot": {
        if (!this.#hasMirror && !message.snapshot.full) return;
        const next = applyWireSnapshot(this.#mirror, message.snapshot);
        if (next === undefined) {
          // Missed a message: ask for a full snapshot.
          this.#sayWants();
          return;
        }
        this.#mirror = next;
        this.#hasMirror = true;
        this.#notify();
        return;
      }
      case "event":
        this.#emit(message.event);
        return;
      default:
        return; // wants, byes and commands are for the leader
    }
  }

  // ---- Listeners and the end ----------------------------------------------------------

  #notify(): void {
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber();
      } catch (error) {
        console.error("chat engine: a subscriber threw", error);
      }
    }
  }

  #emit(event: EngineEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error("chat engine: an event listener threw", error);
      }
    }
  }

  #warnOnce(message: string): void {
    if (this.#warnings++ < MAX_WARNINGS) this.#warn(message);
  }

  #destroy(): void {
    if (this.#destroyed) return;
    this.#post({ kind: "bye", from: this.#id });
    this.#destroyed = true;
    for (const stop of this.#stopEngine.splice(0)) stop();
    if (this.#engine !== undefined) {
      this.#mirror = this.#engine(Command.GetSnapshot) as EngineSnapshot; // still readable after destroy
      this.#engine(Command.Destroy);
      this.#engine = undefined;
    }
    this.#subscribers.clear();
    this.#listeners.clear();
    this.#channel.close();
    this.#release();
  }
}
