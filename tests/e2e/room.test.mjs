// The room beyond the happy path: a message the server refuses shows "Failed to send. Tap
// to retry." and tapping it sends it again; a long history shows its newest page and
// loads older pages when the reader scrolls up.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Person, Server, eventually, launchBrowser, postMessages, uniqueName } from "./lib/harness.mjs";

/**
 * Puts the page's Socket.IO WebSocket behind a relay that, while `refusing` is set,
 * answers every `message:send` itself with a refused ack (code `bad_request`) instead of
 * passing it to the server.
 */
function refusingRelay() {
  const relay = {
    refusing: false,
    refused: 0,
    async install(context) {
      await context.routeWebSocket(/\/socket\.io\//, (page) => {
        const server = page.connectToServer();
        page.onMessage((frame) => {
          // Socket.IO EVENT with an ack id: 42<id>["message:send",…]
          const send = typeof frame === "string" ? /^42(\d+)\["message:send"/.exec(frame) : null;
          if (relay.refusing && send !== null) {
            relay.refused += 1;
            page.send(`43${send[1]}[{"success":false,"error":"refused by the test","code":"bad_request"}]`);
            return;
          }
          server.send(frame);
        });
        server.onMessage((frame) => page.send(frame));
      });
    },
  };
  return relay;
}

describe("the chat room", () => {
  let server;
  let browser;

  before(async () => {
    server = await Server.start();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("a refused message shows 'Failed to send. Tap to retry.', and tapping it sends it again", async () => {
    const relay = refusingRelay();
    const alice = await Person.open(browser, server, uniqueName("alice"), { prepare: (c) => relay.install(c) });
    const bob = await Person.open(browser, server, uniqueName("bob"));
    try {
      await alice.signUp();
      await bob.signUp();
      const id = await alice.startConversation([bob.username]);
      await alice.waitConnected();
      await bob.openConversation(id);

      relay.refusing = true;
      await alice.send("this one is refused");
      await alice.waitForStatus("this one is refused", "failed");
      await alice.page.getByText("Failed to send. Tap to retry.").waitFor();
      assert.ok(relay.refused >= 1);
      await alice.screenshot("12-failed-message");

      relay.refusing = false;
      await alice.page.locator('[data-testid="message-item"][data-status="failed"]').click();
      await alice.waitForStatus("this one is refused", "read");
      await bob.waitForTexts(["this one is refused"]);
      assert.equal(await alice.page.getByText("Failed to send. Tap to retry.").count(), 0);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  test("scrolling to the top of a long history loads the older messages, in order", async () => {
    const alice = await Person.open(browser, server, uniqueName("alice"));
    const bob = await Person.open(browser, server, uniqueName("bob"));
    try {
      await alice.signUp();
      await bob.signUp();
      const id = await alice.startConversation([bob.username]);
      await alice.byTestId("back-button").click();
      // More than one history page (100): the room opens on the newest page.
      const texts = Array.from({ length: 130 }, (_, i) => `history ${String(i + 1).padStart(3, "0")}`);
      const [aliceToken, bobToken] = [await alice.token(), await bob.token()];
      const half = texts.length / 2;
      // Two senders, two rate-limit buckets; the halves are posted one after the other so
      // the order is known.
      await postMessages(server, aliceToken, id, texts.slice(0, half));
      await postMessages(server, bobToken, id, texts.slice(half));

      await alice.openConversation(id);
      await eventually(async () => {
        const shown = (await alice.messages()).map((message) => message.text);
        assert.equal(shown.at(-1), "history 130");
      });
      const first = await alice.messages();
      assert.equal(first.length, 100, "one page");
      // The room opens at the newest message.
      await eventually(async () => {
        const [top, height, viewport] = await alice
          .byTestId("message-list")
          .evaluate((list) => [list.scrollTop, list.scrollHeight, list.clientHeight]);
        assert.ok(top + viewport >= height - 2, `scrolled to ${top + viewport} of ${height}`);
      });
      // The reader scrolls to the top (instantly: react-native-web's own scrollTo animates).
      const scrollToTop = () => alice.byTestId("message-list").evaluate((list) => (list.scrollTop = 0));
      /** Where the message with this text is, in pixels below the top of the list's viewport. */
      const offsetInView = (text) =>
        alice.byTestId("message-list").evaluate((list, wanted) => {
          const item = [...list.querySelectorAll('[data-testid="message-text"]')].find((t) => t.textContent === wanted);
          return item === undefined ? null : item.getBoundingClientRect().top - list.getBoundingClientRect().top;
        }, text);
      await scrollToTop();
      await eventually(async () => assert.equal((await alice.messages()).length, 130));
      // The reader's place is kept: the message that was at the top is still there (below
      // the 40 px slot of "Load older messages"), the older page above it.
      await eventually(async () => {
        const offset = await offsetInView("history 031");
        assert.ok(offset !== null && offset >= 0 && offset < 100, `history 031 at ${offset} px`);
      });
      const shown = (await alice.messages()).map((message) => message.text);
      assert.deepEqual(shown, texts, "every message once, oldest first");
      await scrollToTop();
      await eventually(async () => {
        const offset = await offsetInView("history 001");
        assert.ok(offset !== null && offset >= 0 && offset < 100, `history 001 at ${offset} px`);
      });
      await alice.screenshot("13-older-messages");
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  test("a group started by usernames reaches everyone in it; an unknown username is refused", async () => {
    const [alice, bob, carol] = await Promise.all(
      ["alice", "bob", "carol"].map((name) => Person.open(browser, server, uniqueName(name))),
    );
    try {
      for (const person of [alice, bob, carol]) await person.signUp();

      await alice.byTestId("new-conversation-button").click();
      await alice.byTestId("participant-input").fill(`${bob.username}, nobody-${bob.username}`);
      await alice.byTestId("create-conversation-button").click();
      await alice.page.getByText(`No user named “nobody-${bob.username}”.`).waitFor();
      await alice.byTestId("new-conversation-button").click(); // cancel

      const id = await alice.startConversation([bob.username, carol.username], "Weekend plans");
      for (const person of [bob, carol]) {
        await person.byTestId(`conversation-item-${id}`).waitFor();
        assert.match(await person.byTestId(`conversation-item-${id}`).textContent(), /Weekend plans/);
        await person.openConversation(id);
      }
      await alice.send("Hiking on Saturday?");
      await bob.waitForTexts(["Hiking on Saturday?"]);
      await carol.waitForTexts(["Hiking on Saturday?"]);
      await carol.send("Yes!");
      await alice.waitForTexts(["Hiking on Saturday?", "Yes!"]);
      await bob.waitForTexts(["Hiking on Saturday?", "Yes!"]);
      await alice.page.locator(`[data-testid="presence-${carol.id}"][data-state="online"]`).waitFor();
      await alice.page.locator(`[data-testid="presence-${bob.id}"][data-state="online"]`).waitFor();
      await bob.screenshot("15-group-room");
    } finally {
      await Promise.all([alice, bob, carol].map((person) => person.close()));
    }
  });

  test("a message over 1000 characters or with control characters is not sent, and the room says why", async () => {
    const alice = await Person.open(browser, server, uniqueName("alice"));
    const bob = await Person.open(browser, server, uniqueName("bob"));
    try {
      await alice.signUp();
      await bob.signUp();
      await alice.startConversation([bob.username]);
      await alice.waitConnected();

      await alice.byTestId("message-input").fill("é".repeat(1001));
      await alice.page.getByText("1 characters too long (at most 1000)").waitFor();
      assert.equal(await alice.byTestId("send-button").getAttribute("aria-disabled"), "true");
      await alice.byTestId("message-input").press("Enter");
      await alice.byTestId("message-input").fill("é".repeat(1000));
      await alice.page.getByText("0 characters left").waitFor();
      await alice.byTestId("send-button").click();
      await alice.waitForStatus("é".repeat(1000), "sent");

      await alice.send("bell \u0007 here");
      await alice.page.getByText("This message contains characters that cannot be sent.").waitFor();
      assert.deepEqual(
        (await alice.messages()).map((message) => message.text.length),
        [1000],
        "only the message within the rules was sent",
      );
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
