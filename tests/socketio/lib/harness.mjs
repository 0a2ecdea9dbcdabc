// Harness for the socket.io-client end-to-end suite: starts the built `chat-server`
// (CHAT_SERVER_BIN, default target/debug/chat-server) on 127.0.0.1:0 with a temporary
// SQLite database, reads its URL from the "chat-server listening on http://…" line, and
// gives tests small promise helpers that always time out instead of hanging.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes, randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const WAIT_MS = 5000;

export async function startServer() {
  const bin = resolve(ROOT, process.env.CHAT_SERVER_BIN ?? "target/debug/chat-server");
  const dir = mkdtempSync(join(tmpdir(), "chat-socketio-"));
  const child = spawn(bin, [], {
    cwd: dir,
    env: {
      ...process.env,
      BIND_ADDR: "127.0.0.1:0",
      DATABASE_URL: `sqlite://${join(dir, "chat.db")}`,
      JWT_SECRET: randomBytes(32).toString("hex"),
      WEB_DIR: join(dir, "no-web"),
      RUST_LOG: process.env.RUST_LOG ?? "warn",
      // Every test user signs in from this machine: lift the abuse limits.
      AUTH_ATTEMPTS_PER_ADDRESS: "1000000",
      AUTH_ATTEMPTS_PER_USERNAME: "1000000",
      PASSWORD_HASH_QUEUE: "1000000",
      REST_REQUESTS_PER_USER: "1000000",
      CONVERSATIONS_PER_USER: "1000000",
      MAX_UNAUTHENTICATED_SESSIONS: "1000000",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("chat-server did not start in 30 s")), 30_000);
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      const match = buffered.match(/chat-server listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chat-server exited with ${code} before listening`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, child, stop };
}

async function api(url, path, { token, body, method = body ? "POST" : "GET" } = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Registers a user with a unique name: `{ id, username, token }`. */
export async function register(url, name) {
  const username = `${name}-${randomBytes(3).toString("hex")}`;
  const { status, body } = await api(url, "/api/auth/register", {
    body: { username, password: "correct horse battery" },
  });
  if (status !== 201) throw new Error(`register ${username}: ${status} ${JSON.stringify(body)}`);
  return { id: body.user.id, username, token: body.token };
}

/** Creates a conversation as `creator` with `others`; returns the REST body. */
export async function createConversation(url, creator, others, title) {
  const { status, body } = await api(url, "/api/conversations", {
    token: creator.token,
    body: { participantIds: others.map((u) => u.id), ...(title ? { title } : {}) },
  });
  if (status !== 201 && status !== 200) throw new Error(`create: ${status} ${JSON.stringify(body)}`);
  return body;
}

export function history(url, user, conversationId) {
  return api(url, `/api/conversations/${conversationId}/messages`, { token: user.token });
}

export const TRANSPORTS = [
  { name: "default transports (polling, then upgrade)", options: {} },
  { name: "websocket only", options: { transports: ["websocket"] } },
];

/** A connected socket.io-client socket (rejects with the CONNECT_ERROR's message). */
export function connect(url, auth, options = {}) {
  const socket = io(url, { auth, reconnection: false, forceNew: true, ...options });
  return new Promise((resolveSocket, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no connect in time"));
    }, WAIT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolveSocket(socket);
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
  });
}

/** Resolves with the arguments of the next `event` on `emitter`, or rejects in time. */
export function next(emitter, event, ms = WAIT_MS) {
  return new Promise((resolveArgs, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    function listener(...args) {
      clearTimeout(timer);
      emitter.off(event, listener);
      resolveArgs(args);
    }
    emitter.on(event, listener);
  });
}

/** Records every event a socket receives, in order. */
export function record(socket) {
  const seen = [];
  socket.onAny((event, ...args) => seen.push({ event, args }));
  return seen;
}

/** Emits with an ack and waits for it (bounded by WAIT_MS). */
export function call(socket, event, ...args) {
  return socket.timeout(WAIT_MS).emitWithAck(event, ...args);
}

export const newId = () => randomUUID();

/** Resolves once the socket is on WebSocket (after the upgrade, if any). */
export async function onWebSocket(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return;
  await next(engine, "upgrade");
}
