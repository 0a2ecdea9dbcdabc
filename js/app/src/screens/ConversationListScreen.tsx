/**
 * The user's conversations, newest activity first: each with its name, last message and
 * time, and an unread badge, live. A form starts one by typing usernames: one other
 * person and no title is a direct conversation (the same one every time), anything else
 * a group. Conversations others start with this user appear by themselves.
 */
import { conversationName } from "chat-client";
import type { ConversationListItem } from "chat-client";
import { useState } from "react";
import { Pressable, ScrollView, StyleSheet, Text, TextInput, View } from "react-native";

import { describeError } from "../api";
import { Button } from "../components/Button";
import { parseUsernames } from "../conversations";
import { displayName } from "../names";
import { colors, common } from "../theme";

interface ConversationListScreenProps {
  readonly myId: number;
  readonly conversations: readonly ConversationListItem[];
  readonly loading: boolean;
  readonly error: string | null;
  readonly onOpen: (conversationId: number) => void;
  /** Resolves when created (and opened); rejects with an Error whose message is shown. */
  readonly onCreate: (usernames: readonly string[], title: string) => Promise<void>;
}

export function ConversationListScreen({
  myId,
  conversations,
  loading,
  error,
  onOpen,
  onCreate,
}: ConversationListScreenProps) {
  const [composing, setComposing] = useState(false);
  const [participants, setParticipants] = useState("");
  const [title, setTitle] = useState("");
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<string | null>(null);

  async function create() {
    if (creating) return;
    const usernames = parseUsernames(participants);
    if (usernames.length === 0) {
      setCreateError("Type at least one username.");
      return;
    }
    setCreating(true);
    setCreateError(null);
    try {
      await onCreate(usernames, title.trim());
      setParticipants("");
      setTitle("");
      setComposing(false);
    } catch (caught) {
      setCreateError(describeError(caught, "Could not create the conversation. Try again."));
    } finally {
      setCreating(false);
    }
  }

  return (
    <View style={styles.screen}>
      <View style={styles.toolbar}>
        <Text role="heading" style={styles.heading}>
          Conversations
        </Text>
        <Button
          testID="new-conversation-button"
          title={composing ? "Cancel" : "New conversation"}
          variant={composing ? "secondary" : "primary"}
          onPress={() => {
            setComposing(!composing);
            setCreateError(null);
          }}
        />
      </View>

      {composing && (
        <View style={styles.composer}>
          <TextInput
            testID="participant-input"
            aria-label="Usernames"
            placeholder="Usernames, separated by commas"
            autoCapitalize="none"
            autoCorrect={false}
            autoFocus
            value={participants}
            onChangeText={setParticipants}
            onSubmitEditing={() => void create()}
            style={common.input}
          />
          <TextInput
            testID="title-input"
            aria-label="Group name"
            placeholder="Group name (optional)"
            value={title}
            onChangeText={setTitle}
            onSubmitEditing={() => void create()}
            style={common.input}
          />
          {createError !== null && (
            <Text role="alert" testID="create-conversation-error" style={common.error}>
              {createError}
            </Text>
          )}
          <Button
            testID="create-conversation-button"
            title={creating ? "Creating…" : "Start conversation"}
            disabled={creating}
            onPress={() => void create()}
          />
        </View>
      )}

      {error !== null && (
        <Text role="alert" style={[common.error, styles.padded]}>
          {error}
        </Text>
      )}

      <ScrollView testID="conversation-list" style={styles.list} contentContainerStyle={styles.listContent}>
        {conversations.length === 0 && (
          <Text style={styles.empty}>
            {loading ? "Loading conversations…" : "No conversations yet. Start one with “New conversation”."}
          </Text>
        )}
        {conversations.map((conversation) => (
          <ConversationRow key={conversation.id} conversation={conversation} myId={myId} onOpen={onOpen} />
        ))}
      </ScrollView>
    </View>
  );
}

function ConversationRow({
  conversation,
  myId,
  onOpen,
}: {
  readonly conversation: ConversationListItem;
  readonly myId: number;
  readonly onOpen: (conversationId: number) => void;
}) {
  const { id, lastMessage, unreadCount } = conversation;
  const unread = unreadCount > 0;
  return (
    <Pressable
      testID={`conversation-item-${id}`}
      role="button"
      onPress={() => onOpen(id)}
      style={({ pressed }) => [styles.item, pressed && styles.itemPressed]}
    >
      <View style={styles.itemTop}>
        <Text testID={`conversation-title-${id}`} style={[styles.itemTitle, unread && styles.bold]} numberOfLines={1}>
          {conversationName(conversation, myId)}
        </Text>
        {lastMessage?.createdAt != null && <Text style={styles.itemTime}>{shortTime(lastMessage.createdAt)}</Text>}
      </View>
      <View style={styles.itemBottom}>
        {lastMessage === null ? (
          <Text style={styles.itemMeta}>{describeKind(conversation)}</Text>
        ) : (
          <Text style={[styles.itemMeta, unread && styles.unreadText]} numberOfLines={1}>
            {senderPrefix(lastMessage.senderId, conversation, myId)}
            <Text testID={`last-message-${id}`}>{lastMessage.text}</Text>
          </Text>
        )}
        {unread && (
          <Text testID={`unread-count-${id}`} aria-label={`${unreadCount} unread`} style={styles.badge}>
            {unreadCount > 99 ? "99+" : String(unreadCount)}
          </Text>
        )}
      </View>
    </Pressable>
  );
}

function describeKind(conversation: ConversationListItem): string {
  return conversation.kind === "group" ? `Group · ${conversation.participantIds.length} people` : "No messages yet";
}

/** Who wrote the last message, before its text: "You: " for mine, the sender's name in a group. */
function senderPrefix(senderId: number | null, conversation: ConversationListItem, myId: number): string {
  if (senderId === myId) return "You: ";
  if (conversation.kind !== "group" || senderId === null) return "";
  const sender = conversation.participants.find((p) => p.id === senderId)?.username ?? displayName(senderId);
  return `${sender}: `;
}

/** "14:05" today, else "4 Dec". */
function shortTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const now = new Date();
  const today = at.toDateString() === now.toDateString();
  return today
    ? at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

const styles = StyleSheet.create({
  screen: { flex: 1 },
  toolbar: {
    flexDirection: "row",
    alignItems: "center",
    justifyContent: "space-between",
    padding: 16,
    gap: 12,
  },
  heading: { fontSize: 22, fontWeight: "700", color: colors.text },
  composer: { gap: 10, paddingHorizontal: 16, paddingBottom: 16 },
  padded: { paddingHorizontal: 16 },
  list: { flex: 1 },
  listContent: { paddingHorizontal: 16, paddingBottom: 16, gap: 8 },
  empty: { color: colors.muted, textAlign: "center", marginTop: 32 },
  item: {
    padding: 14,
    borderRadius: 10,
    backgroundColor: colors.surface,
    borderWidth: 1,
    borderColor: colors.border,
  },
  itemPressed: { backgroundColor: colors.other },
  itemTop: { flexDirection: "row", alignItems: "baseline", gap: 8 },
  itemBottom: { flexDirection: "row", alignItems: "center", gap: 8, marginTop: 2 },
  itemTitle: { flex: 1, fontSize: 16, fontWeight: "600", color: colors.text },
  itemTime: { fontSize: 12, color: colors.muted },
  itemMeta: { flex: 1, fontSize: 13, color: colors.muted },
  bold: { fontWeight: "800" },
  unreadText: { color: colors.text },
  badge: {
    minWidth: 22,
    paddingHorizontal: 7,
    paddingVertical: 2,
    borderRadius: 11,
    overflow: "hidden",
    backgroundColor: colors.primary,
    color: colors.surface,
    fontSize: 12,
    fontWeight: "700",
    textAlign: "center",
  },
});
