/**
 * Where the chat server is. The server serves the web build, so by default the app talks
 * to the origin it was loaded from; `EXPO_PUBLIC_CHAT_SERVER_URL` overrides that (the Expo
 * dev server on :8081, or a native build, which has no origin).
 */
const NATIVE_DEFAULT_URL = "http://127.0.0.1:3000";

export function serverUrl(): string {
  const configured = process.env.EXPO_PUBLIC_CHAT_SERVER_URL;
  if (configured !== undefined && configured !== "") {
    return configured.replace(/\/+$/, "");
  }
  const origin = typeof window === "undefined" ? undefined : window.location?.origin;
  if (origin !== undefined && origin !== "null" && origin !== "") {
    return origin;
  }
  return NATIVE_DEFAULT_URL;
}
