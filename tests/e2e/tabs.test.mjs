// Tabs of one browser (SPEC.md section 10, first point): the tabs of one user on one server
// share one connection and one outbox. Alice opens the app in three tabs of one browser
// context; Bob chats with her from his own context. The server counts the sockets
// (`socketio_connected_sockets` on /metrics). Then the leading tab closes while messages
// are queued; then, in a browser without Web Locks, each tab runs its own engine and
// still no tab's outbox write drops another's messages; and two accounts in one browser
// never share.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Person, Server, eventually, launchBrowser, uniqueName } from "./lib/harness.mjs";

/** Sockets past the handshake on the server, from /metrics. */
async function sockets(server) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("socketio_connected_sockets "));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

async function waitForSockets(server, count) {
  await eventually(async () => assert.equal(await sockets(server), count, "sockets on the server"));
}

/** Another tab of `person`'s browser context, opened on the conversation. */
async function openTab(person, server, conversationId) {
  await person.openPage(server);
  await person.byTestId("conversation-list").waitFor();
  await person.openConversation(conversationId);
  return person.page;
}

/**
 * A server, a browser, and Alice (in a context `prepare` may set up) and Bob, started
 * before the enclosing describe's tests and closed after them.
 */
function aliceAndBob({ prepare } = {}) {
  const world = {};
  before(async () => {
    world.server = await Server.start();
    world.browser = await launchBrowser();
    world.alice = await Person.open(world.browser, world.server, uniqueName("alice"), { prepare });
    world.bob = await Person.open(world.browser, world.server, uniqueName("bob"));
  });
  after(async () => {
    for (const person of [world.alice, world.bob]) await person?.close();
    await world.browser?.close();
    await world.server?.close();
  });
  return world;
}

/** The client (tab) holding the lock of the shared engine, seen from `page`. */
async function leaderClient(page) {
  return page.evaluate(async () => (await navigator.locks.query()).held.find((lock) => lock.name.startsWith("chat-client/tabs/"))?.clientId ?? null);
}

/** Waits until the message has reached the server: `sent`, or already `read`. */
async function waitStored(person, text) {
  await eventually(async () => {
    const found = (await person.messages()).filter((message) => message.text === text);
    assert.equal(found.length, 1, `${text} shown once`);
    assert.ok(["sent", "read"].includes(found[0].status), `${text}: ${found[0].status}`);
  });
}

describe("tabs of one browser", () => {
  const world = aliceAndBob();
  let conversation;
  const tabs = [];

  test("three tabs hold one socket; each tab's message reaches the other user once, in order", async () => {
    const { server, alice, bob } = world;
    await alice.signUp();
    await bob.signUp();
    conversation = await alice.startConversation([bob.username]);
    tabs.push(alice.page);
    tabs.push(await openTab(alice, server, conversation));
    tabs.push(await openTab(alice, server, conversation));
    await bob.openConversation(conversation);
    for (const page of tabs) await alice.inPage(page).waitConnected();
    await bob.waitConnected();
    await waitForSockets(server, 2); // one for Alice's three tabs, one for Bob

    const sent = ["from the first tab", "from the second tab", "from the third tab"];
    for (const [index, page] of tabs.entries()) {
      const t = alice.inPage(page);
      await t.send(sent[index]);
      await waitStored(t, sent[index]);
    }
    await bob.waitForTexts(sent);
    for (const page of tabs) await alice.inPage(page).waitForTexts(sent);
    await waitForSockets(server, 2);
    await alice.inPage(tabs[1]).screenshot("12-tabs-follower");
  });

  test("typing and read state from a follower reach the other user", async () => {
    const { server, alice, bob } = world;
    const follower = alice.inPage(tabs[2]);
    await follower.byTestId("message-input").pressSequentially("typ");
    await bob.byTestId("typing-indicator").waitFor();
    // The leading tab goes back to the list: only the followers show the room, which stays
    // joined for them, and it is their reading that Bob sees.
    await alice.inPage(tabs[0]).byTestId("back-button").click();
    await alice.inPage(tabs[0]).byTestId("conversation-list").waitFor();
    await bob.send("did you see this?");
    await bob.waitForStatus("did you see this?", "read");
    await follower.waitForTexts(["from the first tab", "from the second tab", "from the third tab", "did you see this?"]);
  });

  test("the leading tab closes with messages queued: a follower leads within 2 s and each message arrives once", async () => {
    const { server, alice, bob } = world;
    const [leader, first, second] = tabs;
    await alice.context.setOffline(true);
    const one = alice.inPage(first);
    await one.page.getByText("Connection lost. Retrying...").waitFor();
    await one.send("queued offline 1");
    await alice.inPage(second).send("queued offline 2");
    await one.waitForStatus("queued offline 1", "sending");
    const before = await leaderClient(first);
    assert.notEqual(before, null);
    await alice.context.setOffline(false);
    await alice.inPage(second).send("sent as the leader closes");
    const closed = Date.now();
    await leader.close();
    await eventually(async () => {
      const now = await leaderClient(first);
      assert.ok(now !== null && now !== before, "a remaining tab leads");
    }, 2000);
    const led = Date.now() - closed;
    await bob.waitForTexts([
      "from the first tab",
      "from the second tab",
      "from the third tab",
      "did you see this?",
      "queued offline 1",
      "queued offline 2",
      "sent as the leader closes",
    ]);
    const delivered = Date.now() - closed;
    console.log(`take-over: a follower led ${led} ms after the leader closed; the queued messages reached the other user after ${delivered} ms`);
    assert.ok(led < 2000, `led after ${led} ms`);

    const expected = [
      "from the first tab",
      "from the second tab",
      "from the third tab",
      "did you see this?",
      "queued offline 1",
      "queued offline 2",
      "sent as the leader closes",
    ];
    await bob.waitForTexts(expected);
    for (const page of [first, second]) await alice.inPage(page).waitForTexts(expected);
    for (const text of expected.slice(4)) await one.waitForStatus(text, "read");
    await waitForSockets(server, 2);
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
  });
});

describe("a browser without Web Locks", () => {
  // Removed before the app loads: each tab runs its own engine.
  const world = aliceAndBob({
    prepare: (context) => context.addInitScript(() => Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined })),
  });

  test("one tab's successful send keeps the other tab's queued messages, which a reopened tab delivers once", async () => {
    const { server, alice, bob } = world;
    await alice.signUp();
    await bob.signUp();
    const conversation = await alice.startConversation([bob.username]);
    const first = alice.inPage(alice.page);
    const second = alice.inPage(await openTab(alice, server, conversation));
    await bob.openConversation(conversation);
    await first.waitConnected();
    await second.waitConnected();
    await waitForSockets(server, 3); // each of Alice's tabs has its own socket here

    await alice.context.setOffline(true);
    await first.page.getByText("Connection lost. Retrying...").waitFor();
    await first.send("first tab, offline");
    await second.send("second tab, offline");
    await second.waitForStatus("second tab, offline", "sending");
    await second.page.close(); // closed with its message queued
    await alice.context.setOffline(false);
    await waitStored(first, "first tab, offline"); // its outbox empties
    await bob.waitForTexts(["first tab, offline"]);
    await first.page.close();

    const reopened = alice.inPage(await openTab(alice, server, conversation));
    await reopened.waitForTexts(["first tab, offline", "second tab, offline"]);
    await bob.waitForTexts(["first tab, offline", "second tab, offline"]);
    await reopened.waitForStatus("second tab, offline", "read");
    assert.deepEqual(alice.errors, []);
  });
});

describe("two accounts in one browser", () => {
  const world = aliceAndBob();

  test("never share a connection or messages", async () => {
    const { server, alice, bob } = world;
    await bob.signUp();
    const carol = alice.inPage(alice.page, uniqueName("carol"));
    await carol.signUp(); // registered in Alice's browser, then signed out there
    await carol.byTestId("logout-button").click();
    await alice.signUp();
    const withBob = await alice.startConversation([bob.username]);
    // A second tab of the same browser, signed in as Carol: the session is per page here.
    const carolsTab = carol.inPage(await carol.context.newPage());
    await carolsTab.page.goto(server.url);
    await carolsTab.page.evaluate(() => localStorage.removeItem("chat.session"));
    await carolsTab.page.reload();
    await carolsTab.signIn();
    await alice.inPage(alice.page).waitConnected();
    await carolsTab.waitConnected();
    await bob.waitConnected();
    await waitForSockets(server, 3); // Alice's, Carol's and Bob's

    await alice.inPage(alice.page).send("from alice");
    await bob.openConversation(withBob);
    await bob.waitForTexts(["from alice"]);
    assert.equal(await carolsTab.byTestId(`conversation-item-${withBob}`).count(), 0, "Carol's tab does not see Alice's conversation");
  });
});
