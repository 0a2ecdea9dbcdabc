/** "alice, bob; carol" → ["alice", "bob", "carol"], without repeats. */
export function parseUsernames(input: string): string[] {
  const names = input
    .split(/[\s,;]+/)
    .map((name) => name.trim().replace(/^@/, ""))
    .filter((name) => name !== "");
  return [...new Set(names)];
}
