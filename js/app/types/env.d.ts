// Expo inlines `process.env.EXPO_PUBLIC_*` at bundle time; nothing else of `process`
// exists in the app.
declare const process: {
  readonly env: {
    /** The chat server's base URL when the app is not served by it (the Expo dev server). */
    readonly EXPO_PUBLIC_CHAT_SERVER_URL?: string;
  };
};
