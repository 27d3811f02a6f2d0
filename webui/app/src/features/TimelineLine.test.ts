import { describe, expect, it } from 'vitest';
import { lineText } from './TimelineLine';

describe('moderation lines', () => {
  const name = (id: string) => id.split('@')[0];
  const base = { id: 'e', room: 'r', ts: 1, sender: 'own@N', user: 'mem@N' };
  it('says what moderators did', () => {
    expect(lineText({ ...base, type: 'member', membership: 'role', role: 'admin' }, name)).toBe('own made mem an admin');
    expect(lineText({ ...base, type: 'member', membership: 'role', role: 'moderator' }, name)).toBe('own made mem a moderator');
    expect(lineText({ ...base, type: 'member', membership: 'role', role: 'member', sender: 'mem@N' }, name)).toBe('mem stepped down to member');
    expect(lineText({ ...base, type: 'member', membership: 'unban' }, name)).toBe('own lifted the ban on mem');
    expect(lineText({ ...base, type: 'member', membership: 'ban', reason: 'spam' }, name)).toBe('own banned mem: spam');
    expect(lineText({ ...base, type: 'room.pin', target: 'm1', on: true }, name)).toBe('own pinned a message');
    expect(lineText({ ...base, type: 'room.pin', target: 'm1', on: false }, name)).toBe('own unpinned a message');
    expect(lineText({ ...base, type: 'message.delete', target: 'm1' }, name)).toBe('own deleted a message by mem');
    expect(lineText({ ...base, type: 'room.powers', powers: { post: 'moderator' } }, name)).toBe(
      'own changed who may do what: only moderators and above may post',
    );
    expect(lineText({ ...base, type: 'room.update', avatar: 'x' }, name)).toBe("own changed the room's picture");
  });
});
