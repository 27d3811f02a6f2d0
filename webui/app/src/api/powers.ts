// What a member may do in a room, read from the room's roles and powers
// table (docs/protocol.md §2.4). The node decides; the UI only hides what
// would be refused.
import type { Power, Role, Room } from './types';

const RANK: Record<Role, number> = { member: 0, moderator: 1, admin: 2, owner: 3 };

/** DEFAULT_POWERS is the table of a room that never changed it. */
export const DEFAULT_POWERS: Record<Power, Role> = {
  post: 'member',
  invite: 'member',
  kick: 'moderator',
  ban: 'moderator',
  delete: 'moderator',
  pin: 'moderator',
  name: 'admin',
  topic: 'admin',
  avatar: 'admin',
  roles: 'admin',
  powers: 'admin',
};

/** rank is a role's level; unknown roles rank as members. */
export function rank(role: Role | undefined): number {
  return role ? (RANK[role] ?? 0) : 0;
}

/** roleOf is a joined member's role in a room. */
export function roleOf(room: Room, user: string | undefined): Role {
  if (!user) return 'member';
  const r = room.roles?.[user];
  if (r) return r;
  // A node that predates roles names no one; its rooms' creators own them.
  return !room.roles && room.createdBy === user ? 'owner' : 'member';
}

/** levelOf is the lowest role that holds a power in a room. */
export function levelOf(room: Room, p: Power): Role {
  if (p === 'post' && room.postingRole) return room.postingRole;
  return room.powers?.[p] ?? DEFAULT_POWERS[p];
}

/** holds reports whether user, a joined member, holds power p in room. */
export function holds(room: Room, user: string | undefined, p: Power): boolean {
  if (!user || !room.members.includes(user)) return false;
  if (room.kind === 'dm') return p === 'post' || p === 'pin';
  return rank(roleOf(room, user)) >= rank(levelOf(room, p));
}

/**
 * moderation lists what actor may do to target in a room: kick, ban and the
 * roles actor may give (never above their own), all only towards a member of
 * lower rank.
 */
export function moderation(room: Room, actor: string | undefined, target: string) {
  const none = { kick: false, ban: false, roles: [] as Role[] };
  if (!actor || actor === target || room.kind === 'dm') return none;
  const mine = rank(roleOf(room, actor));
  const theirs = roleOf(room, target);
  if (rank(theirs) >= mine) return none;
  const roles = holds(room, actor, 'roles')
    ? (['owner', 'admin', 'moderator', 'member'] as Role[]).filter((r) => r !== theirs && rank(r) <= mine)
    : [];
  return { kick: holds(room, actor, 'kick'), ban: holds(room, actor, 'ban'), roles };
}

/** ROLE_LABEL names a role for people. */
export const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', admin: 'Admin', moderator: 'Moderator', member: 'Member' };

/** ROLE_PLURAL names the holders of a role and those above it. */
export const ROLE_PLURAL: Record<Role, string> = {
  owner: 'owners',
  admin: 'admins and owners',
  moderator: 'moderators and above',
  member: 'members',
};
