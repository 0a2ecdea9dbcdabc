import type { Conversation } from "chat-client";

import { displayName } from "./names";

/** Adds or replaces conversations by id; newest conversation first. */
export function mergeConversations(
  current: readonly Conversation[],
  incoming: readonly Conversation[],
): readonly Conversation[] {
  if (incoming.length === 0) return current;
  const byId = new Map(current.map((conversation) => [conversation.id, conversation]));
  for (const conversation of incoming) byId.set(conversation.id, conversation);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

/** Its title, or the other participants' names. */
export function conversationTitle(conversation: Conversation, myId: number): string {
  if (conversation.title !== null && conversation.title.trim() !== "") return conversation.title;
  const others = conversation.participantIds.filter((id) => id !== myId);
  if (others.length === 0) return "Just you";
  return others.map(displayName).join(", ");
}

/** "alice, bob; carol" → ["alice", "bob", "carol"], without repeats. */
export function parseUsernames(input: string): string[] {
  const names = input
    .split(/[\s,;]+/)
    .map((name) => name.trim().replace(/^@/, ""))
    .filter((name) => name !== "");
  return [...new Set(names)];
}
