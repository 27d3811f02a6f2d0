// The presence slice: users we know (for names and avatars) and whether
// they are online.
import type { Presence, User } from '../api/types';

export interface PresenceEntry {
  presence: Presence;
  lastSeen?: number;
}

export interface PresenceState {
  users: Record<string, User>;
  presence: Record<string, PresenceEntry>;
}

export const initialPresence: PresenceState = { users: {}, presence: {} };

export function addUsers(s: PresenceState, users: User[]): PresenceState {
  if (users.length === 0) return s;
  const u = { ...s.users };
  const p = { ...s.presence };
  for (const user of users) {
    u[user.id] = { ...u[user.id], ...user };
    if (user.presence) p[user.id] = { presence: user.presence, lastSeen: user.lastSeen ?? p[user.id]?.lastSeen };
  }
  return { users: u, presence: p };
}

export function applyPresence(s: PresenceState, user: string, presence: Presence, lastSeen?: number): PresenceState {
  const prev = s.presence[user];
  return {
    ...s,
    presence: { ...s.presence, [user]: { presence, lastSeen: lastSeen ?? prev?.lastSeen } },
  };
}

/** displayName falls back to the username part of a user ID. */
export function displayName(s: PresenceState, id: string): string {
  const u = s.users[id];
  if (u?.displayName) return u.displayName;
  if (u?.username) return u.username;
  const at = id.indexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}
