// Losing the connection: a person who goes offline keeps sending (the messages show as
// sending, the banner says the connection is lost) and everything arrives once, in order,
// when they are back; a server restart while both are open loses and doubles nothing.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Person, Server, TIMEOUT, eventually, launchBrowser, uniqueName } from "./lib/harness.mjs";

/** Asserts that every one of `texts` is shown exactly once. */
async function shownOnce(person, texts) {
  const shown = (await person.messages()).map((message) => message.text);
  for (const text of texts) {
    assert.equal(shown.filter((t) => t === text).length, 1, `${person.username} shows ${JSON.stringify(text)} once: ${JSON.stringify(shown)}`);
  }
  return shown;
}

describe("losing the connection", () => {
  let server;
  let browser;
  let alice;
  let bob;
  let conversationId;

  before(async () => {
    server = await Server.start();
    browser = await launchBrowser();
    alice = await Person.open(browser, server, uniqueName("alice"));
    bob = await Person.open(browser, server, uniqueName("bob"));
    await alice.signUp();
    await bob.signUp();
    await bob.waitConnected();
    conversationId = await alice.startConversation([bob.username]);
    await bob.openConversation(conversationId);
    await alice.waitConnected();
    await alice.send("before");
    await bob.waitForTexts(["before"]);
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await browser?.close();
    await server?.close();
  });

  test("messages sent while offline show as sending, then arrive once each, in order", async () => {
    const banner = alice.page.getByText("Connection lost. Retrying...");
    assert.equal(await banner.count(), 0, "no banner while connected");

    await alice.context.setOffline(true);
    await banner.waitFor();
    const offline = ["offline one", "offline two", "offline three"];
    for (const text of offline) {
      await alice.send(text);
      await alice.waitForStatus(text, "sending");
    }
    assert.notEqual(
      await alice.byTestId("connection-status").getAttribute("data-state"),
      "connected",
    );
    await alice.screenshot("10-offline-sending");

    await alice.context.setOffline(false);
    await banner.waitFor({ state: "detached" });
    await alice.waitConnected();
    const expected = ["before", ...offline];
    await bob.waitForTexts(expected);
    await alice.waitForTexts(expected);
    for (const text of offline) await alice.waitForStatus(text, "read");
    await shownOnce(bob, expected);
  });

  test("after a server restart both reconnect by themselves and nothing is lost or doubled", async () => {
    const before = (await alice.messages()).map((message) => message.text);

    await server.stop();
    await alice.page.getByText("Connection lost. Retrying...").waitFor();
    await bob.page.getByText("Connection lost. Retrying...").waitFor();
    await alice.send("sent while the server was down");
    await bob.send("also sent while it was down");
    await alice.waitForStatus("sent while the server was down", "sending");

    await server.restart();
    await alice.waitConnected();
    await bob.waitConnected();
    await alice.page.getByText("Connection lost. Retrying...").waitFor({ state: "detached" });

    await alice.send("after the restart");
    const added = ["sent while the server was down", "also sent while it was down", "after the restart"];
    await eventually(async () => {
      const [a, b] = [await shownOnce(alice, added), await shownOnce(bob, added)];
      assert.deepEqual(a, b, "both show the same timeline");
      assert.deepEqual(a.slice(0, before.length), before, "nothing older changed");
      assert.equal(a.length, before.length + added.length);
      assert.equal(a.at(-1), "after the restart");
    }, TIMEOUT);
    for (const text of added) {
      await eventually(async () => {
        const status = (await alice.messages()).find((message) => message.text === text)?.status;
        assert.ok(status === "sent" || status === "read", `${text}: ${status}`);
      });
    }
    await alice.screenshot("11-after-restart");
  });

  test("a message sent offline survives closing the page, and goes out when the app is back", async () => {
    await alice.context.setOffline(true);
    await alice.page.getByText("Connection lost. Retrying...").waitFor();
    await alice.send("kept in the outbox");
    await alice.waitForStatus("kept in the outbox", "sending");
    await alice.page.close();
    await alice.context.setOffline(false);

    await alice.openPage(server);
    await alice.openConversation(conversationId);
    await alice.waitForStatus("kept in the outbox", "read");
    await eventually(async () => {
      await shownOnce(bob, ["kept in the outbox"]);
      assert.equal((await bob.messages()).at(-1)?.text, "kept in the outbox");
    });
  });
});
