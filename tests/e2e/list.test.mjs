// The conversation list as a chat app shows it (SPEC.md section 9): Alice writes to Bob in
// a direct conversation and a group; Bob has the app open on two devices (two browser
// contexts signed in as him). Each line names the conversation, shows its last message
// and an unread badge; a new message moves its conversation to the top on both devices;
// opening it on one device clears its badge on the other; Alice sees her message `read`.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Person, Server, eventually, launchBrowser, postMessages, uniqueName } from "./lib/harness.mjs";

/** The conversation ids in the list, top first. */
async function order(person) {
  return person.page.$$eval('[data-testid^="conversation-item-"]', (items) =>
    items.map((item) => Number(item.getAttribute("data-testid").replace("conversation-item-", ""))),
  );
}

async function waitForOrder(person, ids) {
  await eventually(async () => assert.deepEqual(await order(person), ids));
}

async function waitForBadge(person, id, count) {
  const badge = person.byTestId(`unread-count-${id}`);
  if (count === 0) {
    await badge.waitFor({ state: "detached" });
    return;
  }
  await eventually(async () => {
    assert.ok(await badge.isVisible(), `the badge of ${id} is visible`);
    assert.equal(await badge.textContent(), String(count));
  });
}

describe("the conversation list", () => {
  let server;
  let browser;
  let alice;
  let bob;
  let bobsPhone;
  let direct;
  let group;

  before(async () => {
    server = await Server.start();
    browser = await launchBrowser();
    alice = await Person.open(browser, server, uniqueName("alice"));
    bob = await Person.open(browser, server, uniqueName("bob"));
  });
  after(async () => {
    for (const person of [alice, bob, bobsPhone]) await person?.close();
    await browser?.close();
    await server?.close();
  });

  test("names each conversation, shows its last message and an unread badge, on every device", async () => {
    await alice.signUp();
    await bob.signUp();
    bobsPhone = await Person.open(browser, server, bob.username);
    await bobsPhone.signIn();
    await bob.waitConnected();
    await bobsPhone.waitConnected();

    direct = await alice.startConversation([bob.username]);
    await alice.send("Are you coming tonight?");
    await alice.byTestId("back-button").click();
    group = await alice.startConversation([bob.username], "Weekend plans");
    await alice.send("Who brings the tent?");

    for (const device of [bob, bobsPhone]) {
      await waitForOrder(device, [group, direct]);
      assert.equal(await device.byTestId(`conversation-title-${direct}`).textContent(), alice.username);
      assert.equal(await device.byTestId(`conversation-title-${group}`).textContent(), "Weekend plans");
      await eventually(async () => {
        assert.equal(await device.byTestId(`last-message-${direct}`).textContent(), "Are you coming tonight?");
        assert.equal(await device.byTestId(`last-message-${group}`).textContent(), "Who brings the tent?");
      });
      await waitForBadge(device, direct, 1);
      await waitForBadge(device, group, 1);
    }
    await bob.screenshot("08-conversation-list-unread");
  });

  test("a new message moves its conversation to the top, with its count, live", async () => {
    await postMessages(server, await alice.token(), direct, ["I can drive", "Leaving at 7"]);
    for (const device of [bob, bobsPhone]) {
      await waitForOrder(device, [direct, group]);
      await waitForBadge(device, direct, 3);
      await eventually(async () =>
        assert.equal(await device.byTestId(`last-message-${direct}`).textContent(), "Leaving at 7"),
      );
    }
  });

  test("opening a conversation on one device clears its badge on the other, and the sender sees read", async () => {
    await alice.byTestId("back-button").click();
    await alice.openConversation(direct);
    await alice.waitForTexts(["Are you coming tonight?", "I can drive", "Leaving at 7"]);

    const opened = Date.now();
    await bob.openConversation(direct);
    await waitForBadge(bobsPhone, direct, 0);
    const cleared = Date.now() - opened;
    console.log(`badge cleared on the other device ${cleared} ms after opening the conversation`);
    await waitForBadge(bobsPhone, group, 1);
    await alice.waitForStatus("Leaving at 7", "read");
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
    assert.deepEqual(bobsPhone.errors, []);
  });
});
