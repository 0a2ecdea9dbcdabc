import type { MessageView } from "chat-client";
import { memo } from "react";
import { Pressable, StyleSheet, Text, View } from "react-native";

import { displayName } from "../names";
import { colors } from "../theme";

const STATUS_LABELS: Record<MessageView["status"], string> = {
  sending: "Sending…",
  sent: "Sent",
  read: "Read",
  failed: "Failed to send. Tap to retry.",
};

interface MessageItemProps {
  readonly message: MessageView;
  readonly mine: boolean;
  /** Group conversations name the sender of others' messages. */
  readonly showSender: boolean;
  readonly onRetry: (clientMessageId: string) => void;
}

/**
 * One message. Its text is a React text child, so it is always shown as text (React
 * escapes it); nothing here ever sets HTML. `data-status` carries the status for tests.
 */
export const MessageItem = memo(function MessageItem({ message, mine, showSender, onRetry }: MessageItemProps) {
  const { status, clientMessageId } = message;
  const failed = status === "failed" && clientMessageId !== null;
  const ownLook = mine && !failed;
  const dataSet = {
    status,
    messageId: message.id ?? undefined,
    clientMessageId: clientMessageId ?? undefined,
  };
  const body = (
    <>
      {showSender && !mine && message.senderId !== null && (
        <Text style={styles.sender}>{displayName(message.senderId)}</Text>
      )}
      <Text testID="message-text" selectable style={[styles.text, ownLook && styles.ownText]}>
        {message.text}
      </Text>
      <Text
        testID="message-status"
        style={[styles.meta, ownLook && styles.ownMeta, failed && styles.failedMeta]}
      >
        {[formatTime(message.createdAt), mine || failed ? STATUS_LABELS[status] : null]
          .filter((part) => part !== null && part !== "")
          .join(" · ")}
      </Text>
    </>
  );
  return (
    <View style={[styles.row, mine ? styles.rowMine : styles.rowOther]}>
      {failed ? (
        <Pressable
          testID="message-item"
          dataSet={dataSet}
          role="button"
          aria-label="Failed to send. Tap to retry."
          onPress={() => onRetry(clientMessageId)}
          style={[styles.bubble, styles.failed]}
        >
          {body}
        </Pressable>
      ) : (
        <View
          testID="message-item"
          dataSet={dataSet}
          style={[styles.bubble, mine ? styles.own : styles.other, status === "sending" && styles.sending]}
        >
          {body}
        </View>
      )}
    </View>
  );
});

function formatTime(createdAt: string | null): string {
  if (createdAt === null) return "";
  const date = new Date(createdAt);
  if (Number.isNaN(date.getTime())) return "";
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

const styles = StyleSheet.create({
  row: { flexDirection: "row", marginVertical: 3 },
  rowMine: { justifyContent: "flex-end" },
  rowOther: { justifyContent: "flex-start" },
  bubble: { maxWidth: "80%", borderRadius: 14, paddingHorizontal: 12, paddingVertical: 8 },
  own: { backgroundColor: colors.own },
  other: { backgroundColor: colors.other },
  sending: { opacity: 0.7 },
  failed: { backgroundColor: colors.dangerBackground, borderWidth: 1, borderColor: colors.danger },
  sender: { fontSize: 12, fontWeight: "600", color: colors.muted, marginBottom: 2 },
  text: { fontSize: 16, color: colors.text },
  ownText: { color: colors.ownText },
  meta: { fontSize: 11, color: colors.muted, marginTop: 4, alignSelf: "flex-end" },
  ownMeta: { color: "#dbe6ff" },
  failedMeta: { color: colors.danger, fontWeight: "600" },
});
