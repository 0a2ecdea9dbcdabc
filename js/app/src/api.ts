/**
 * The REST calls the screens make: chat-client's typed helpers (`createApi`), plus what
 * the app adds: a 401 on an authenticated call means the token is no longer good, and
 * `onUnauthorized` ends the session; and errors phrased for people (`describeError`).
 */
import { ApiError, createApi as createClientApi } from "chat-client";
import type { ChatApi } from "chat-client";

export { ApiError };

export type Api = Pick<ChatApi, "register" | "login" | "findUser" | "listConversations" | "createConversation">;

interface ApiOptions {
  readonly url: string;
  /** Absent before sign-in (register and login need none). */
  readonly token?: string;
  readonly onUnauthorized?: () => void;
}

export function createApi({ url, token, onUnauthorized }: ApiOptions): Api {
  const api = createClientApi({ url, getToken: () => token ?? null });
  function watched<Args extends unknown[], Result>(call: (...args: Args) => Promise<Result>) {
    return async (...args: Args): Promise<Result> => {
      try {
        return await call(...args);
      } catch (error) {
        if (token !== undefined && error instanceof ApiError && error.status === 401) onUnauthorized?.();
        throw error;
      }
    };
  }
  return {
    register: api.register,
    login: api.login,
    findUser: watched(api.findUser),
    listConversations: watched(api.listConversations),
    createConversation: watched(api.createConversation),
  };
}

/** What to tell a person about a failed call; `fallback` for what they cannot act on. */
export function describeError(error: unknown, fallback: string): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : fallback;
  if (error.status === 0) return "Cannot reach the server. Check your connection and try again.";
  if (error.status === 429) return "Too many attempts. Wait a moment and try again.";
  if (error.status >= 500) return fallback;
  // 4xx: the server says what is wrong with the input.
  return error.message;
}
