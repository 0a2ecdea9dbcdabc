// Two people in two browser contexts: a conversation one starts appears for the other by
// itself; messages go both ways in real time, in order; each sees the other typing and
// online; a read receipt turns the sender's message to `read`; message text is only ever
// text. The tests run in order and share the two people and their conversation.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Person, Server, eventually, launchBrowser, uniqueName } from "./lib/harness.mjs";

describe("two people chatting", () => {
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
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await browser?.close();
    await server?.close();
  });

  test("a conversation one starts by username appears for the other by itself", async () => {
    await alice.signUp();
    await bob.signUp();
    await bob.waitConnected();
    conversationId = await alice.startConversation([bob.username]);
    assert.ok(conversationId > 0, "the room's address names the conversation");
    await bob.byTestId(`conversation-item-${conversationId}`).waitFor();
    await bob.screenshot("05-conversation-list");
    await bob.openConversation(conversationId);
    await alice.waitConnected();
  });

  test("each sees the other online in the room", async () => {
    await alice.page.locator(`[data-testid="presence-${bob.id}"][data-state="online"]`).waitFor();
    await bob.page.locator(`[data-testid="presence-${alice.id}"][data-state="online"]`).waitFor();
  });

  test("messages go both ways in real time, oldest first", async () => {
    await alice.send("Hello Bob");
    await bob.waitForTexts(["Hello Bob"]);
    await bob.send("Hi Alice! How are you?");
    await alice.waitForTexts(["Hello Bob", "Hi Alice! How are you?"]);
    await alice.send("Fine, thanks");
    const all = ["Hello Bob", "Hi Alice! How are you?", "Fine, thanks"];
    await bob.waitForTexts(all);
    await alice.waitForTexts(all);
  });

  test("a read receipt turns the sender's message to read", async () => {
    // Bob has the room open, so he has seen Alice's messages.
    await alice.waitForStatus("Hello Bob", "read");
    await alice.waitForStatus("Fine, thanks", "read");
    await bob.waitForStatus("Hi Alice! How are you?", "read");
    await alice.screenshot("06-chat-room-alice");
    await bob.screenshot("07-chat-room-bob");
  });

  test("a reload keeps the person in the room, with its messages", async () => {
    await bob.page.reload();
    await bob.byTestId("message-list").waitFor();
    await bob.waitForTexts(["Hello Bob", "Hi Alice! How are you?", "Fine, thanks"]);
    await bob.waitConnected();
    await alice.page.locator(`[data-testid="presence-${bob.id}"][data-state="online"]`).waitFor();
  });

  test("each sees the other typing, and the indicator goes when they stop", async () => {
    assert.equal(await alice.byTestId("typing-indicator").count(), 0, "nobody is typing yet");
    await bob.byTestId("message-input").pressSequentially("I am wri", { delay: 40 });
    await alice.byTestId("typing-indicator").waitFor({ state: "visible" });
    assert.match(await alice.byTestId("typing-indicator").textContent(), /typing/);
    await alice.screenshot("08-typing-indicator");
    // Typing stops 2 s after the last keystroke.
    await alice.byTestId("typing-indicator").waitFor({ state: "detached" });
    await bob.byTestId("message-input").fill("");

    await alice.byTestId("message-input").pressSequentially("Me t", { delay: 40 });
    await bob.byTestId("typing-indicator").waitFor({ state: "visible" });
    await bob.byTestId("typing-indicator").waitFor({ state: "detached" });
    await alice.byTestId("message-input").fill("");
  });

  test("a message that looks like HTML shows as text and runs nothing", async () => {
    const html = "<img src=x onerror=alert(1)>";
    await alice.send(html);
    await eventually(async () => assert.equal((await bob.messages()).at(-1)?.text, html));
    await alice.waitForStatus(html, "read");
    for (const person of [alice, bob]) {
      const texts = (await person.messages()).map((message) => message.text);
      assert.equal(texts.at(-1), html);
      assert.equal(await person.page.locator('[data-testid="message-list"] img').count(), 0);
      assert.deepEqual(person.dialogs, [], `${person.username} saw no dialog`);
      assert.deepEqual(person.errors, [], `${person.username}'s page threw nothing`);
    }
  });

  test("when one closes the page, the other sees them go offline", async () => {
    await bob.page.locator(`[data-testid="presence-${alice.id}"][data-state="online"]`).waitFor();
    await alice.page.close();
    await bob.page.locator(`[data-testid="presence-${alice.id}"][data-state="offline"]`).waitFor();
    await bob.screenshot("09-presence-offline");
  });
});
