import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { initialNotify, levelOf, notifies, setRoomLevel, setSettings, silenced } from './notify';

const me = 'me@n';
const msg = (over: Partial<Message> = {}): Message => ({ id: 'm1', room: 'r1', sender: 'other@n', body: 'hi', ts: 1, ...over });
const group = { id: 'r1', kind: 'group' as const };
const dm = { id: 'd1', kind: 'dm' as const };

describe('notify slice', () => {
  it('takes the kinds defaults: DMs all, group rooms mentions', () => {
    expect(levelOf(initialNotify, group)).toBe('mentions');
    expect(levelOf(initialNotify, dm)).toBe('all');
    expect(notifies(initialNotify, me, msg(), group, 0)).toBe(false);
    expect(notifies(initialNotify, me, msg({ mentions: [me] }), group, 0)).toBe(true);
    expect(notifies(initialNotify, me, msg({ mentionsRoom: true }), group, 0)).toBe(true);
    expect(notifies(initialNotify, me, msg({ room: 'd1' }), dm, 0)).toBe(true);
  });
  it('never notifies of my own or a deleted message', () => {
    expect(notifies(initialNotify, me, msg({ sender: me, mentions: [me] }), dm, 0)).toBe(false);
    expect(notifies(initialNotify, me, msg({ deleted: true }), dm, 0)).toBe(false);
  });
  it('follows a chosen level and forgets it with default', () => {
    let s = setRoomLevel(initialNotify, 'r1', 'mute');
    expect(notifies(s, me, msg({ mentions: [me] }), group, 0)).toBe(false);
    s = setRoomLevel(s, 'r1', 'all');
    expect(notifies(s, me, msg(), group, 0)).toBe(true);
    s = setRoomLevel(s, 'r1', 'default');
    expect(levelOf(s, group)).toBe('mentions');
  });
  it('is silenced by do-not-disturb until its end', () => {
    const s = setSettings(initialNotify, { dnd: true, dndUntil: 100, rooms: { d1: 'all' }, defaults: { dm: 'all', group: 'mentions' } });
    expect(s.loaded).toBe(true);
    expect(silenced(s, 50)).toBe(true);
    expect(notifies(s, me, msg({ room: 'd1' }), dm, 50)).toBe(false);
    expect(notifies(s, me, msg({ room: 'd1' }), dm, 100)).toBe(true);
  });
});
