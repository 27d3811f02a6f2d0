// The notify slice: the user's notification settings as the node keeps
// them (GET /api/v1/notifications), and the rule that says whether a
// message notifies, the same as the node's (node.Notifies) so that a
// hidden tab's desktop notifications follow the settings as Web Push does.
import type { Message, NotifyLevel, NotifySettings, Room } from '../api/types';

export interface NotifyState {
  /** the settings were read from the node since sign-in. */
  loaded: boolean;
  dnd: boolean;
  dndUntil?: number;
  rooms: Record<string, NotifyLevel>;
  defaults: { dm: NotifyLevel; group: NotifyLevel };
}

export const initialNotify: NotifyState = {
  loaded: false,
  dnd: false,
  rooms: {},
  defaults: { dm: 'all', group: 'mentions' },
};

export function setSettings(_s: NotifyState, ns: NotifySettings): NotifyState {
  return {
    loaded: true,
    dnd: ns.dnd,
    dndUntil: ns.dndUntil,
    rooms: { ...(ns.rooms ?? {}) },
    defaults: ns.defaults ?? initialNotify.defaults,
  };
}

/** setRoomLevel records a room's chosen level; 'default' forgets it. */
export function setRoomLevel(s: NotifyState, room: string, level: NotifyLevel | 'default'): NotifyState {
  const rooms = { ...s.rooms };
  if (level === 'default') delete rooms[room];
  else rooms[room] = level;
  return { ...s, rooms };
}

/** levelOf is a room's level: the chosen one, or its kind's default. */
export function levelOf(s: NotifyState, room: Pick<Room, 'id' | 'kind'>): NotifyLevel {
  return s.rooms[room.id] ?? (room.kind === 'dm' ? s.defaults.dm : s.defaults.group);
}

/** silenced reports whether do-not-disturb holds at now (ms). */
export function silenced(s: NotifyState, now: number): boolean {
  return s.dnd && (!s.dndUntil || now < s.dndUntil);
}

/** notifies reports whether message m in room notifies me at now. */
export function notifies(s: NotifyState, me: string, m: Message, room: Pick<Room, 'id' | 'kind'>, now: number): boolean {
  if (m.sender === me || m.deleted || silenced(s, now)) return false;
  switch (levelOf(s, room)) {
    case 'all':
      return true;
    case 'mentions':
      return !!m.mentionsRoom || !!m.mentions?.includes(me);
    default:
      return false;
  }
}
