/**
 * The user's conversations, and a form to start one by typing usernames: one other
 * person and no title is a direct conversation (the same one every time), anything else
 * a group. Conversations others start with this user appear by themselves.
 */
import type { Conversation } from "chat-client";
import { useState } from "react";
import { Pressable, ScrollView, StyleSheet, Text, TextInput, View } from "react-native";

import { describeError } from "../api";
import { Button } from "../components/Button";
import { conversationTitle, parseUsernames } from "../conversations";
import { colors, common } from "../theme";

interface ConversationListScreenProps {
  readonly myId: number;
  readonly conversations: readonly Conversation[];
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
          <Pressable
            key={conversation.id}
            testID={`conversation-item-${conversation.id}`}
            role="button"
            onPress={() => onOpen(conversation.id)}
            style={({ pressed }) => [styles.item, pressed && styles.itemPressed]}
          >
            <Text style={styles.itemTitle} numberOfLines={1}>
              {conversationTitle(conversation, myId)}
            </Text>
            <Text style={styles.itemMeta}>
              {conversation.kind === "group" ? `Group · ${conversation.participantIds.length} people` : "Direct"}
            </Text>
          </Pressable>
        ))}
      </ScrollView>
    </View>
  );
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
  itemTitle: { fontSize: 16, fontWeight: "600", color: colors.text },
  itemMeta: { fontSize: 13, color: colors.muted, marginTop: 2 },
});
