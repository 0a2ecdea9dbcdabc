/**
 * Everything after sign-in: starts the chat engine for the session, keeps the
 * conversation list (`useConversations`: names from the API, live counts), shows the
 * connection state, and switches between the list and a room. An auth failure, from the
 * socket or the API, ends the session with "Session expired. Please log in again.".
 */
import { useConversations, useSocketIO } from "chat-client";
import type { ChatEngine } from "chat-client";
import { useCallback, useEffect, useMemo, useState } from "react";
import { StyleSheet, Text, View } from "react-native";

import { ApiError, createApi } from "./api";
import { Button } from "./components/Button";
import { ConnectionBanner, ConnectionStatus } from "./components/ConnectionStatus";
import { startEngine } from "./engine";
import { rememberUsers } from "./names";
import { ChatRoomScreen } from "./screens/ChatRoomScreen";
import { ConversationListScreen } from "./screens/ConversationListScreen";
import { serverUrl } from "./config";
import type { Session } from "./session";
import { colors } from "./theme";

export const SESSION_EXPIRED = "Session expired. Please log in again.";

interface SignedInProps {
  readonly session: Session;
  /** Sign out, with the notice the sign-in screen shows (null for a plain sign-out). */
  readonly onSignOut: (notice: string | null) => void;
}

export function SignedIn({ session, onSignOut }: SignedInProps) {
  const { engine, startError } = useEngine(session);
  const socket = useSocketIO({ engine });
  const expire = useCallback(() => onSignOut(SESSION_EXPIRED), [onSignOut]);
  const api = useMemo(
    () => createApi({ url: serverUrl(), token: session.token, onUnauthorized: expire }),
    [session.token, expire],
  );

  useEffect(() => {
    if (socket.error?.code === "auth") expire();
  }, [socket.error, expire]);

  // How many times the socket connected: the banner is for a connection that was lost,
  // not for the first one being made.
  const [connections, setConnections] = useState(0);
  useEffect(() => {
    if (socket.state === "connected") setConnections((count) => count + 1);
  }, [socket.state]);
  const connectionLost = connections > 0 && socket.state !== "connected" && socket.state !== "error";

  // The list: names from the API (fetched on every connection and `conversation:new`),
  // unread counts, last messages and order live from the engine.
  const list = useConversations({ engine, api });
  const { conversations } = list;
  const listError =
    list.error === null || (list.error instanceof ApiError && list.error.status === 401)
      ? null
      : "Could not load your conversations. They will load when the connection is back.";

  useEffect(() => {
    rememberUsers(conversations.flatMap((conversation) => conversation.participants));
  }, [conversations]);

  // The engine places presence by conversation: tell it who is in each.
  useEffect(() => {
    if (engine === null) return;
    for (const conversation of conversations) engine.setParticipants(conversation.id, conversation.participantIds);
  }, [engine, conversations]);

  const [openId, setOpenId] = useOpenConversation();

  const create = useCallback(
    async (usernames: readonly string[], title: string) => {
      const found = await Promise.all(usernames.map(async (name) => [name, await api.findUser(name)] as const));
      const missing = found.filter(([, user]) => user === null).map(([name]) => name);
      if (missing.length > 0) {
        throw new Error(`No user named ${missing.map((name) => `“${name}”`).join(", ")}.`);
      }
      const users = found.flatMap(([, user]) => (user === null ? [] : [user]));
      rememberUsers(users);
      const ids = [...new Set(users.map((user) => user.id))].filter((id) => id !== session.user.id);
      if (ids.length === 0) throw new Error("Add someone other than yourself.");
      const conversation = await api.createConversation(ids, title === "" ? undefined : title);
      await list.refresh();
      setOpenId(conversation.id);
    },
    [api, list.refresh, session.user.id, setOpenId],
  );

  const open = openId === null ? undefined : conversations.find((conversation) => conversation.id === openId);
  // A conversation id from the address that is not (or no longer) ours goes back to the list.
  useEffect(() => {
    if (openId !== null && !list.loading && open === undefined) setOpenId(null);
  }, [openId, list.loading, open, setOpenId]);

  return (
    <View style={styles.shell}>
      <View style={styles.topBar}>
        <Text style={styles.brand}>Chat</Text>
        <View style={styles.topBarRight}>
          <ConnectionStatus state={socket.state} />
          <Text testID="current-user" style={styles.me} numberOfLines={1}>
            {session.user.username}
          </Text>
          <Button testID="logout-button" title="Sign out" variant="secondary" onPress={() => onSignOut(null)} />
        </View>
      </View>
      {connectionLost && <ConnectionBanner />}
      <View style={styles.body}>
        {startError !== null ? (
          <Text role="alert" testID="engine-error" style={styles.fatal}>
            The chat engine could not start: {startError}
          </Text>
        ) : engine !== null && open !== undefined ? (
          <ChatRoomScreen
            key={open.id}
            engine={engine}
            conversation={open}
            myId={session.user.id}
            onBack={() => setOpenId(null)}
          />
        ) : (
          <ConversationListScreen
            myId={session.user.id}
            conversations={conversations}
            loading={list.loading}
            error={listError}
            onOpen={setOpenId}
            onCreate={create}
          />
        )}
      </View>
    </View>
  );
}

/** Starts the engine for the session and destroys it when the session ends. */
function useEngine(session: Session): { engine: ChatEngine | null; startError: string | null } {
  const [engine, setEngine] = useState<ChatEngine | null>(null);
  const [startError, setStartError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    let started: ChatEngine | null = null;
    startEngine(session).then(
      (created) => {
        if (cancelled) {
          created.destroy();
          return;
        }
        started = created;
        created.connect();
        setEngine(created);
      },
      (error: unknown) => {
        if (!cancelled) setStartError(error instanceof Error ? error.message : String(error));
      },
    );
    return () => {
      cancelled = true;
      started?.destroy();
      setEngine(null);
    };
  }, [session]);
  return { engine, startError };
}

const HASH_PREFIX = "#/c/";

function conversationFromHash(): number | null {
  if (typeof window === "undefined" || window.location === undefined) return null;
  const { hash } = window.location;
  if (!hash.startsWith(HASH_PREFIX)) return null;
  const id = Number(hash.slice(HASH_PREFIX.length));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/**
 * The open conversation, mirrored in the address on the web (`#/c/12`) so a reload stays
 * in the room and the browser's back button returns to the list.
 */
function useOpenConversation(): [number | null, (id: number | null) => void] {
  const [openId, setOpenIdState] = useState<number | null>(conversationFromHash);
  useEffect(() => {
    if (typeof window === "undefined" || typeof window.addEventListener !== "function") return undefined;
    const update = () => setOpenIdState(conversationFromHash());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  const setOpenId = useCallback((id: number | null) => {
    setOpenIdState(id);
    if (typeof window === "undefined" || window.location === undefined) return;
    const hash = id === null ? "" : `${HASH_PREFIX}${id}`;
    if (window.location.hash !== hash) {
      if (id === null) {
        window.history.replaceState(null, "", window.location.pathname + window.location.search);
      } else {
        window.location.hash = hash;
      }
    }
  }, []);
  return [openId, setOpenId];
}

const styles = StyleSheet.create({
  shell: { flex: 1, width: "100%", maxWidth: 760, alignSelf: "center", backgroundColor: colors.background },
  topBar: {
    flexDirection: "row",
    alignItems: "center",
    justifyContent: "space-between",
    paddingHorizontal: 16,
    paddingVertical: 10,
    backgroundColor: colors.surface,
    borderBottomWidth: 1,
    borderBottomColor: colors.border,
    gap: 12,
  },
  brand: { fontSize: 18, fontWeight: "800", color: colors.primary },
  topBarRight: { flexDirection: "row", alignItems: "center", gap: 12, flexShrink: 1 },
  me: { fontSize: 14, fontWeight: "600", color: colors.text, flexShrink: 1 },
  body: { flex: 1 },
  fatal: { color: colors.danger, padding: 24, textAlign: "center" },
});
