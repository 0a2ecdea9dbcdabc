/**
 * The little CSS that react-native-web's styles cannot express, installed once on web.
 *
 * `overflow-anchor: none` on the message list: Chrome's scroll anchoring otherwise moves
 * the list while messages render (it pins an element it chose, fighting the list's own
 * "stay at the newest message" and "keep the reader's place when older messages arrive",
 * which src/screens/ChatRoomScreen.tsx does itself, the same on every browser).
 */
export const MESSAGE_LIST_ID = "chat-message-list";

export function installWebStyles(): void {
  if (typeof document === "undefined" || typeof document.createElement !== "function") return;
  const style = document.createElement("style");
  style.textContent = `#${MESSAGE_LIST_ID} { overflow-anchor: none; }`;
  document.head.appendChild(style);
}
