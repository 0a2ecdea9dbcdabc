// Every event of SPEC.md section 2 driven by the official socket.io-client against the
// built chat-server, with two and three users, on the client's default transports
// (long-polling, then the upgrade to WebSocket) and on WebSocket only.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  TRANSPORTS,
  call,
  connect,
  createConversation,
  history,
  newId,
  next,
  onWebSocket,
  record,
  register,
  startServer,
} from "./lib/harness.mjs";

for (const transport of TRANSPORTS) {
  describe(`socket.io-client, ${transport.name}`, () => {
    let server;
    const sockets = [];
    const open = async (user) => {
      const socket = await connect(server.url, { token: user.token }, transport.options);
      sockets.push(socket);
      return socket;
    };

    before(async () => {
      server = await startServer();
    });
    after(async () => {
      for (const socket of sockets) socket.close();
      await server.stop();
    });

    test("the handshake refuses a missing or bad token with the spec's messages", async () => {
      await assert.rejects(connect(server.url, {}, transport.options), {
        message: "Authentication token required",
      });
      await assert.rejects(connect(server.url, { token: "nope" }, transport.options), {
        message: "Invalid or expired token",
      });
    });

    test("the token is also accepted in the query", async () => {
      const alice = await register(server.url, "alice");
      const socket = await connect(server.url, undefined, { ...transport.options, query: { token: alice.token } });
      sockets.push(socket);
      assert.ok(socket.connected);
    });

    test("default transports upgrade to WebSocket", async () => {
      const alice = await register(server.url, "alice");
      const socket = await open(alice);
      await onWebSocket(socket);
      assert.equal(socket.io.engine.transport.name, "websocket");
    });

    test("three users join, send, and everyone in the room gets message:new once", async () => {
      const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob, carol], "trio");
      const [a, b, c] = await Promise.all([alice, bob, carol].map(open));
      const joinA = await call(a, "conversation:join", conversation.id);
      assert.equal(joinA.success, true);
      assert.equal(joinA.lastSeq, 0);
      await call(b, "conversation:join", conversation.id);
      const joinC = await call(c, "conversation:join", conversation.id);
      assert.deepEqual(joinC.onlineUserIds, [alice.id, bob.id, carol.id].sort((x, y) => x - y));

      const clientMessageId = newId();
      const received = [a, b, c].map((s) => next(s, "message:new"));
      const ack = await call(a, "message:send", conversation.id, { clientMessageId, text: "hello <b>all</b>" });
      assert.equal(ack.success, true);
      assert.equal(ack.seq, 1);
      assert.match(ack.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      for (const [message] of await Promise.all(received)) {
        assert.deepEqual(message, {
          id: ack.messageId,
          conversationId: conversation.id,
          seq: 1,
          senderId: alice.id,
          text: "hello <b>all</b>",
          clientMessageId,
          createdAt: ack.createdAt,
        });
      }

      // The repeat acks the original and is not broadcast: bob's next message:new is
      // the next message.
      const bobSaw = record(b);
      const repeat = await call(a, "message:send", conversation.id, { clientMessageId, text: "hello <b>all</b>" });
      assert.deepEqual(repeat, ack);
      const nextAtBob = next(b, "message:new");
      const second = await call(a, "message:send", conversation.id, { clientMessageId: newId(), text: "second" });
      const [message] = await nextAtBob;
      assert.equal(message.seq, 2);
      assert.equal(second.seq, 2);
      assert.equal(bobSaw.filter((e) => e.event === "message:new").length, 1);

      const page = await history(server.url, carol, conversation.id);
      assert.deepEqual(page.body.messages.map((m) => m.text), ["hello <b>all</b>", "second"]);

      assert.deepEqual(await call(c, "conversation:leave", conversation.id), { success: true });
    });

    test("sending needs participation, not joining; others are refused", async () => {
      const [alice, bob, mallory] = await Promise.all(["alice", "bob", "mallory"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob]);
      const [a, m] = await Promise.all([alice, mallory].map(open));
      const ok = await call(a, "message:send", conversation.id, { clientMessageId: newId(), text: "no join" });
      assert.equal(ok.success, true);
      for (const [event, args] of [
        ["conversation:join", [conversation.id]],
        ["message:send", [conversation.id, { clientMessageId: newId(), text: "hi" }]],
        ["typing:start", [conversation.id]],
        ["message:read", [ok.messageId]],
      ]) {
        const refused = await call(m, event, ...args);
        assert.equal(refused.success, false, event);
        assert.equal(refused.code, "forbidden", event);
      }
    });

    test("wrong input gets bad_request or too_long acks", async () => {
      const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob]);
      const a = await open(alice);
      for (const bad of ["1", 1.5, -1, null, [1], { id: 1 }]) {
        const ack = await call(a, "conversation:join", bad);
        assert.equal(ack.code, "bad_request", JSON.stringify(bad));
      }
      const cases = [
        [{ text: "no id" }, "bad_request"],
        [{ clientMessageId: "not-a-uuid", text: "x" }, "bad_request"],
        [{ clientMessageId: newId(), text: "   " }, "bad_request"],
        [{ clientMessageId: newId(), text: "bell\u0007" }, "bad_request"],
        [{ clientMessageId: newId(), text: "x".repeat(1001) }, "too_long"],
      ];
      for (const [body, code] of cases) {
        const ack = await call(a, "message:send", conversation.id, body);
        assert.equal(ack.success, false);
        assert.equal(ack.code, code, JSON.stringify(body).slice(0, 60));
      }
      const unknown = await call(a, "no:such:event", 1);
      assert.equal(unknown.code, "bad_request");
      assert.ok(a.connected);
    });

    test("typing is relayed without the typist and stopped by the server on disconnect", async () => {
      const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob, carol]);
      const [a, b, c] = await Promise.all([alice, bob, carol].map(open));
      await Promise.all([a, b, c].map((s) => call(s, "conversation:join", conversation.id)));
      const aliceSaw = record(a);
      const atB = next(b, "typing:start");
      const atC = next(c, "typing:start");
      a.emit("typing:start", conversation.id);
      const expected = { conversationId: conversation.id, userId: alice.id };
      assert.deepEqual((await atB)[0], expected);
      assert.deepEqual((await atC)[0], expected);
      const stopAtB = next(b, "typing:stop");
      a.emit("typing:stop", conversation.id);
      assert.deepEqual((await stopAtB)[0], expected);

      const startAgain = next(b, "typing:start");
      a.emit("typing:start", conversation.id);
      await startAgain;
      const stopOnDisconnect = next(b, "typing:stop");
      a.close();
      assert.deepEqual((await stopOnDisconnect)[0], expected);
      assert.equal(aliceSaw.filter((e) => e.event.startsWith("typing:")).length, 0);
    });

    test("typing expires after five seconds without a new start", async () => {
      const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob]);
      const [a, b] = await Promise.all([alice, bob].map(open));
      await call(b, "conversation:join", conversation.id);
      const started = next(b, "typing:start");
      a.emit("typing:start", conversation.id);
      await started;
      const since = Date.now();
      const [stop] = await next(b, "typing:stop", 8000);
      assert.equal(stop.userId, alice.id);
      assert.ok(Date.now() - since >= 4000);
    });

    test("presence counts every socket of a user", async () => {
      const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob]);
      const a = await open(alice);
      await call(a, "conversation:join", conversation.id);
      const online = next(a, "user:online");
      const b1 = await open(bob);
      assert.deepEqual(await online, [bob.id]);
      const b2 = await open(bob);
      const aliceSaw = record(a);
      b1.close();
      // Bob still has a socket: his message arrives and no offline came before it.
      const message = next(a, "message:new");
      await call(b2, "message:send", conversation.id, { clientMessageId: newId(), text: "still here" });
      await message;
      assert.equal(aliceSaw.filter((e) => e.event === "user:offline").length, 0);
      const offline = next(a, "user:offline");
      b2.close();
      assert.deepEqual(await offline, [bob.id]);
    });

    test("read receipts go to the sender once", async () => {
      const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob]);
      const [a, b] = await Promise.all([alice, bob].map(open));
      const sent = await call(a, "message:send", conversation.id, { clientMessageId: newId(), text: "read me" });
      const own = await call(a, "message:read", sent.messageId);
      assert.equal(own.success, false);
      const receipt = next(a, "message:read");
      assert.deepEqual(await call(b, "message:read", sent.messageId), { success: true });
      const [r] = await receipt;
      assert.equal(r.messageId, sent.messageId);
      assert.equal(r.conversationId, conversation.id);
      assert.equal(r.readBy, bob.id);
      assert.match(r.readAt, /Z$/);
      const aliceSaw = record(a);
      assert.deepEqual(await call(b, "message:read", sent.messageId), { success: true });
      // A message after the repeat read is the next thing alice hears.
      const after = next(a, "message:new");
      await call(a, "conversation:join", conversation.id);
      await call(b, "message:send", conversation.id, { clientMessageId: newId(), text: "after" });
      await after;
      assert.equal(aliceSaw.filter((e) => e.event === "message:read").length, 0);
    });

    test("a conversation created over REST is announced to every participant", async () => {
      const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => register(server.url, n)));
      const [a, b, c] = await Promise.all([alice, bob, carol].map(open));
      const announced = [a, b, c].map((s) => next(s, "conversation:new"));
      const created = await createConversation(server.url, alice, [bob, carol], "new group");
      for (const [conversation] of await Promise.all(announced)) {
        assert.deepEqual(conversation, created);
      }
    });

    test("messages sent over the HTTP fallback are broadcast", async () => {
      const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => register(server.url, n)));
      const conversation = await createConversation(server.url, alice, [bob]);
      const b = await open(bob);
      await call(b, "conversation:join", conversation.id);
      const arrived = next(b, "message:new");
      const response = await fetch(`${server.url}/api/conversations/${conversation.id}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ clientMessageId: newId(), text: "via http" }),
      });
      assert.equal(response.status, 201);
      assert.equal((await arrived)[0].text, "via http");
    });
  });
}

describe("graceful shutdown", () => {
  test("sockets are told when the server stops", async () => {
    const server = await startServer();
    try {
      const alice = await register(server.url, "alice");
      const socket = await connect(server.url, { token: alice.token }, { transports: ["websocket"] });
      const disconnected = next(socket, "disconnect");
      server.child.kill("SIGTERM");
      const [reason] = await disconnected;
      assert.ok(["transport close", "io server disconnect"].includes(reason), reason);
      const code = await new Promise((r) => (server.child.exitCode === null ? server.child.once("exit", r) : r(server.child.exitCode)));
      assert.equal(code, 0);
    } finally {
      await server.stop();
    }
  });
});
