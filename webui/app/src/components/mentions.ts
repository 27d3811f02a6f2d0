// Mentions (API.md §9) are explicit: a message lists the users it
// mentions, and may mention the whole room. The composer writes them as
// "@username" in the text and lists their IDs beside it; this module
// finds those tokens again, both to collect a send's mentions and to
// highlight them in a message that lists them.

/** the words that mention the whole room. */
export const ROOM_WORDS = ['room', 'everyone'];

/** A token "@name" at a word start; names are usernames (a-z 0-9 . _ -). */
const TOKEN = /(^|[^\w@.-])@([a-z0-9._-]*[a-z0-9_-])/gi;

/** usernameOf is the username part of a user ID ("ann@12D3..." → "ann"). */
export function usernameOf(id: string): string {
  const at = id.indexOf('@');
  return (at > 0 ? id.slice(0, at) : id).toLowerCase();
}

export interface Member {
  id: string;
  name: string;
}

export interface Suggestion {
  /** a user ID, or '@room' for the whole room. */
  id: string;
  /** what the text gets after "@". */
  insert: string;
  label: string;
  detail: string;
}

/** MENTION_PARTIAL finds an "@partial" right before the caret, at a word start. */
export const MENTION_PARTIAL = /(?:^|[\s(])@([a-z0-9._-]{0,32})$/i;

/**
 * suggestMembers lists the members whose username or display name starts
 * with query (then those that contain it), without me, at most limit,
 * with "@room" when the query starts it.
 */
export function suggestMembers(query: string, members: Member[], me: string | undefined, limit = 8): Suggestion[] {
  const q = query.toLowerCase();
  const scored: { s: Suggestion; rank: number }[] = [];
  for (const m of members) {
    if (m.id === me) continue;
    const user = usernameOf(m.id);
    const name = m.name.toLowerCase();
    const words = name.split(/\s+/);
    let rank = -1;
    if (user.startsWith(q) || name.startsWith(q)) rank = 0;
    else if (words.some((w) => w.startsWith(q))) rank = 1;
    else if (q && (user.includes(q) || name.includes(q))) rank = 2;
    if (rank < 0) continue;
    scored.push({ s: { id: m.id, insert: user, label: m.name, detail: m.id }, rank });
  }
  scored.sort((a, b) => a.rank - b.rank || a.s.label.localeCompare(b.s.label) || a.s.id.localeCompare(b.s.id));
  const out = scored.slice(0, limit).map((x) => x.s);
  const room = ROOM_WORDS.find((w) => w.startsWith(q));
  if (room) out.push({ id: '@room', insert: room, label: `@${room}`, detail: 'Notify everyone in this room' });
  return out;
}

/**
 * collectMentions finds the mentions a body makes: "@room" or "@everyone"
 * mentions the room; "@name" mentions the user picked for it in the
 * composer (chosen), else the one member with that username (none when
 * two members on different nodes share it).
 */
export function collectMentions(
  body: string,
  chosen: ReadonlyMap<string, string>,
  members: Member[],
  me: string | undefined,
): { mentions: string[]; mentionsRoom: boolean } {
  const mentions: string[] = [];
  let mentionsRoom = false;
  for (const m of body.matchAll(TOKEN)) {
    const name = m[2].toLowerCase();
    if (ROOM_WORDS.includes(name)) {
      mentionsRoom = true;
      continue;
    }
    let id = chosen.get(name);
    if (!id) {
      const same = members.filter((x) => usernameOf(x.id) === name);
      if (same.length === 1) id = same[0].id;
    }
    if (id && id !== me && !mentions.includes(id)) mentions.push(id);
  }
  return { mentions: mentions.slice(0, 50), mentionsRoom };
}

export type MentionPart = { kind: 'text'; text: string } | { kind: 'mention'; text: string; me: boolean };

/**
 * splitMentions cuts text into plain parts and the "@name" tokens that
 * name a user the message mentions (or the room, when it mentions the
 * room). Only listed mentions are highlighted: "@ann" in a message that
 * does not list ann is just text.
 */
export function splitMentions(
  text: string,
  m: { mentions?: string[]; mentionsRoom?: boolean },
  me: string | undefined,
): MentionPart[] {
  if (!m.mentions?.length && !m.mentionsRoom) return [{ kind: 'text', text }];
  const names = new Map<string, boolean>();
  for (const id of m.mentions ?? []) names.set(usernameOf(id), names.get(usernameOf(id)) || id === me);
  const parts: MentionPart[] = [];
  let last = 0;
  for (const x of text.matchAll(TOKEN)) {
    const name = x[2].toLowerCase();
    const room = ROOM_WORDS.includes(name) && !!m.mentionsRoom;
    if (!room && !names.has(name)) continue;
    const start = (x.index ?? 0) + x[1].length;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'mention', text: `@${x[2]}`, me: room || !!names.get(name) });
    last = start + 1 + x[2].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}
