// The typing slice: who is typing where, each entry expiring on its own
// (the node expires typing after 6 s without a renewal; so do we).
export const TYPING_TTL_MS = 6000;

export interface TypingState {
  /** room → user → time the indicator expires. */
  rooms: Record<string, Record<string, number>>;
}

export const initialTyping: TypingState = { rooms: {} };

export function applyTyping(s: TypingState, room: string, user: string, typing: boolean, now: number): TypingState {
  const cur = s.rooms[room] ?? {};
  if (!typing && !(user in cur)) return s;
  const next = { ...cur };
  if (typing) next[user] = now + TYPING_TTL_MS;
  else delete next[user];
  return { rooms: { ...s.rooms, [room]: next } };
}

/** pruneTyping drops expired entries; it returns s itself when nothing expired. */
export function pruneTyping(s: TypingState, now: number): TypingState {
  let changed = false;
  const rooms: Record<string, Record<string, number>> = {};
  for (const [room, users] of Object.entries(s.rooms)) {
    const keep: Record<string, number> = {};
    for (const [u, exp] of Object.entries(users)) {
      if (exp > now) keep[u] = exp;
      else changed = true;
    }
    rooms[room] = keep;
  }
  return changed ? { rooms } : s;
}

export function typingUsers(s: TypingState, room: string, now: number, me?: string): string[] {
  return Object.entries(s.rooms[room] ?? {})
    .filter(([u, exp]) => exp > now && u !== me)
    .map(([u]) => u)
    .sort();
}
