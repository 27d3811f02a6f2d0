// The rooms slice: the user's rooms with last message and unread count, and
// which room is open.
import type { MemberFrame, Message, Room } from '../api/types';

export interface RoomsState {
  byId: Record<string, Room>;
  /** the room on screen, whose new messages do not count as unread. */
  active: string | null;
  /** rooms fetched at least once. */
  loaded: boolean;
  /**
   * seq counts the changes frames made to the list (a room added, changed
   * or removed); touched is, per room, the seq of its latest one. A fetch
   * of the whole list answers for the moment it was sent: setRooms keeps
   * what frames did to a room after that (a DM or an invite whose frame
   * overtook the fetch's answer would otherwise vanish until a reload).
   */
  seq: number;
  touched: Record<string, number>;
}

export const initialRooms: RoomsState = { byId: {}, active: null, loaded: false, seq: 0, touched: {} };

/** touch records that a frame changed room id (see RoomsState.seq). */
function touch(s: RoomsState, id: string): Pick<RoomsState, 'seq' | 'touched'> {
  const seq = s.seq + 1;
  return { seq, touched: { ...s.touched, [id]: seq } };
}

/**
 * setRooms replaces the list with a fetched one. since is s.seq when the
 * fetch was sent: rooms that frames changed after it keep their state
 * here (present or removed). Without since, the fetched list wins.
 */
export function setRooms(s: RoomsState, rooms: Room[], since?: number): RoomsState {
  const byId: Record<string, Room> = {};
  const newer = (id: string) => since !== undefined && (s.touched[id] ?? 0) > since;
  for (const r of rooms) {
    if (newer(r.id)) continue;
    byId[r.id] = s.active === r.id ? { ...r, unread: 0, mentions: 0 } : r;
  }
  if (since !== undefined) {
    for (const [id, at] of Object.entries(s.touched)) {
      if (at > since && s.byId[id]) byId[id] = s.byId[id];
    }
  }
  // Changes after since still matter to a fetch sent later than this one.
  const touched = since === undefined ? {} : Object.fromEntries(Object.entries(s.touched).filter(([, at]) => at > since));
  return { ...s, byId, loaded: true, touched };
}

export function upsertRoom(s: RoomsState, r: Room): RoomsState {
  const prev = s.byId[r.id];
  const next: Room = { ...prev, ...r };
  // A large room's frame lists only some members (the recipient always):
  // keep the ones we know of; member frames remove those who leave.
  if (prev && (r.memberCount ?? 0) > r.members.length) {
    next.members = [...new Set([...r.members, ...prev.members])];
  }
  // A room frame without lastMessage must not hide the one we know.
  if (!r.lastMessage && prev?.lastMessage) next.lastMessage = prev.lastMessage;
  if (r.unread === undefined && prev) next.unread = prev.unread;
  if (r.mentions === undefined && prev) next.mentions = prev.mentions;
  if (s.active === r.id) next.unread = next.mentions = 0;
  return { ...s, ...touch(s, r.id), byId: { ...s.byId, [r.id]: next } };
}

/** applyMember applies a member frame: the count, and the lists of members and invitees we hold. */
export function applyMember(s: RoomsState, f: MemberFrame): RoomsState {
  const r = s.byId[f.room];
  if (!r) return s;
  let members = r.members.filter((m) => m !== f.user);
  let invited = (r.invited ?? []).filter((m) => m !== f.user);
  if (f.membership === 'join') members = [...members, f.user];
  if (f.membership === 'invite') invited = [...invited, f.user];
  return { ...s, ...touch(s, f.room), byId: { ...s.byId, [f.room]: { ...r, members, invited, memberCount: f.memberCount } } };
}

/** memberCount is how many members a room has (older nodes send no count). */
export function memberCount(r: Room): number {
  return r.memberCount ?? r.members.length;
}

export function removeRoom(s: RoomsState, id: string): RoomsState {
  if (!s.byId[id]) return { ...s, ...touch(s, id) };
  const byId = { ...s.byId };
  delete byId[id];
  return { ...s, ...touch(s, id), byId, active: s.active === id ? null : s.active };
}

/**
 * noteMessage records a newly seen message: the room's preview, and one more
 * unread when it is someone else's message in a room that is not open (one
 * more mention too when it mentions me). Thread replies update neither.
 * The node's counts replace these on every fetch of the list.
 */
export function noteMessage(s: RoomsState, m: Message, me: string | undefined): RoomsState {
  const r = s.byId[m.room];
  if (!r || m.thread) return s;
  const newer = !r.lastMessage || r.lastMessage.ts <= m.ts || r.lastMessage.id === m.id;
  const counts = m.sender !== me && s.active !== m.room;
  const unread = counts ? (r.unread ?? 0) + 1 : r.unread;
  const mentions = counts && mentionsMe(m, me) ? (r.mentions ?? 0) + 1 : r.mentions;
  return {
    ...s,
    ...touch(s, m.room),
    byId: { ...s.byId, [m.room]: { ...r, lastMessage: newer ? m : r.lastMessage, unread, mentions } },
  };
}

/** mentionsMe reports whether m mentions me, by name or the whole room (never my own). */
export function mentionsMe(m: Pick<Message, 'sender' | 'mentions' | 'mentionsRoom' | 'deleted'>, me: string | undefined): boolean {
  if (!me || m.sender === me || m.deleted) return false;
  return !!m.mentionsRoom || !!m.mentions?.includes(me);
}

/** noteUpdate refreshes the preview when the last message was edited or deleted. */
export function noteUpdate(s: RoomsState, m: Message): RoomsState {
  const r = s.byId[m.room];
  if (!r || r.lastMessage?.id !== m.id) return s;
  return { ...s, ...touch(s, m.room), byId: { ...s.byId, [m.room]: { ...r, lastMessage: m } } };
}

export function setActive(s: RoomsState, id: string | null): RoomsState {
  let byId = s.byId;
  if (id && (byId[id]?.unread || byId[id]?.mentions)) byId = { ...byId, [id]: { ...byId[id], unread: 0, mentions: 0 } };
  return { ...s, active: id, byId };
}

/** sortedRooms orders rooms by latest activity, newest first. */
export function sortedRooms(byId: Record<string, Room>): Room[] {
  const activity = (r: Room) => r.lastMessage?.ts ?? r.createdAt ?? 0;
  return Object.values(byId).sort((a, b) => activity(b) - activity(a) || a.id.localeCompare(b.id));
}
