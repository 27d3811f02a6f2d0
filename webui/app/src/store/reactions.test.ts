import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { applyReactionFrame, keepMine, toggled, withReaction } from './reactions';
import { upsertMessages, initialMessages } from './messages';

const msg: Message = { id: 'a', room: 'r1', sender: 'bob@n', body: 'hi', ts: 1 };

describe('reactions', () => {
  it('applies deltas: counts from the node, a bounded sample, my own flag', () => {
    let l = withReaction(undefined, '👍', 'bob@n', true, 1, 'me@n');
    expect(l).toEqual([{ emoji: '👍', count: 1, users: ['bob@n'] }]);
    l = withReaction(l, '👍', 'me@n', true, 2, 'me@n');
    expect(l).toEqual([{ emoji: '👍', count: 2, users: ['me@n', 'bob@n'], me: true }]);
    for (const u of ['c@n', 'd@n', 'e@n']) l = withReaction(l, '👍', u, true, l[0].count + 1, 'me@n');
    expect(l[0].count).toBe(5);
    expect(l[0].users).toEqual(['e@n', 'd@n', 'c@n']);
    expect(l[0].me).toBe(true);
    l = withReaction(l, '👍', 'me@n', false, 4, 'me@n');
    expect(l[0].me).toBeUndefined();
    l = withReaction(l, '🎉', 'c@n', true, 1, 'me@n');
    expect(l.map((r) => r.emoji)).toEqual(['👍', '🎉']);
    l = withReaction(l, '🎉', 'c@n', false, 0, 'me@n');
    expect(l.map((r) => r.emoji)).toEqual(['👍']);
  });

  it('applies a reaction frame to a held message and ignores others', () => {
    const s = upsertMessages(initialMessages, [msg]).state;
    const next = applyReactionFrame(s, { type: 'reaction', room: 'r1', message: 'a', emoji: '🎉', user: 'me@n', on: true, count: 3 }, 'me@n');
    expect(next.rooms.r1.byId.a.reactions).toEqual([{ emoji: '🎉', count: 3, users: ['me@n'], me: true }]);
    expect(applyReactionFrame(s, { type: 'reaction', room: 'r1', message: 'zz', emoji: '🎉', user: 'x', on: true, count: 1 }, 'me@n')).toBe(s);
  });

  it('keeps my flags across an update frame', () => {
    const prev = { ...msg, reactions: [{ emoji: '👍', count: 2, users: ['me@n'], me: true }] };
    const upd = { ...msg, body: 'edited', reactions: [{ emoji: '👍', count: 2, users: ['me@n'] }] };
    expect(keepMine(prev, upd).reactions).toEqual([{ emoji: '👍', count: 2, users: ['me@n'], me: true }]);
  });

  it('toggles my reaction optimistically', () => {
    const on = toggled(msg, '👍', 'me@n');
    expect(on.on).toBe(true);
    expect(on.message.reactions).toEqual([{ emoji: '👍', count: 1, users: ['me@n'], me: true }]);
    const off = toggled(on.message, '👍', 'me@n');
    expect(off.on).toBe(false);
    expect(off.message.reactions).toEqual([]);
  });
});
