/**
 * The conversation list's lines, from two sources: who a conversation is with (names,
 * title, kind) from `GET /api/conversations`, which the engine does not keep (every field
 * would cost wasm bytes), and its live numbers (unread count, last message, watermarks,
 * activity) from the engine's snapshot, which moves with every event. Pure functions and
 * a cache: a line keeps its identity while neither source changed for it, and the list
 * keeps its identity while no line changed, so `useConversations` re-renders only then.
 */
import type {
  Conversation,
  ConversationListItem,
  ConversationSnapshot,
  ConversationSummary,
  Message,
  MessageView,
  Participant,
} from "./types.js";

/** What the list knows of a conversation's people: a summary, or only a `conversation:new`. */
export type DirectoryEntry = Conversation | ConversationSummary;

const NO_PARTICIPANTS: readonly Participant[] = Object.freeze([]);
const NO_SEQS: Readonly<Record<number, number>> = Object.freeze({});

function isSummary(entry: DirectoryEntry): entry is ConversationSummary {
  return "participants" in entry;
}

/**
 * The name to show (SPEC.md section 9): the other person's username for a direct
 * conversation; else the title; else the other participants' usernames.
 */
export function conversationName(
  conversation: Pick<ConversationListItem, "kind" | "title" | "participants" | "participantIds">,
  myUserId: number,
): string {
  const nameOf = (id: number): string =>
    conversation.participants.find((p) => p.id === id)?.username ?? `User #${id}`;
  const others = conversation.participantIds.filter((id) => id !== myUserId);
  if (conversation.kind === "direct" && others.length === 1) return nameOf(others[0]!);
  if (conversation.title !== null && conversation.title.trim() !== "") return conversation.title;
  if (others.length === 0) return nameOf(myUserId);
  return others.map(nameOf).join(", ");
}

function storedView(message: Message): MessageView {
  return Object.freeze({
    id: message.id,
    seq: message.seq,
    senderId: message.senderId,
    text: message.text,
    clientMessageId: message.clientMessageId,
    createdAt: message.createdAt,
    status: "sent",
  });
}

function line(entry: DirectoryEntry, live: ConversationSnapshot | undefined): ConversationListItem {
  const summary = isSummary(entry) ? entry : undefined;
  const restReadSeqs: Record<number, number> = {};
  for (const [user, seq] of Object.entries(summary?.readSeqs ?? {})) restReadSeqs[Number(user)] = seq;
  return Object.freeze({
    id: entry.id,
    kind: entry.kind,
    title: entry.title,
    participantIds: entry.participantIds,
    participants: summary?.participants ?? NO_PARTICIPANTS,
    // The engine's numbers when it knows the conversation: they move with every event.
    lastMessage: live ? live.lastMessage : summary?.lastMessage ? storedView(summary.lastMessage) : null,
    unreadCount: live ? live.unreadCount : (summary?.unreadCount ?? 0),
    lastReadSeq: live ? live.lastReadSeq : (summary?.lastReadSeq ?? 0),
    lastSeq: live ? live.lastSeq : entry.lastSeq,
    readSeqs: live ? live.readSeqs : summary ? Object.freeze(restReadSeqs) : NO_SEQS,
    activityAt: live?.activityAt ?? summary?.activityAt ?? null,
  });
}

/** Newest activity first (RFC 3339 UTC strings compare as times), then the highest id. */
function byActivity(a: ConversationListItem, b: ConversationListItem): number {
  const at = (b.activityAt ?? "").localeCompare(a.activityAt ?? "");
  return at !== 0 ? at : b.id - a.id;
}

interface CachedLine {
  readonly entry: DirectoryEntry;
  readonly live: ConversationSnapshot | undefined;
  readonly item: ConversationListItem;
}

/** Builds the list, reusing lines and the list itself while unchanged. */
export class ConversationListCache {
  private lines = new Map<number, CachedLine>();
  private list: readonly ConversationListItem[] = Object.freeze([]);

  build(
    directory: ReadonlyMap<number, DirectoryEntry>,
    live: Readonly<Record<number, ConversationSnapshot>>,
  ): readonly ConversationListItem[] {
    const lines = new Map<number, CachedLine>();
    for (const [id, entry] of directory) {
      const snapshot = live[id];
      const cached = this.lines.get(id);
      const item =
        cached && cached.entry === entry && cached.live === snapshot ? cached.item : line(entry, snapshot);
      lines.set(id, { entry, live: snapshot, item });
    }
    this.lines = lines;
    const items = [...lines.values()].map((l) => l.item).sort(byActivity);
    const same = items.length === this.list.length && items.every((item, i) => item === this.list[i]);
    if (!same) this.list = Object.freeze(items);
    return this.list;
  }
}

/** Every page of the list (500 a page), newest activity first. */
export async function fetchWholeList(
  listConversations: (query?: { limit?: number; before?: string; beforeId?: number }) => Promise<ConversationSummary[]>,
): Promise<ConversationSummary[]> {
  const limit = 500;
  const all: ConversationSummary[] = [];
  for (;;) {
    const last = all[all.length - 1];
    const page = await listConversations(last ? { limit, before: last.activityAt, beforeId: last.id } : { limit });
    all.push(...page);
    if (page.length < limit) return all;
  }
}
