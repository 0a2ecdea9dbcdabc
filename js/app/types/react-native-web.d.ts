// react-native-web 0.21 turns `dataSet={{ status: "sent" }}` into `data-status="sent"`
// on View, Text and Pressable (createDOMProps); React Native's own types do not know it.
// Native ignores it.
import "react-native";

declare module "react-native" {
  interface ViewProps {
    dataSet?: Readonly<Record<string, string | number | undefined>>;
  }
  interface TextProps {
    dataSet?: Readonly<Record<string, string | number | undefined>>;
  }
}
