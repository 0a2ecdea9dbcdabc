// Sign up, sign in, their errors, staying signed in across a reload, and the session
// ending when the server no longer accepts the token.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Person, Server, launchBrowser, uniqueName } from "./lib/harness.mjs";

describe("signing in", () => {
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

  test("a new user signs up, sees the conversation list, and stays signed in after a reload", async () => {
    const alice = await Person.open(browser, server, uniqueName("alice"));
    try {
      await alice.byTestId("login-button").waitFor();
      await alice.screenshot("01-sign-in");
      await alice.signUp();
      assert.equal(await alice.byTestId("current-user").textContent(), alice.username);
      await alice.screenshot("02-conversation-list-empty");

      await alice.page.reload();
      await alice.byTestId("conversation-list").waitFor();
      assert.equal(await alice.byTestId("current-user").textContent(), alice.username);
      assert.deepEqual(alice.errors, []);
    } finally {
      await alice.close();
    }
  });

  test("signing in checks the password and says what is wrong", async () => {
    const bob = await Person.open(browser, server, uniqueName("bob"));
    try {
      await bob.signUp();
      await bob.byTestId("logout-button").click();
      await bob.byTestId("login-button").waitFor();

      await bob.byTestId("username-input").fill(bob.username);
      await bob.byTestId("password-input").fill("not the password");
      await bob.byTestId("login-button").click();
      await bob.page.getByText("Wrong username or password.").waitFor();
      await bob.screenshot("03-sign-in-error");

      await bob.signIn();
      assert.equal(await bob.byTestId("current-user").textContent(), bob.username);
    } finally {
      await bob.close();
    }
  });

  test("signing up with a taken username says so", async () => {
    const name = uniqueName("carol");
    const first = await Person.open(browser, server, name);
    const second = await Person.open(browser, server, name);
    try {
      await first.signUp();
      await second.byTestId("username-input").fill(name);
      await second.byTestId("password-input").fill("another password");
      await second.byTestId("register-button").click();
      await second.page.getByText("That username is taken. Choose another one.").waitFor();
    } finally {
      await first.close();
      await second.close();
    }
  });

  test("a token the server no longer accepts ends the session with 'Session expired'", async () => {
    const dave = await Person.open(browser, server, uniqueName("dave"));
    const erin = await Person.open(browser, server, uniqueName("erin"));
    try {
      await dave.signUp();
      await erin.signUp();
      await erin.waitConnected();
      await dave.page.close();
      // A new secret invalidates every token issued before.
      await server.restart({ secret: `rotated-${server.secret}` });

      // Erin's page stays open: its reconnection is refused.
      await erin.page.getByText("Session expired. Please log in again.").waitFor();
      await erin.byTestId("login-button").waitFor();
      await erin.screenshot("04-session-expired");
      // Dave comes back later: the saved token is refused at once.
      await dave.openPage(server);
      await dave.page.getByText("Session expired. Please log in again.").waitFor();
      for (const person of [dave, erin]) {
        assert.equal(await person.page.evaluate(() => localStorage.getItem("chat.session")), null);
      }
    } finally {
      await dave.close();
      await erin.close();
    }
  });

  test("without WebAssembly (as on Hermes) the app runs the engine's JS build and connects", async () => {
    const frank = await Person.open(browser, server, uniqueName("frank"), {
      prepare: (context) => context.addInitScript(() => delete globalThis.WebAssembly),
    });
    try {
      await frank.byTestId("username-input").fill(frank.username);
      await frank.byTestId("password-input").fill(frank.password);
      await frank.byTestId("register-button").click();
      await frank.byTestId("conversation-list").waitFor();
      await frank.page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
      assert.equal(await frank.page.evaluate(() => typeof globalThis.WebAssembly), "undefined");
      await frank.screenshot("14-no-webassembly");
      await frank.byTestId("logout-button").click();
      await frank.byTestId("login-button").waitFor();
      assert.deepEqual(frank.errors, []);
    } finally {
      await frank.close();
    }
  });
});
