/**
 * React hooks over the engine: each is one `useSyncExternalStore` call over the engine's
 * `subscribe`/`getSnapshot` (like zustand's React binding), plus effects that register
 * and remove listeners. They add no logic: retries, queues, dedup and ordering live in
 * the engine. Snapshots keep their identity while unchanged, so a component re-renders
 * only when what it reads changed.
 *
 * - `ChatEngineProvider` / `useChatEngine`: the engine for a subtree.
 * - `useSocketIO`: the connection and DESIGN.md 2.2's interface.
 * - `useConversation`: one conversation (joined while mounted).
 * - `useConversations`: the conversation list, live and ordered by activity.
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import { ConversationListCache, fetchWholeList, type DirectoryEntry } from "./conversationList.js";
import type {
  ChatEngine,
  ConnectionSnapshot,
  ConversationSnapshot,
  EngineEvent,
  MessageView,
  Unsubscribe,
  UseConversationOptions,
  UseConversationReturn,
  UseConversationsOptions,
  UseConversationsReturn,
  UseSocketIOOptions,
  UseSocketIOReturn,
} from "./types.js";

const EngineContext = createContext<ChatEngine | null>(null);

export function ChatEngineProvider(props: { readonly engine: ChatEngine | null; readonly children?: ReactNode }): ReactNode {
  return createElement(EngineContext.Provider, { value: props.engine }, props.children);
}

/** The engine of the nearest `ChatEngineProvider` (null if none, or while loading). */
export function useChatEngine(): ChatEngine | null {
  return useContext(EngineContext);
}

const NO_ENGINE: ConnectionSnapshot = Object.freeze({
  state: "disconnected",
  error: null,
  reconnectAt: null,
  failedAttempts: 0,
});
const EMPTY_MESSAGES: readonly MessageView[] = Object.freeze([]);
const EMPTY_IDS: readonly number[] = Object.freeze([]);
const EMPTY_SEQS: Readonly<Record<number, number>> = Object.freeze({});
const NO_CONVERSATIONS: Readonly<Record<number, ConversationSnapshot>> = Object.freeze({});
const noop = (): void => {};
const subscribeNothing = (): Unsubscribe => noop;

function useEngine(option: ChatEngine | null | undefined): ChatEngine | null {
  const fromContext = useContext(EngineContext);
  return option === undefined ? fromContext : option;
}

type ConnectionError = NonNullable<UseSocketIOReturn["error"]>;

/**
 * The connection and DESIGN.md 2.2's interface. Connects on mount unless
 * `autoConnect: false` (never disconnects: `engine.destroy()` does). Callbacks given to
 * `onMessage`/`onTyping`/`onPresence`/`onConversationNew` stay registered until their
 * unsubscribe is called or the component unmounts.
 */
export function useSocketIO(options: UseSocketIOOptions = {}): UseSocketIOReturn {
  const engine = useEngine(options.engine);
  const autoConnect = options.autoConnect ?? true;
  const subscribe = useCallback((listener: () => void) => (engine ? engine.subscribe(listener) : noop), [engine]);
  const getConnection = useCallback(() => (engine ? engine.getSnapshot().connection : NO_ENGINE), [engine]);
  const connection = useSyncExternalStore(subscribe, getConnection, getConnection);

  useEffect(() => {
    if (engine && autoConnect) engine.connect();
  }, [engine, autoConnect]);

  // Listener registrations made through this hook, removed on unmount (or engine change).
  const registrations = useRef(new Set<Unsubscribe>());
  useEffect(() => {
    const live = registrations.current;
    return () => {
      for (const unsubscribe of live) unsubscribe();
      live.clear();
    };
  }, [engine]);
  const listen = useCallback(
    (listener: (event: EngineEvent) => void): Unsubscribe => {
      if (!engine) return noop;
      const off = engine.onEvent(listener);
      const live = registrations.current;
      const unsubscribe = (): void => {
        off();
        live.delete(unsubscribe);
      };
      live.add(unsubscribe);
      return unsubscribe;
    },
    [engine],
  );

  const error = useMemo((): ConnectionError | null => {
    const cause = connection.error;
    if (!cause) return null;
    return Object.assign(new Error(cause.message), { code: cause.code });
  }, [connection.error]);

  const sendMessage = useCallback(
    (conversationId: number, data: { readonly text: string }): Promise<string> => {
      if (!engine) return Promise.reject(new Error("the chat engine is not ready"));
      try {
        return Promise.resolve(engine.send(conversationId, data.text));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
    [engine],
  );
  const joinConversation = useCallback((id: number) => engine?.join(id), [engine]);
  const leaveConversation = useCallback((id: number) => engine?.leave(id), [engine]);
  const onMessage = useCallback<UseSocketIOReturn["onMessage"]>(
    (callback) => listen((e) => e.type === "message" && callback(e.message)),
    [listen],
  );
  const onTyping = useCallback<UseSocketIOReturn["onTyping"]>(
    (callback) => listen((e) => e.type === "typing" && callback(e.userId, e.isTyping, e.conversationId)),
    [listen],
  );
  const onPresence = useCallback<UseSocketIOReturn["onPresence"]>(
    (callback) => listen((e) => e.type === "presence" && callback(e.userId, e.isOnline)),
    [listen],
  );
  const onConversationNew = useCallback<UseSocketIOReturn["onConversationNew"]>(
    (callback) => listen((e) => e.type === "conversationNew" && callback(e.conversation)),
    [listen],
  );

  return useMemo(
    () => ({
      connected: connection.state === "connected",
      connecting: connection.state === "connecting",
      error,
      state: connection.state,
      sendMessage,
      joinConversation,
      leaveConversation,
      onMessage,
      onTyping,
      onPresence,
      onConversationNew,
      engine,
    }),
    [connection.state, error, sendMessage, joinConversation, leaveConversation, onMessage, onTyping, onPresence, onConversationNew, engine],
  );
}

/**
 * One conversation: its messages (oldest first, with status), who types, who is online,
 * and the commands for it. Joins on mount and leaves on unmount unless `join: false`.
 * `conversationId` null reads nothing.
 */
export function useConversation(conversationId: number | null, options: UseConversationOptions = {}): UseConversationReturn {
  const engine = useEngine(options.engine);
  const join = options.join ?? true;
  const subscribe = useCallback((listener: () => void) => (engine ? engine.subscribe(listener) : noop), [engine]);
  const getConversation = useCallback(
    (): ConversationSnapshot | undefined =>
      engine && conversationId !== null ? engine.getConversation(conversationId) : undefined,
    [engine, conversationId],
  );
  const conversation = useSyncExternalStore(engine ? subscribe : subscribeNothing, getConversation, getConversation);

  useEffect(() => {
    if (!engine || conversationId === null || !join) return undefined;
    engine.join(conversationId);
    return () => engine.leave(conversationId);
  }, [engine, conversationId, join]);

  const commands = useMemo(() => {
    const need = (): { engine: ChatEngine; id: number } => {
      if (!engine || conversationId === null) throw new Error("no chat engine or conversation");
      return { engine, id: conversationId };
    };
    return {
      send: (text: string) => {
        const { engine: e, id } = need();
        return e.send(id, text);
      },
      retry: (clientMessageId: string) => need().engine.retry(clientMessageId),
      typing: () => {
        const { engine: e, id } = need();
        e.typing(id);
      },
      markRead: (messageId?: number) => {
        const { engine: e, id } = need();
        if (messageId === undefined) e.markConversationRead(id);
        else e.markRead(messageId);
      },
      loadOlder: () => {
        const { engine: e, id } = need();
        return e.loadOlder(id);
      },
    };
  }, [engine, conversationId]);

  return useMemo(
    () => ({
      ...commands,
      messages: conversation?.messages ?? EMPTY_MESSAGES,
      typingUserIds: conversation?.typingUserIds ?? EMPTY_IDS,
      onlineUserIds: conversation?.onlineUserIds ?? EMPTY_IDS,
      hasOlder: conversation?.hasOlder ?? false,
      loadingOlder: conversation?.loadingOlder ?? false,
      synced: conversation?.synced ?? false,
      unreadCount: conversation?.unreadCount ?? 0,
      lastReadSeq: conversation?.lastReadSeq ?? 0,
      readSeqs: conversation?.readSeqs ?? EMPTY_SEQS,
    }),
    [commands, conversation],
  );
}

/**
 * The conversation list, ordered by activity (newest first) and live: unread counts, last
 * messages and order follow every message and read, for conversations not joined too
 * (the engine keeps them). Names and participants come from `api.listConversations`,
 * fetched on mount, on every (re)connection and on `conversation:new`.
 */
export function useConversations(options: UseConversationsOptions): UseConversationsReturn {
  const engine = useEngine(options.engine);
  const { api } = options;
  const [directory, setDirectory] = useState<ReadonlyMap<number, DirectoryEntry>>(() => new Map());
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);

  // Only the newest fetch may write: an older answer arriving late is dropped.
  const latest = useRef(0);
  const refresh = useCallback(async (): Promise<void> => {
    const attempt = ++latest.current;
    try {
      const list = await fetchWholeList((query) => api.listConversations(query));
      if (attempt !== latest.current) return;
      setDirectory((current) => sameEntriesKept(current, list));
      setError(null);
    } catch (caught) {
      if (attempt !== latest.current) return;
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      if (attempt === latest.current) setLoading(false);
    }
  }, [api]);

  const subscribe = useCallback((listener: () => void) => (engine ? engine.subscribe(listener) : noop), [engine]);
  const getState = useCallback(() => (engine ? engine.getSnapshot().connection.state : "disconnected"), [engine]);
  const state = useSyncExternalStore(subscribe, getState, getState);
  const getLive = useCallback(() => (engine ? engine.getSnapshot().conversations : NO_CONVERSATIONS), [engine]);
  const live = useSyncExternalStore(subscribe, getLive, getLive);

  // On mount, and on each connection: what changed while away (a conversation created
  // meanwhile came as a `conversation:new` this engine never saw).
  useEffect(() => {
    if (state === "connected" || latest.current === 0) void refresh();
  }, [state, refresh]);

  useEffect(() => {
    if (!engine) return undefined;
    return engine.onEvent((event) => {
      if (event.type !== "conversationNew") return;
      // Shown at once; its participants' names come with the fetch.
      setDirectory((current) =>
        current.has(event.conversation.id) ? current : new Map(current).set(event.conversation.id, event.conversation),
      );
      void refresh();
    });
  }, [engine, refresh]);

  const cache = useRef<ConversationListCache | null>(null);
  cache.current ??= new ConversationListCache();
  const conversations = useMemo(() => cache.current!.build(directory, live), [directory, live]);

  return useMemo(() => ({ conversations, loading, error, refresh }), [conversations, loading, error, refresh]);
}

/** The fetched list as a directory, keeping the previous object of each unchanged entry (and the map itself if none changed). */
function sameEntriesKept(
  current: ReadonlyMap<number, DirectoryEntry>,
  list: readonly DirectoryEntry[],
): ReadonlyMap<number, DirectoryEntry> {
  let changed = current.size !== list.length;
  const next = new Map<number, DirectoryEntry>();
  for (const entry of list) {
    const old = current.get(entry.id);
    const same = old !== undefined && JSON.stringify(old) === JSON.stringify(entry);
    changed ||= !same;
    next.set(entry.id, same ? old : entry);
  }
  return changed ? next : current;
}
