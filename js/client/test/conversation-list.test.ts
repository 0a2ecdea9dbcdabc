/**
 * The conversation list's pure parts: the name a line shows (SPEC.md section 9), and the
 * cache that keeps lines and the list the same objects while nothing in them changed.
 */
import { describe, expect, it } from "vitest";
import { ConversationListCache } from "../src/conversationList.js";
import { conversationName, type ConversationSnapshot, type ConversationSummary } from "../src/index.js";

const alice = { id: 1, username: "alice" };
const bob = { id: 2, username: "bob" };
const carol = { id: 3, username: "carol" };

function summary(id: number, activityAt: string, extra: Partial<ConversationSummary> = {}): ConversationSummary {
  return {
    id,
    kind: "direct",
    title: null,
    participantIds: [1, 2],
    participants: [alice, bob],
    lastSeq: 0,
    lastMessage: null,
    lastReadSeq: 0,
    unreadCount: 0,
    readSeqs: {},
    activityAt,
    ...extra,
  };
}

describe("conversationName", () => {
  it("is the other person's username in a direct conversation, whatever its title", () => {
    expect(conversationName({ ...summary(1, ""), title: "ignored" }, alice.id)).toBe("bob");
    expect(conversationName(summary(1, ""), bob.id)).toBe("alice");
  });

  it("is a group's title, else the others' usernames, and names an unknown participant by id", () => {
    const group = { ...summary(1, ""), kind: "group" as const, participantIds: [1, 2, 3], participants: [alice, bob, carol] };
    expect(conversationName({ ...group, title: "Trip" }, alice.id)).toBe("Trip");
    expect(conversationName({ ...group, title: "  " }, alice.id)).toBe("bob, carol");
    expect(conversationName({ ...group, participants: [alice] }, alice.id)).toBe("User #2, User #3");
  });
});

describe("ConversationListCache", () => {
  it("orders by activity, newest first, then by id, and takes the engine's live numbers over the list's", () => {
    const cache = new ConversationListCache();
    const directory = new Map([
      [1, summary(1, "2026-12-04T10:00:00.000Z", { unreadCount: 4 })],
      [2, summary(2, "2026-12-04T11:00:00.000Z")],
      [3, summary(3, "2026-12-04T10:00:00.000Z")],
    ]);
    expect(cache.build(directory, {}).map((c) => [c.id, c.unreadCount])).toEqual([
      [2, 0],
      [3, 0],
      [1, 4],
    ]);
    const live = { 1: { unreadCount: 1, activityAt: "2026-12-04T12:00:00.000Z" } as ConversationSnapshot };
    expect(cache.build(directory, live).map((c) => [c.id, c.unreadCount])).toEqual([
      [1, 1],
      [2, 0],
      [3, 0],
    ]);
  });

  it("keeps the same list and lines while their sources are the same objects", () => {
    const cache = new ConversationListCache();
    const directory = new Map([
      [1, summary(1, "2026-12-04T10:00:00.000Z")],
      [2, summary(2, "2026-12-04T11:00:00.000Z")],
    ]);
    const live = { 1: { unreadCount: 0, activityAt: null } as unknown as ConversationSnapshot };
    const first = cache.build(directory, live);
    expect(cache.build(new Map(directory), { ...live })).toBe(first);
    const changed = cache.build(directory, { 1: { ...live[1]!, unreadCount: 3 } });
    expect(changed).not.toBe(first);
    expect(changed.find((c) => c.id === 2)).toBe(first.find((c) => c.id === 2));
  });
});
