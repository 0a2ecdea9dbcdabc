import { Pressable, Text } from "react-native";

import { common } from "../theme";

interface ButtonProps {
  readonly title: string;
  readonly onPress: () => void;
  readonly testID?: string;
  readonly disabled?: boolean;
  readonly variant?: "primary" | "secondary";
}

/** A Pressable with the button role (react-native-web gives a Pressable none by default). */
export function Button({ title, onPress, testID, disabled = false, variant = "primary" }: ButtonProps) {
  const secondary = variant === "secondary";
  return (
    <Pressable
      role="button"
      {...(testID === undefined ? {} : { testID })}
      aria-disabled={disabled}
      disabled={disabled}
      onPress={onPress}
      style={({ pressed }) => [
        common.button,
        secondary && common.buttonSecondary,
        (disabled || pressed) && common.buttonDisabled,
      ]}
    >
      <Text style={[common.buttonText, secondary && common.buttonSecondaryText]}>{title}</Text>
    </Pressable>
  );
}
