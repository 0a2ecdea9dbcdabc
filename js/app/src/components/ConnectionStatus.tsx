import type { ConnectionStatus as State } from "chat-client";
import { StyleSheet, Text, View } from "react-native";

import { colors } from "../theme";

const LABELS: Record<State, string> = {
  connected: "Connected",
  connecting: "Connecting…",
  disconnected: "Offline",
  error: "Connection error",
};

const DOTS: Record<State, string> = {
  connected: colors.online,
  connecting: "#f9a825",
  disconnected: colors.offline,
  error: colors.danger,
};

/** The socket's state as a dot and a word; `data-state` carries it for tests. */
export function ConnectionStatus({ state }: { readonly state: State }) {
  return (
    <View testID="connection-status" dataSet={{ state }} aria-live="polite" style={styles.row}>
      <View style={[styles.dot, { backgroundColor: DOTS[state] }]} />
      <Text style={styles.label}>{LABELS[state]}</Text>
    </View>
  );
}

/**
 * "Connection lost. Retrying..." (DESIGN.md 4.2) while a connection that once worked is
 * down. Sends made meanwhile are queued and show as sending.
 */
export function ConnectionBanner() {
  return (
    <View testID="connection-banner" role="alert" style={styles.banner}>
      <Text style={styles.bannerText}>Connection lost. Retrying...</Text>
    </View>
  );
}

const styles = StyleSheet.create({
  row: { flexDirection: "row", alignItems: "center", gap: 6 },
  dot: { width: 10, height: 10, borderRadius: 5 },
  label: { fontSize: 13, color: colors.muted },
  banner: {
    backgroundColor: colors.warningBackground,
    borderBottomWidth: 1,
    borderBottomColor: "#f0c27a",
    paddingVertical: 8,
    paddingHorizontal: 16,
  },
  bannerText: { color: colors.warning, fontWeight: "600", textAlign: "center" },
});
