import { describe, expect, it } from 'vitest';
import { holds, levelOf, moderation, roleOf } from './powers';
import type { Room } from './types';

const room = (over: Partial<Room> = {}): Room => ({
  id: 'r',
  name: 'town',
  kind: 'group',
  visibility: 'public',
  members: ['own@N', 'adm@N', 'mod@N', 'mem@N', 'oth@N'],
  createdBy: 'own@N',
  createdAt: 1,
  roles: { 'own@N': 'owner', 'adm@N': 'admin', 'mod@N': 'moderator' },
  postingRole: 'member',
  pinned: [],
  ...over,
});

describe('powers', () => {
  it('reads roles and the default table', () => {
    const r = room();
    expect(roleOf(r, 'mem@N')).toBe('member');
    expect(holds(r, 'mod@N', 'kick')).toBe(true);
    expect(holds(r, 'mem@N', 'kick')).toBe(false);
    expect(holds(r, 'mod@N', 'name')).toBe(false);
    expect(holds(r, 'adm@N', 'name')).toBe(true);
    expect(holds(r, 'gone@N', 'post')).toBe(false);
  });

  it('follows a changed table and postingRole', () => {
    const r = room({ postingRole: 'moderator', powers: { post: 'moderator', kick: 'admin' } });
    expect(levelOf(r, 'post')).toBe('moderator');
    expect(holds(r, 'mem@N', 'post')).toBe(false);
    expect(holds(r, 'mod@N', 'post')).toBe(true);
    expect(holds(r, 'mod@N', 'kick')).toBe(false);
  });

  it('offers only actions on lower roles and roles up to one’s own', () => {
    const r = room();
    expect(moderation(r, 'mod@N', 'mem@N')).toEqual({ kick: true, ban: true, roles: [] });
    expect(moderation(r, 'mod@N', 'adm@N')).toEqual({ kick: false, ban: false, roles: [] });
    expect(moderation(r, 'adm@N', 'mem@N').roles).toEqual(['admin', 'moderator']);
    expect(moderation(r, 'own@N', 'mod@N').roles).toEqual(['owner', 'admin', 'member']);
    expect(moderation(r, 'own@N', 'own@N')).toEqual({ kick: false, ban: false, roles: [] });
    expect(moderation(room({ kind: 'dm' }), 'own@N', 'mem@N')).toEqual({ kick: false, ban: false, roles: [] });
  });

  it('treats a room without roles as owned by its creator', () => {
    const r = room({ roles: undefined });
    expect(roleOf(r, 'own@N')).toBe('owner');
    expect(holds(r, 'own@N', 'name')).toBe(true);
  });
});
