// Reactions of a message as the UI holds them: pure helpers for reaction
// delta frames, optimistic toggles and update frames (which carry no
// `me`, since one frame goes to every member).
import type { Message, Reaction, ReactionFrame } from '../api/types';
import type { MessagesState } from './messages';

/** SAMPLE is how many users the node names per reaction (node.ReactionSample). */
export const SAMPLE = 3;

/** withReaction returns reactions after user shows (on) or stops showing emoji, which count users show. */
export function withReaction(
  list: Reaction[] | undefined,
  emoji: string,
  user: string,
  on: boolean,
  count: number,
  me: string | undefined,
): Reaction[] {
  const out = (list ?? []).slice();
  const i = out.findIndex((r) => r.emoji === emoji);
  const prev: Reaction = i >= 0 ? out[i] : { emoji, count: 0, users: [] };
  const others = prev.users.filter((u) => u !== user);
  const next: Reaction = {
    emoji,
    count,
    users: on ? [user, ...others].slice(0, SAMPLE) : others,
    me: user === me ? on : prev.me,
  };
  if (!next.me) delete next.me;
  if (count <= 0) {
    if (i >= 0) out.splice(i, 1);
  } else if (i >= 0) {
    out[i] = next;
  } else {
    out.push(next);
  }
  return out;
}

/** applyReactionFrame applies a reaction delta to the message it names, if held. */
export function applyReactionFrame(s: MessagesState, f: ReactionFrame, me: string | undefined): MessagesState {
  const t = s.rooms[f.room];
  const m = t?.byId[f.message];
  if (!t || !m) return s;
  const reactions = withReaction(m.reactions, f.emoji, f.user, f.on, f.count, me);
  return { rooms: { ...s.rooms, [f.room]: { ...t, byId: { ...t.byId, [f.message]: { ...m, reactions } } } } };
}

/** keepMine carries my `me` flags from prev into an updated message whose reactions lack them. */
export function keepMine(prev: Message | undefined, next: Message): Message {
  if (!prev?.reactions?.length || !next.reactions?.length || next.reactions.some((r) => r.me !== undefined)) return next;
  const mine = new Set(prev.reactions.filter((r) => r.me).map((r) => r.emoji));
  if (mine.size === 0) return next;
  return { ...next, reactions: next.reactions.map((r) => (mine.has(r.emoji) ? { ...r, me: true } : r)) };
}

/** toggled is a message after my own click on emoji, shown before the node confirms. */
export function toggled(m: Message, emoji: string, me: string): { message: Message; on: boolean } {
  const r = m.reactions?.find((x) => x.emoji === emoji);
  const on = !r?.me;
  const count = (r?.count ?? 0) + (on ? 1 : -1);
  return { message: { ...m, reactions: withReaction(m.reactions, emoji, me, on, count, me) }, on };
}
