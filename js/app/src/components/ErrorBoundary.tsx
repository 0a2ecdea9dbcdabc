import { Component } from "react";
import type { ErrorInfo, ReactNode } from "react";
import { StyleSheet, Text, View } from "react-native";

import { colors } from "../theme";
import { Button } from "./Button";

interface ErrorBoundaryProps {
  readonly children: ReactNode;
  /** Offered as the way out (sign out, which also drops the broken state). */
  readonly onReset: () => void;
}

interface ErrorBoundaryState {
  readonly error: Error | null;
}

/** A render error shows a message and a way out instead of a blank page. */
export class ErrorBoundary extends Component<ErrorBoundaryProps, ErrorBoundaryState> {
  override state: ErrorBoundaryState = { error: null };

  static getDerivedStateFromError(error: unknown): ErrorBoundaryState {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error("chat app: render error", error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (error === null) return this.props.children;
    return (
      <View testID="app-error" role="alert" style={styles.box}>
        <Text style={styles.title}>Something went wrong.</Text>
        <Text style={styles.detail}>{error.message}</Text>
        <Button
          title="Sign out and start again"
          onPress={() => {
            this.setState({ error: null });
            this.props.onReset();
          }}
        />
      </View>
    );
  }
}

const styles = StyleSheet.create({
  box: { flex: 1, alignItems: "center", justifyContent: "center", gap: 12, padding: 24 },
  title: { fontSize: 20, fontWeight: "700", color: colors.text },
  detail: { color: colors.muted, textAlign: "center" },
});
