// The browser end-to-end harness: starts the built chat-server serving the exported web
// app (js/app/dist) on a free port with a temporary SQLite database, launches Debian's
// Chromium through playwright-core, and drives the app's screens by their test ids
// (SPEC.md section 6). Waits are conditions polled with a deadline, never fixed sleeps.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SCREENSHOTS = path.join(ROOT, "test-artifacts/screenshots");
const WEB_DIR = path.join(ROOT, "js/app/dist");
const SERVER_BIN = path.resolve(ROOT, process.env.CHAT_SERVER_BIN ?? "target/debug/chat-server");
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/** How long a condition may take before a test fails. */
export const TIMEOUT = 20_000;
/** How long a reconnection may take: the engine's backoff (1, 2, 4, 8, 16, 30 s, with jitter). */
export const RECONNECT_TIMEOUT = 40_000;

// Without these, Chromium on a machine without internet keeps calling home.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Fails early, with the command to run, when a prerequisite was not built. */
export function checkPrerequisites() {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`no chat-server at ${SERVER_BIN}: run \`cargo build -p server --bin chat-server\``);
  }
  if (!existsSync(path.join(WEB_DIR, "index.html"))) {
    throw new Error(`no web build at ${WEB_DIR}: run \`cargo xtask build\` (expo export in js/app)`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);
}

/**
 * A chat-server process. `restart()` stops it (SIGTERM) and starts a new process on the
 * same port with the same database and secret.
 */
export class Server {
  static async start() {
    checkPrerequisites();
    const dir = mkdtempSync(path.join(tmpdir(), "chat-e2e-"));
    const server = new Server(dir);
    await server.#spawn("127.0.0.1:0");
    return server;
  }

  #dir;
  #child = null;
  #log = [];
  url = "";
  secret = `e2e-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef0123456789`;

  constructor(dir) {
    this.#dir = dir;
  }

  get port() {
    return new URL(this.url).port;
  }

  /** The server's recent output, for failure messages. */
  get log() {
    return this.#log.slice(-80).join("");
  }

  #spawn(bindAddr) {
    const child = spawn(SERVER_BIN, [], {
      cwd: ROOT,
      env: {
        ...process.env,
        BIND_ADDR: bindAddr,
        DATABASE_URL: `sqlite://${path.join(this.#dir, "chat.db")}?mode=rwc`,
        JWT_SECRET: this.secret,
        WEB_DIR,
        RUST_LOG: process.env.RUST_LOG ?? "warn",
        // Every test user signs in from this machine: lift the abuse limits.
        AUTH_ATTEMPTS_PER_ADDRESS: "1000000",
        AUTH_ATTEMPTS_PER_USERNAME: "1000000",
        PASSWORD_HASH_QUEUE: "1000000",
        REST_REQUESTS_PER_USER: "1000000",
        CONVERSATIONS_PER_USER: "1000000",
        MAX_UNAUTHENTICATED_SESSIONS: "1000000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    return new Promise((resolve, reject) => {
      let stdout = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`chat-server did not print its address in 30 s:\n${this.log}`));
      }, 30_000);
      child.stdout.on("data", (chunk) => {
        const text = chunk.toString();
        this.#log.push(text);
        stdout += text;
        const match = /chat-server listening on (http:\/\/\S+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          this.url = match[1];
          resolve();
        }
      });
      child.stderr.on("data", (chunk) => this.#log.push(chunk.toString()));
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`chat-server exited (${code ?? signal}) before listening:\n${this.log}`));
      });
    });
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  async stop() {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }

  /** A new process on the same port, database and secret. */
  async restart({ secret } = {}) {
    const port = this.port;
    await this.stop();
    if (secret !== undefined) this.secret = secret;
    await this.#spawn(`127.0.0.1:${port}`);
  }

  async close() {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * One person: a browser context (own storage, own network switch) with the app open.
 * Records dialogs (none may ever open) and page errors.
 */
export class Person {
  /** `prepare(context)` runs before the first page opens (routes, for instance). */
  static async open(browser, server, username, { prepare } = {}) {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    await prepare?.(context);
    const person = new Person(context, username);
    await person.openPage(server);
    return person;
  }

  /** A new page of the app in this person's context (same storage). */
  async openPage(server) {
    const page = await this.context.newPage();
    page.on("dialog", (dialog) => {
      this.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("pageerror", (error) => this.errors.push(String(error)));
    page.setDefaultTimeout(TIMEOUT);
    this.page = page;
    await page.goto(server.url);
  }

  dialogs = [];
  errors = [];
  password = "correct horse battery";
  id = null;

  page = null;

  constructor(context, username) {
    this.context = context;
    this.username = username;
  }

  /**
   * Someone in another page (tab) of this browser context: this person by default, or
   * another account signed in there. Errors and dialogs are recorded with this person's.
   */
  inPage(page, username = this.username) {
    const other = new Person(this.context, username);
    other.page = page;
    other.errors = this.errors;
    other.dialogs = this.dialogs;
    if (username === this.username) other.id = this.id;
    return other;
  }

  byTestId(id) {
    return this.page.getByTestId(id);
  }

  async signUp() {
    await this.#submitCredentials("register-button");
  }

  async signIn() {
    await this.#submitCredentials("login-button");
  }

  async #submitCredentials(button) {
    await this.byTestId("username-input").fill(this.username);
    await this.byTestId("password-input").fill(this.password);
    await this.byTestId(button).click();
    await this.byTestId("conversation-list").waitFor();
    this.id = await this.page.evaluate(() => JSON.parse(localStorage.getItem("chat.session")).user.id);
  }

  /** Waits for the socket; long enough for a reconnection backoff step (up to 30 s). */
  async waitConnected(timeout = RECONNECT_TIMEOUT) {
    await this.page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
  }

  /** Starts a conversation with these people from the list screen; returns its id. */
  async startConversation(usernames, title) {
    await this.byTestId("new-conversation-button").click();
    await this.byTestId("participant-input").fill(usernames.join(", "));
    if (title !== undefined) await this.byTestId("title-input").fill(title);
    await this.byTestId("create-conversation-button").click();
    await this.byTestId("message-list").waitFor();
    return Number(new URL(this.page.url()).hash.replace("#/c/", ""));
  }

  async openConversation(id) {
    await this.byTestId(`conversation-item-${id}`).click();
    await this.byTestId("message-list").waitFor();
  }

  async send(text) {
    await this.byTestId("message-input").fill(text);
    await this.byTestId("send-button").click();
  }

  /** The messages shown, oldest first: text and status. */
  async messages() {
    return this.page.$$eval('[data-testid="message-item"]', (items) =>
      items.map((item) => ({
        text: item.querySelector('[data-testid="message-text"]')?.textContent ?? "",
        status: item.getAttribute("data-status"),
      })),
    );
  }

  /** Waits until the shown messages' texts are exactly `texts` (in that order). */
  async waitForTexts(texts, timeout = TIMEOUT) {
    return eventually(async () => {
      const shown = (await this.messages()).map((message) => message.text);
      assertDeepEqual(shown, texts);
    }, timeout);
  }

  /** Waits until the message with this text has this status. */
  async waitForStatus(text, status, timeout = TIMEOUT) {
    return eventually(async () => {
      const found = (await this.messages()).filter((message) => message.text === text);
      if (found.length !== 1 || found[0].status !== status) {
        throw new Error(`message ${JSON.stringify(text)}: ${JSON.stringify(found)}, wanted one with status ${status}`);
      }
    }, timeout);
  }

  /** The session's token, for calling the API from the test. */
  async token() {
    return this.page.evaluate(() => JSON.parse(localStorage.getItem("chat.session")).token);
  }

  async screenshot(name) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  }

  async close() {
    await this.context.close();
  }
}

/**
 * Retries `check` (which throws while the condition does not hold) until it passes or
 * `timeout` ms have gone by; the last failure is the error. Polls every 50 ms.
 */
export async function eventually(check, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function assertDeepEqual(actual, expected) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/**
 * Posts messages through the HTTP send route (as `person`), honouring the server's rate
 * limit (`retryAfterMs`). Returns once all are stored.
 */
export async function postMessages(server, token, conversationId, texts) {
  for (const text of texts) {
    for (;;) {
      const response = await fetch(`${server.url}/api/conversations/${conversationId}/messages`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ clientMessageId: crypto.randomUUID(), text }),
      });
      if (response.status === 201) break;
      const body = await response.json().catch(() => null);
      if (response.status !== 429) throw new Error(`POST message: ${response.status} ${JSON.stringify(body)}`);
      const wait = body?.error?.retryAfterMs ?? 100;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** A username unique to this run (the server keeps names unique). */
export function uniqueName(base) {
  return `${base}${Math.random().toString(36).slice(2, 8)}`;
}
