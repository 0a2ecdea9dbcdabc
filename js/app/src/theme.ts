import { StyleSheet } from "react-native";

export const colors = {
  background: "#f4f5f7",
  surface: "#ffffff",
  border: "#d9dce1",
  text: "#1c1e21",
  muted: "#65676b",
  primary: "#2563eb",
  primaryText: "#ffffff",
  own: "#2563eb",
  ownText: "#ffffff",
  other: "#e4e6eb",
  danger: "#c62828",
  dangerBackground: "#fdecea",
  warningBackground: "#fff4e5",
  warning: "#8a4b00",
  online: "#2e7d32",
  offline: "#9e9e9e",
} as const;

export const common = StyleSheet.create({
  input: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 8,
    paddingHorizontal: 12,
    paddingVertical: 10,
    fontSize: 16,
    backgroundColor: colors.surface,
    color: colors.text,
  },
  button: {
    backgroundColor: colors.primary,
    borderWidth: 1,
    borderColor: colors.primary,
    borderRadius: 8,
    paddingHorizontal: 16,
    paddingVertical: 10,
    alignItems: "center",
    justifyContent: "center",
  },
  buttonSecondary: {
    backgroundColor: colors.surface,
  },
  buttonDisabled: {
    opacity: 0.5,
  },
  buttonText: {
    color: colors.primaryText,
    fontSize: 16,
    fontWeight: "600",
  },
  buttonSecondaryText: {
    color: colors.primary,
  },
  error: {
    color: colors.danger,
    fontSize: 14,
  },
});
