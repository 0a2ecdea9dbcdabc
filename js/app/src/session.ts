/**
 * The signed-in user and their token, persisted so a reload stays signed in. The token is
 * not checked here: the first API call or socket handshake that refuses it ends the
 * session ("Session expired. Please log in again.").
 */
import type { User } from "chat-client";

import { readItem, writeItem } from "./storage";

const SESSION_KEY = "chat.session";

export interface Session {
  readonly token: string;
  readonly user: User;
}

function isSession(value: unknown): value is Session {
  if (typeof value !== "object" || value === null) return false;
  const { token, user } = value as { token?: unknown; user?: unknown };
  if (typeof token !== "string" || token === "" || typeof user !== "object" || user === null) return false;
  const { id, username } = user as { id?: unknown; username?: unknown };
  return typeof id === "number" && typeof username === "string";
}

export function loadSession(): Session | null {
  const raw = readItem(SESSION_KEY);
  if (raw === null) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  writeItem(SESSION_KEY, session === null ? null : JSON.stringify(session));
}
