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
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import type {
  ChatEngine,
  ConnectionSnapshot,
  ConversationSnapshot,
  EngineEvent,
  MessageView,
  Unsubscribe,
  UseConversationOptions,
  UseConversationReturn,
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
      markRead: (messageId: number) => need().engine.markRead(messageId),
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
    }),
    [commands, conversation],
  );
}
