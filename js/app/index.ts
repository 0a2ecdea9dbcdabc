import { registerRootComponent } from "expo";

import { App } from "./src/App";
import { installWebStyles } from "./src/webStyles";

installWebStyles();
// Calls AppRegistry.registerComponent("main", () => App) and, on web, mounts it on #root.
registerRootComponent(App);
