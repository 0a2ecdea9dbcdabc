/**
 * Sign in and sign up on one screen: a username, a password, and both buttons. Enter in
 * the password field signs in.
 */
import { useState } from "react";
import { StyleSheet, Text, TextInput, View } from "react-native";

import { ApiError, createApi, describeError } from "../api";
import { Button } from "../components/Button";
import { serverUrl } from "../config";
import type { Session } from "../session";
import { colors, common } from "../theme";

interface SignInScreenProps {
  /** Shown above the form: why the user is here again ("Session expired…"). */
  readonly notice: string | null;
  readonly onSignedIn: (session: Session) => void;
}

type Action = "login" | "register";

export function SignInScreen({ notice, onSignedIn }: SignInScreenProps) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(action: Action) {
    if (busy !== null) return;
    const name = username.trim();
    if (name === "" || password === "") {
      setError("Enter a username and a password.");
      return;
    }
    setBusy(action);
    setError(null);
    try {
      const api = createApi({ url: serverUrl() });
      const result = action === "login" ? await api.login(name, password) : await api.register(name, password);
      onSignedIn({ token: result.token, user: result.user });
    } catch (caught) {
      setError(describe(caught, action));
      setBusy(null);
    }
  }

  return (
    <View style={styles.screen}>
      <View style={styles.card}>
        <Text role="heading" style={styles.title}>
          Chat
        </Text>
        {notice !== null && (
          <Text role="alert" testID="session-notice" style={styles.notice}>
            {notice}
          </Text>
        )}
        <TextInput
          testID="username-input"
          aria-label="Username"
          placeholder="Username"
          autoCapitalize="none"
          autoCorrect={false}
          autoComplete="username"
          value={username}
          onChangeText={setUsername}
          onSubmitEditing={() => void submit("login")}
          style={common.input}
        />
        <TextInput
          testID="password-input"
          aria-label="Password"
          placeholder="Password"
          secureTextEntry
          autoComplete="current-password"
          value={password}
          onChangeText={setPassword}
          onSubmitEditing={() => void submit("login")}
          style={common.input}
        />
        {error !== null && (
          <Text role="alert" testID="auth-error" style={common.error}>
            {error}
          </Text>
        )}
        <View style={styles.buttons}>
          <View style={styles.buttonCell}>
            <Button
              testID="login-button"
              title={busy === "login" ? "Signing in…" : "Sign in"}
              disabled={busy !== null}
              onPress={() => void submit("login")}
            />
          </View>
          <View style={styles.buttonCell}>
            <Button
              testID="register-button"
              title={busy === "register" ? "Signing up…" : "Sign up"}
              variant="secondary"
              disabled={busy !== null}
              onPress={() => void submit("register")}
            />
          </View>
        </View>
      </View>
    </View>
  );
}

function describe(error: unknown, action: Action): string {
  const fallback = action === "login" ? "Could not sign in. Try again." : "Could not sign up. Try again.";
  if (error instanceof ApiError && error.status === 401) return "Wrong username or password.";
  if (error instanceof ApiError && error.status === 409) return "That username is taken. Choose another one.";
  return describeError(error, fallback);
}

const styles = StyleSheet.create({
  screen: {
    flex: 1,
    alignItems: "center",
    justifyContent: "center",
    padding: 16,
    backgroundColor: colors.background,
  },
  card: {
    width: "100%",
    maxWidth: 380,
    gap: 12,
    padding: 24,
    borderRadius: 12,
    backgroundColor: colors.surface,
    borderWidth: 1,
    borderColor: colors.border,
  },
  title: {
    fontSize: 28,
    fontWeight: "700",
    color: colors.text,
    marginBottom: 4,
  },
  notice: {
    color: colors.warning,
    backgroundColor: colors.warningBackground,
    padding: 10,
    borderRadius: 8,
  },
  buttons: {
    flexDirection: "row",
    gap: 12,
  },
  buttonCell: {
    flex: 1,
  },
});
