/**
 * The REST helpers with an injected `fetch`: the routes, bodies and bearer token they use,
 * and how failures come back (`ApiError` with status and code).
 */
import { describe, expect, it } from "vitest";
import { ApiError, createApi } from "../src/index.js";

type Call = { url: string; method: string; headers: Record<string, string>; body: string | undefined };

function fakeFetch(answers: Array<[number, unknown]>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({
      url: String(input),
      method: init?.method ?? "GET",
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body as string | undefined,
    });
    const [status, body] = answers.shift() ?? [500, null];
    return new Response(body === null ? "" : JSON.stringify(body), { status });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe("createApi", () => {
  it("logs in without a token and calls the rest with the bearer token", async () => {
    const { fetch, calls } = fakeFetch([
      [200, { token: "jwt", user: { id: 1, username: "ann" } }],
      [201, { id: 9, kind: "direct", title: null, participantIds: [1, 2], lastSeq: 0 }],
    ]);
    const api = createApi({ url: "http://chat.test/", getToken: () => "jwt", fetch });
    await expect(api.login("ann", "pw")).resolves.toMatchObject({ token: "jwt" });
    await expect(api.createConversation([2])).resolves.toMatchObject({ id: 9, kind: "direct" });
    expect(calls[0]).toMatchObject({ url: "http://chat.test/api/auth/login", method: "POST" });
    expect(calls[0]?.headers["Authorization"]).toBeUndefined();
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({ username: "ann", password: "pw" });
    expect(calls[1]).toMatchObject({ url: "http://chat.test/api/conversations", method: "POST" });
    expect(calls[1]?.headers["Authorization"]).toBe("Bearer jwt");
  });

  it("finds no user on 404 and reports other errors as ApiError with the server's code", async () => {
    const { fetch, calls } = fakeFetch([
      [404, { error: { code: "not_found", message: "no such user" } }],
      [409, { error: { code: "conflict", message: "username taken" } }],
    ]);
    const api = createApi({ url: "http://chat.test", getToken: () => "jwt", fetch });
    await expect(api.findUser("a b")).resolves.toBeNull();
    expect(calls[0]?.url).toBe("http://chat.test/api/users?username=a%20b");
    const failure = api.register("ann", "pw");
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 409, code: "conflict", message: "username taken" });
  });

  it("needs a token for authenticated routes and a URL to start with", async () => {
    const api = createApi({ url: "http://chat.test", fetch: fakeFetch([]).fetch });
    await expect(api.listConversations()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(() => createApi({ url: "chat.test" })).toThrow(/http/);
  });

  it("builds history queries", async () => {
    const { fetch, calls } = fakeFetch([[200, { messages: [], hasMore: false }]]);
    const api = createApi({ url: "http://chat.test", getToken: async () => "jwt", fetch });
    await api.messages(3, { afterSeq: 10, limit: 50 });
    expect(calls[0]?.url).toBe("http://chat.test/api/conversations/3/messages?afterSeq=10&limit=50");
  });
});
