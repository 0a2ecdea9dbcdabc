/**
 * One conversation: its messages oldest first with their status, who is online, who is
 * typing, and the input. The conversation is read (its unread count cleared on every
 * device) while it is open and the page visible. Scrolling to the top loads the page before the oldest message shown.
 */
import { ChatEngineError, conversationName, useConversation } from "chat-client";
import type { ChatEngine, ConversationListItem, MessageView } from "chat-client";
import { useCallback, useEffect, useRef, useState } from "react";
import type { NativeScrollEvent, NativeSyntheticEvent } from "react-native";
import { Pressable, ScrollView, StyleSheet, Text, TextInput, View } from "react-native";

import { Button } from "../components/Button";
import { MessageItem } from "../components/MessageItem";
import { displayName } from "../names";
import { colors, common } from "../theme";
import { MESSAGE_LIST_ID } from "../webStyles";

/** The longest message the server takes (SPEC.md section 2), in Unicode scalar values after trimming. */
const MAX_MESSAGE_CHARS = 1000;
/** From this length on, the input shows how many characters are left. */
const SHOW_COUNT_FROM = 900;

/** Within this many pixels of the top, the older page is fetched. */
const LOAD_OLDER_THRESHOLD = 80;
/** Within this many pixels of the bottom, new messages keep the view at the bottom. */
const STICK_TO_BOTTOM_THRESHOLD = 80;

interface ChatRoomScreenProps {
  readonly engine: ChatEngine;
  readonly conversation: ConversationListItem;
  readonly myId: number;
  readonly onBack: () => void;
}

export function ChatRoomScreen({ engine, conversation, myId, onBack }: ChatRoomScreenProps) {
  const room = useConversation(conversation.id, { engine });
  const others = conversation.participantIds.filter((id) => id !== myId);
  const online = new Set(room.onlineUserIds);
  const typing = room.typingUserIds.filter((id) => id !== myId);

  useMarkRead(room.unreadCount, room.markRead);
  const scroll = useStickyScroll(room.messages, room.hasOlder, room.loadingOlder, room.loadOlder);

  const [draft, setDraft] = useState("");
  const [sendError, setSendError] = useState<string | null>(null);
  const inputRef = useRef<TextInput>(null);

  // Spreading a string counts code points, as the server counts characters.
  const length = [...draft.trim()].length;
  const tooLong = length > MAX_MESSAGE_CHARS;

  function submit() {
    const text = draft.trim();
    if (text === "" || tooLong) return;
    try {
      room.send(text);
      setDraft("");
      setSendError(null);
      scroll.stickToBottom();
    } catch (caught) {
      setSendError(describeSendError(caught));
    }
    inputRef.current?.focus();
  }

  const retry = room.retry;
  const onRetry = useCallback((clientMessageId: string) => void retry(clientMessageId), [retry]);

  return (
    <View style={styles.screen}>
      <View style={styles.header}>
        <Button testID="back-button" title="‹ Back" variant="secondary" onPress={onBack} />
        <View style={styles.headerText}>
          <Text role="heading" style={styles.title} numberOfLines={1}>
            {conversationName(conversation, myId)}
          </Text>
          <View testID="presence-list" style={styles.presenceList}>
            {others.map((userId) => {
              const state = online.has(userId) ? "online" : "offline";
              return (
                <View key={userId} testID={`presence-${userId}`} dataSet={{ state }} style={styles.presence}>
                  <View style={[styles.dot, state === "online" ? styles.dotOnline : styles.dotOffline]} />
                  <Text style={styles.presenceText}>
                    {displayName(userId)} · {state}
                  </Text>
                </View>
              );
            })}
          </View>
        </View>
      </View>

      <ScrollView
        testID="message-list"
        id={MESSAGE_LIST_ID}
        ref={scroll.ref}
        style={styles.list}
        contentContainerStyle={styles.listContent}
        onScroll={scroll.onScroll}
        scrollEventThrottle={50}
        onLayout={scroll.onLayout}
        onContentSizeChange={scroll.onContentSizeChange}
      >
        {/* One height whatever it shows, so an arriving older page moves the view by exactly its own height. */}
        <View style={styles.olderSlot}>
          {room.hasOlder ? (
            <Pressable testID="load-older-button" role="button" disabled={room.loadingOlder} onPress={scroll.loadOlder}>
              <Text style={styles.olderText}>{room.loadingOlder ? "Loading older messages…" : "Load older messages"}</Text>
            </Pressable>
          ) : (
            room.synced && room.messages.length > 0 && <Text style={styles.beginning}>Beginning of the conversation</Text>
          )}
        </View>
        {room.messages.length === 0 && (
          <Text style={styles.empty}>{room.synced ? "No messages yet. Say hello!" : "Loading messages…"}</Text>
        )}
        {room.messages.map((message) => (
          <MessageItem
            key={messageKey(message, myId)}
            message={message}
            mine={message.senderId === null || message.senderId === myId}
            showSender={conversation.kind === "group"}
            onRetry={onRetry}
          />
        ))}
      </ScrollView>

      <View style={styles.typingSlot}>
        {typing.length > 0 && (
          <Text testID="typing-indicator" aria-live="polite" style={styles.typing}>
            {typingText(typing)}
          </Text>
        )}
      </View>

      {sendError !== null && (
        <Text role="alert" testID="send-error" style={[common.error, styles.sendError]}>
          {sendError}
        </Text>
      )}
      <View style={styles.composer}>
        <TextInput
          testID="message-input"
          ref={inputRef}
          aria-label="Message"
          placeholder="Message"
          value={draft}
          onChangeText={(text) => {
            setDraft(text);
            if (text !== "") room.typing();
          }}
          onSubmitEditing={submit}
          submitBehavior="submit"
          style={[common.input, styles.input]}
        />
        <Button testID="send-button" title="Send" disabled={length === 0 || tooLong} onPress={submit} />
      </View>
      {length >= SHOW_COUNT_FROM && (
        <Text testID="message-length" style={[styles.count, tooLong && styles.countOver]}>
          {tooLong
            ? `${length - MAX_MESSAGE_CHARS} characters too long (at most ${MAX_MESSAGE_CHARS})`
            : `${MAX_MESSAGE_CHARS - length} characters left`}
        </Text>
      )}
    </View>
  );
}

/** The engine refuses text it knows the server would refuse (`ChatEngineError`, code `invalid_text`). */
function describeSendError(error: unknown): string {
  if (error instanceof ChatEngineError && error.code === "invalid_text") {
    return "This message contains characters that cannot be sent.";
  }
  return error instanceof Error ? error.message : "This message cannot be sent.";
}

/** Stable across the optimistic message and its acknowledged form (same clientMessageId). */
function messageKey(message: MessageView, myId: number): string {
  if (message.clientMessageId !== null) return `c:${message.senderId ?? myId}:${message.clientMessageId}`;
  return `i:${message.id ?? "?"}`;
}

function typingText(userIds: readonly number[]): string {
  const [first, second] = userIds;
  if (first === undefined) return "";
  if (second === undefined) return `${displayName(first)} is typing…`;
  if (userIds.length === 2) return `${displayName(first)} and ${displayName(second)} are typing…`;
  return "Several people are typing…";
}

function pageVisible(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

/**
 * Reads the whole conversation while it is open and the page visible: its unread count
 * goes to 0 here and, through the server, on the user's other devices.
 */
function useMarkRead(unreadCount: number, markRead: () => void) {
  const [visible, setVisible] = useState(pageVisible);
  useEffect(() => {
    if (typeof document === "undefined") return undefined;
    const update = () => setVisible(pageVisible());
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, []);
  useEffect(() => {
    if (visible && unreadCount > 0) markRead();
  }, [unreadCount, markRead, visible]);
}

/**
 * Keeps the list at the bottom while the reader is there (new messages scroll into view),
 * loads the older page near the top, and keeps the reader's place when it arrives.
 */
function useStickyScroll(
  messages: readonly MessageView[],
  hasOlder: boolean,
  loadingOlder: boolean,
  loadOlderPage: () => boolean,
) {
  const ref = useRef<ScrollView>(null);
  const atBottom = useRef(true);
  const offsetY = useRef(0);
  const contentHeight = useRef(0);
  /**
   * Set while an older page is on its way: where the reader was (and how many messages
   * there were), so that when the page is laid out above, the same messages stay in view.
   */
  const anchor = useRef<{ readonly height: number; readonly y: number; readonly count: number } | null>(null);

  const loadOlder = useCallback(() => {
    if (!hasOlder || loadingOlder) return;
    if (loadOlderPage()) {
      anchor.current = { height: contentHeight.current, y: offsetY.current, count: messages.length };
    }
  }, [hasOlder, loadingOlder, loadOlderPage, messages.length]);

  // A fetch that ended without new messages (nothing older, or it failed) releases the
  // anchor. When messages did arrive, the next content size change uses it: the new
  // height is only known after layout, so it cannot be judged here.
  useEffect(() => {
    if (!loadingOlder && anchor.current !== null && messages.length === anchor.current.count) {
      anchor.current = null;
    }
  }, [loadingOlder, messages]);

  const onScroll = useCallback(
    (event: NativeSyntheticEvent<NativeScrollEvent>) => {
      const { contentOffset, contentSize, layoutMeasurement } = event.nativeEvent;
      const movedUp = contentOffset.y < offsetY.current - 1;
      offsetY.current = contentOffset.y;
      if (contentOffset.y + layoutMeasurement.height >= contentSize.height - STICK_TO_BOTTOM_THRESHOLD) {
        atBottom.current = true;
      } else if (movedUp) {
        // Only the reader scrolls up. (Reading `contentSize` alone would be wrong: the
        // event of our own scrollToEnd can arrive after more messages made the content
        // taller, and would unstick the view.)
        atBottom.current = false;
      }
      if (movedUp && contentOffset.y <= LOAD_OLDER_THRESHOLD) loadOlder();
    },
    [loadOlder],
  );

  const onContentSizeChange = useCallback(
    (_width: number, height: number) => {
      const previous = anchor.current;
      contentHeight.current = height;
      if (previous !== null && height > previous.height) {
        anchor.current = null;
        ref.current?.scrollTo({ y: previous.y + (height - previous.height), animated: false });
      } else if (atBottom.current) {
        ref.current?.scrollToEnd({ animated: false });
      }
    },
    [],
  );

  const onLayout = useCallback(() => {
    if (atBottom.current) ref.current?.scrollToEnd({ animated: false });
  }, []);

  const stickToBottom = useCallback(() => {
    atBottom.current = true;
  }, []);

  return { ref, onScroll, onContentSizeChange, onLayout, loadOlder, stickToBottom };
}

const styles = StyleSheet.create({
  screen: { flex: 1 },
  header: {
    flexDirection: "row",
    alignItems: "center",
    gap: 12,
    paddingHorizontal: 16,
    paddingVertical: 10,
    borderBottomWidth: 1,
    borderBottomColor: colors.border,
    backgroundColor: colors.surface,
  },
  headerText: { flex: 1, gap: 4 },
  title: { fontSize: 18, fontWeight: "700", color: colors.text },
  presenceList: { flexDirection: "row", flexWrap: "wrap", gap: 12 },
  presence: { flexDirection: "row", alignItems: "center", gap: 5 },
  dot: { width: 8, height: 8, borderRadius: 4 },
  dotOnline: { backgroundColor: colors.online },
  dotOffline: { backgroundColor: colors.offline },
  presenceText: { fontSize: 13, color: colors.muted },
  list: { flex: 1 },
  listContent: { padding: 16, flexGrow: 1, justifyContent: "flex-end" },
  olderSlot: { height: 40, alignItems: "center", justifyContent: "center" },
  beginning: { color: colors.muted, fontSize: 12 },
  olderText: { color: colors.primary, fontWeight: "600" },
  empty: { color: colors.muted, textAlign: "center", marginVertical: 24 },
  typingSlot: { minHeight: 22, paddingHorizontal: 16, justifyContent: "center" },
  typing: { color: colors.muted, fontStyle: "italic", fontSize: 13 },
  sendError: { paddingHorizontal: 16, paddingBottom: 4 },
  composer: {
    flexDirection: "row",
    gap: 8,
    padding: 12,
    borderTopWidth: 1,
    borderTopColor: colors.border,
    backgroundColor: colors.surface,
  },
  input: { flex: 1 },
  count: { fontSize: 12, color: colors.muted, textAlign: "right", paddingHorizontal: 16, paddingBottom: 8, backgroundColor: colors.surface },
  countOver: { color: colors.danger, fontWeight: "600" },
});
