/**
 * Usernames by user id, as far as this device has seen them (its own user, and everyone
 * looked up to start a conversation). The API has no "user by id" route, so a participant
 * never looked up here shows as "User #id". Persisted so names survive a reload.
 */
import type { User } from "chat-client";

import { readItem, writeItem } from "./storage";

const NAMES_KEY = "chat.usernames";

let names: Record<number, string> | null = null;

function all(): Record<number, string> {
  if (names === null) {
    names = {};
    try {
      const parsed: unknown = JSON.parse(readItem(NAMES_KEY) ?? "{}");
      if (typeof parsed === "object" && parsed !== null) {
        for (const [id, name] of Object.entries(parsed)) {
          if (typeof name === "string") names[Number(id)] = name;
        }
      }
    } catch {
      // A corrupt entry only costs the names.
    }
  }
  return names;
}

export function rememberUsers(users: readonly User[]): void {
  const known = all();
  let changed = false;
  for (const { id, username } of users) {
    if (known[id] !== username) {
      known[id] = username;
      changed = true;
    }
  }
  if (changed) writeItem(NAMES_KEY, JSON.stringify(known));
}

export function displayName(userId: number): string {
  return all()[userId] ?? `User #${userId}`;
}
