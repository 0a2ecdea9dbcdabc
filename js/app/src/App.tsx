/**
 * The app: the sign-in screen, or everything after it (SignedIn). The session persists
 * (localStorage on the web), so a reload stays signed in.
 */
import { useCallback, useState } from "react";
import { StyleSheet, View } from "react-native";

import { ErrorBoundary } from "./components/ErrorBoundary";
import { rememberUsers } from "./names";
import { loadSession, saveSession } from "./session";
import type { Session } from "./session";
import { SignInScreen } from "./screens/SignInScreen";
import { SignedIn } from "./SignedIn";
import { colors } from "./theme";

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback((next: Session) => {
    saveSession(next);
    rememberUsers([next.user]);
    setNotice(null);
    setSession(next);
  }, []);

  const signOut = useCallback((why: string | null) => {
    saveSession(null);
    setNotice(why);
    setSession(null);
  }, []);

  return (
    <View style={styles.root}>
      {session === null ? (
        <SignInScreen notice={notice} onSignedIn={signIn} />
      ) : (
        <ErrorBoundary key={session.token} onReset={() => signOut(null)}>
          <SignedIn session={session} onSignOut={signOut} />
        </ErrorBoundary>
      )}
    </View>
  );
}

const styles = StyleSheet.create({
  root: { flex: 1, backgroundColor: colors.background },
});
