/**
 * A tiny synchronous key-value store: `localStorage` on the web (so a reload keeps the
 * session), memory elsewhere (native builds; a private window that refuses storage).
 */
const memory = new Map<string, string>();

function local(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    // Some browsers throw on the mere access when storage is disabled.
    return null;
  }
}

export function readItem(key: string): string | null {
  try {
    return local()?.getItem(key) ?? memory.get(key) ?? null;
  } catch {
    return memory.get(key) ?? null;
  }
}

export function writeItem(key: string, value: string | null): void {
  if (value === null) {
    memory.delete(key);
  } else {
    memory.set(key, value);
  }
  try {
    const store = local();
    if (value === null) {
      store?.removeItem(key);
    } else {
      store?.setItem(key, value);
    }
  } catch {
    // Quota or disabled storage: memory still has it for this page's life.
  }
}
