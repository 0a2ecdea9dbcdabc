/**
 * Typed REST helpers for what the engine does not do itself (SPEC.md section 3): sign-up
 * and login (which give the token), user lookup, the conversation list and creation, and
 * history pages. The engine fetches history on its own; `messages` is for tools and tests.
 *
 * Every failure is an `ApiError` with the HTTP `status` and the server's `code`
 * (`"network"` when no response came).
 */
import type {
  AuthResult,
  ChatApi,
  ChatApiOptions,
  Conversation,
  ConversationSummary,
  ErrorCode,
  Message,
  TokenGetter,
  User,
} from "./types.js";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: ErrorCode | "network",
  ) {
    super(message);
  }
}

export function createApi(options: ChatApiOptions): ChatApi {
  if (typeof options?.url !== "string" || !/^https?:\/\/./.test(options.url)) {
    throw new TypeError("createApi: `url` must start with http:// or https://");
  }
  const base = options.url.replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const getToken: TokenGetter | undefined = options.getToken;

  async function call<T>(method: "GET" | "POST", path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth) {
      const token = getToken ? await getToken() : null;
      if (!token) throw new ApiError("not signed in: no token", 401, "unauthorized");
      headers["Authorization"] = `Bearer ${token}`;
    }
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(`${method} ${path}: ${String(error)}`, 0, "network");
    }
    const text = await response.text();
    const json: unknown = text === "" ? null : safeParse(text);
    if (!response.ok) {
      const detail = errorBody(json);
      throw new ApiError(detail?.message ?? `${method} ${path} answered ${response.status}`, response.status, detail?.code ?? "unknown");
    }
    return json as T;
  }

  return {
    register: (username, password) => call<AuthResult>("POST", "/api/auth/register", { username, password }, false),
    login: (username, password) => call<AuthResult>("POST", "/api/auth/login", { username, password }, false),
    me: () => call<User>("GET", "/api/users/me"),
    async findUser(username) {
      try {
        return await call<User>("GET", `/api/users?username=${encodeURIComponent(username)}`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    listConversations(query = {}) {
      const params = new URLSearchParams();
      if (query.limit !== undefined) params.set("limit", String(query.limit));
      if (query.before !== undefined) params.set("before", query.before);
      if (query.beforeId !== undefined) params.set("beforeId", String(query.beforeId));
      const suffix = params.size > 0 ? `?${params.toString()}` : "";
      return call<ConversationSummary[]>("GET", `/api/conversations${suffix}`);
    },
    createConversation: (participantIds, title) =>
      call<Conversation>("POST", "/api/conversations", title === undefined ? { participantIds } : { participantIds, title }),
    messages(conversationId, query = {}) {
      const params = new URLSearchParams();
      if (query.afterSeq !== undefined) params.set("afterSeq", String(query.afterSeq));
      if (query.beforeSeq !== undefined) params.set("beforeSeq", String(query.beforeSeq));
      if (query.limit !== undefined) params.set("limit", String(query.limit));
      const suffix = params.size > 0 ? `?${params.toString()}` : "";
      return call<{ messages: Message[]; hasMore: boolean }>("GET", `/api/conversations/${conversationId}/messages${suffix}`);
    },
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorBody(json: unknown): { code: ErrorCode; message: string } | undefined {
  if (typeof json !== "object" || json === null || !("error" in json)) return undefined;
  const error = (json as { error: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || typeof message !== "string") return undefined;
  return { code: code as ErrorCode, message };
}
