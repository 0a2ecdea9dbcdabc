/**
 * The REST calls the screens make (SPEC.md section 3), with errors turned into an
 * `ApiError` that says what a person should read. A 401 on an authenticated call means
 * the token is no longer good: `onUnauthorized` ends the session.
 */
import type { AuthResult, Conversation, User } from "chat-client";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
    /** The server's error code (`forbidden`, `too_long`…), when it gave one. */
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface Api {
  register(username: string, password: string): Promise<AuthResult>;
  login(username: string, password: string): Promise<AuthResult>;
  /** `null` when nobody has exactly that username. */
  findUser(username: string): Promise<User | null>;
  listConversations(): Promise<Conversation[]>;
  createConversation(participantIds: readonly number[], title?: string): Promise<Conversation>;
}

interface ApiOptions {
  readonly url: string;
  readonly token?: string;
  readonly onUnauthorized?: () => void;
}

export function createApi({ url, token, onUnauthorized }: ApiOptions): Api {
  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError("Cannot reach the server. Check your connection and try again.", 0, null);
    }
    const payload: unknown = await response.json().catch(() => null);
    if (response.ok) return payload as T;
    const error = readError(payload);
    if (response.status === 401 && token !== undefined) onUnauthorized?.();
    throw new ApiError(error.message ?? `The server answered ${response.status}.`, response.status, error.code);
  }

  return {
    register: (username, password) => call<AuthResult>("POST", "/api/auth/register", { username, password }),
    login: (username, password) => call<AuthResult>("POST", "/api/auth/login", { username, password }),
    async findUser(username) {
      try {
        return await call<User>("GET", `/api/users?username=${encodeURIComponent(username)}`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    listConversations: () => call<Conversation[]>("GET", "/api/conversations"),
    createConversation: (participantIds, title) =>
      call<Conversation>("POST", "/api/conversations", {
        participantIds,
        ...(title === undefined || title === "" ? {} : { title }),
      }),
  };
}

function readError(payload: unknown): { message: string | null; code: string | null } {
  if (typeof payload === "object" && payload !== null && "error" in payload) {
    const { error } = payload as { error: unknown };
    if (typeof error === "object" && error !== null) {
      const { message, code } = error as { message?: unknown; code?: unknown };
      return {
        message: typeof message === "string" ? message : null,
        code: typeof code === "string" ? code : null,
      };
    }
  }
  return { message: null, code: null };
}
