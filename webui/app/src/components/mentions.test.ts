import { describe, expect, it } from 'vitest';
import { collectMentions, MENTION_PARTIAL, splitMentions, suggestMembers } from './mentions';

const members = [
  { id: 'ann@A', name: 'Ann Lee' },
  { id: 'bob@A', name: 'Bob' },
  { id: 'bob@B', name: 'Bobby Tables' },
  { id: 'me@A', name: 'Me' },
  { id: 'zoe@B', name: 'Zoe Annand' },
];

describe('mentions', () => {
  it('finds an @partial before the caret at a word start only', () => {
    expect('hi @an'.match(MENTION_PARTIAL)?.[1]).toBe('an');
    expect('@'.match(MENTION_PARTIAL)?.[1]).toBe('');
    expect('mail me@an'.match(MENTION_PARTIAL)).toBeNull();
  });

  it('suggests members across nodes by username and name, not me, with @room', () => {
    const s = suggestMembers('b', members, 'me@A');
    expect(s.map((x) => x.id)).toEqual(['bob@A', 'bob@B']);
    expect(suggestMembers('ann', members, 'me@A').map((x) => x.id)).toEqual(['ann@A', 'zoe@B']);
    expect(suggestMembers('ro', members, 'me@A').map((x) => x.id)).toEqual(['@room']);
    expect(suggestMembers('me', members, 'me@A').map((x) => x.id)).toEqual([]);
  });

  it('collects the mentions of a body: chosen users, unique usernames, the room', () => {
    const chosen = new Map([['bob', 'bob@B']]);
    expect(collectMentions('hi @bob and @ann, @zoe. mail x@ann', chosen, members, 'me@A')).toEqual({
      mentions: ['bob@B', 'ann@A', 'zoe@B'],
      mentionsRoom: false,
    });
    // Two bobs and none chosen: no one is guessed; @me is not a mention.
    expect(collectMentions('@bob @me @everyone', new Map(), members, 'me@A')).toEqual({ mentions: [], mentionsRoom: true });
  });

  it('highlights only the mentions a message lists, marking mine', () => {
    const parts = splitMentions('@ann see @bob, and @room!', { mentions: ['ann@A', 'me@A'] }, 'me@A');
    expect(parts).toEqual([
      { kind: 'mention', text: '@ann', me: false },
      { kind: 'text', text: ' see @bob, and @room!' },
    ]);
    const mine = splitMentions('hey @me and @room', { mentions: ['me@A'], mentionsRoom: true }, 'me@A');
    expect(mine.filter((p) => p.kind === 'mention')).toEqual([
      { kind: 'mention', text: '@me', me: true },
      { kind: 'mention', text: '@room', me: true },
    ]);
    expect(splitMentions('plain @ann', {}, 'me@A')).toEqual([{ kind: 'text', text: 'plain @ann' }]);
  });
});
