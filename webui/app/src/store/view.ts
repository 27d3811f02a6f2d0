// The view slice: what the open room's timeline should do when it shows,
// decided by the loads in api/app.ts: where the unread messages start (the
// "New messages" line, fixed while the room stays open), which message to
// bring into view and flash (a clicked reply quote), and which message is
// being edited.
export interface ViewState {
  room: string | null;
  /** the landing is decided: the list may show (it reads unreadFrom once). */
  ready: boolean;
  /** the first unread message when the room was opened; null when none. */
  unreadFrom: string | null;
  /** a message to scroll to and highlight; seq changes on every request. */
  focus: { id: string; seq: number; highlight: boolean } | null;
  /** the message whose edit box is open. */
  editing: string | null;
}

export const initialView: ViewState = { room: null, ready: false, unreadFrom: null, focus: null, editing: null };

/** enter starts showing a room: nothing decided yet. */
export function enter(s: ViewState, room: string): ViewState {
  if (s.room === room) return s;
  return { room, ready: false, unreadFrom: null, focus: null, editing: null };
}

/** land records where the timeline of room starts; it is ignored once another room is open. */
export function land(s: ViewState, room: string, unreadFrom: string | null): ViewState {
  if (s.room !== room) return s;
  return { ...s, ready: true, unreadFrom };
}

export function focusMessage(s: ViewState, room: string, id: string, highlight: boolean): ViewState {
  if (s.room !== room) return s;
  return { ...s, focus: { id, seq: (s.focus?.seq ?? 0) + 1, highlight } };
}

export function setEditing(s: ViewState, id: string | null): ViewState {
  return s.editing === id ? s : { ...s, editing: id };
}

/**
 * firstUnread is the first message after the read marker upTo that someone
 * else sent, in a room's main timeline (ids oldest first). It is null when
 * the marker is not among the loaded messages (the caller loads more or
 * gives up) or nothing after it is unread.
 */
export function firstUnread(
  ids: string[],
  byId: Record<string, { sender: string; status?: string; thread?: string }>,
  upTo: string | undefined,
  me: string | undefined,
): string | null {
  if (!upTo) return null;
  const at = ids.indexOf(upTo);
  if (at < 0) return null;
  for (let i = at + 1; i < ids.length; i++) {
    const m = byId[ids[i]];
    if (m && !m.status && m.sender !== me) return ids[i];
  }
  return null;
}
