import { registerRootComponent } from "expo";

import { App } from "./src/App";

// Calls AppRegistry.registerComponent("main", () => App) and, on web, mounts it on #root.
registerRootComponent(App);
