import { describe, expect, it } from 'vitest';
import type { Message, Room } from '../api/types';
import * as conn from './connection';
import { draftKey, loadDrafts, setDraft } from './drafts';
import { upsertMessages, initialMessages } from './messages';
import { addUsers, applyPresence, displayName, initialPresence } from './presence';
import { applyReceipt, initialReceipts, summarize } from './receipts';
import { initialRooms, noteMessage, noteUpdate, removeRoom, setActive, setRooms, sortedRooms, upsertRoom } from './rooms';
import { applyTyping, initialTyping, pruneTyping, TYPING_TTL_MS, typingUsers } from './typing';

const room = (id: string, extra: Partial<Room> = {}): Room => ({
  id,
  name: id,
  kind: 'group',
  visibility: 'public',
  members: ['me@n', 'bob@n'],
  createdBy: 'me@n',
  createdAt: 1,
  ...extra,
});
const msg = (id: string, ts: number, extra: Partial<Message> = {}): Message => ({
  id,
  room: 'r1',
  sender: 'bob@n',
  body: id,
  ts,
  ...extra,
});

describe('rooms', () => {
  it('keeps what frames did while a fetch of the list was on its way', () => {
    let s = setRooms(initialRooms, [room('r1'), room('gone')]);
    const since = s.seq;
    // While GET /rooms is answered: a DM's frame arrives, a room is left,
    // and a message arrives in r1.
    s = upsertRoom(s, room('dm'));
    s = removeRoom(s, 'gone');
    s = noteMessage(s, msg('a', 5), 'me@n');
    // The answer was made before all that.
    s = setRooms(s, [room('r1'), room('gone')], since);
    expect(Object.keys(s.byId).sort()).toEqual(['dm', 'r1']);
    expect(s.byId.r1.unread).toBe(1);
    // A later fetch, sent after those frames, is taken as it is.
    s = setRooms(s, [room('r1', { unread: 0 })], s.seq);
    expect(Object.keys(s.byId)).toEqual(['r1']);
    expect(s.byId.r1.unread).toBe(0);
  });

  it('counts unread messages from others in rooms that are not open', () => {
    let s = setRooms(initialRooms, [room('r1'), room('r2')]);
    s = noteMessage(s, msg('a', 5), 'me@n');
    s = noteMessage(s, msg('b', 6, { sender: 'me@n' }), 'me@n');
    expect(s.byId.r1.unread).toBe(1);
    expect(s.byId.r1.lastMessage?.id).toBe('b');
    s = setActive(s, 'r1');
    expect(s.byId.r1.unread).toBe(0);
    s = noteMessage(s, msg('c', 7), 'me@n');
    expect(s.byId.r1.unread).toBe(0);
  });

  it('counts mentions of me: by name or the whole room, never my own, reset when the room is opened', () => {
    let s = setRooms(initialRooms, [room('r1', { unread: 2, mentions: 1 }), room('r2')]);
    s = noteMessage(s, msg('a', 5, { mentions: ['me@n'] }), 'me@n');
    s = noteMessage(s, msg('b', 6, { mentionsRoom: true }), 'me@n');
    s = noteMessage(s, msg('c', 7, { mentions: ['carol@n'] }), 'me@n');
    s = noteMessage(s, msg('d', 8, { sender: 'me@n', mentionsRoom: true }), 'me@n');
    expect(s.byId.r1.unread).toBe(5);
    expect(s.byId.r1.mentions).toBe(3);
    // A room frame without counts keeps them.
    s = upsertRoom(s, room('r1', { name: 'renamed' }));
    expect(s.byId.r1.mentions).toBe(3);
    s = setActive(s, 'r1');
    expect(s.byId.r1.mentions).toBe(0);
    expect(s.byId.r1.unread).toBe(0);
  });

  it('ignores thread replies and older messages for the preview', () => {
    let s = setRooms(initialRooms, [room('r1', { lastMessage: msg('z', 10) })]);
    s = noteMessage(s, msg('old', 5), 'me@n');
    expect(s.byId.r1.lastMessage?.id).toBe('z');
    s = noteMessage(s, msg('t', 20, { thread: 'z' }), 'me@n');
    expect(s.byId.r1.lastMessage?.id).toBe('z');
    s = noteUpdate(s, msg('z', 10, { body: 'new' }));
    expect(s.byId.r1.lastMessage?.body).toBe('new');
  });

  it('sorts by latest activity and keeps local fields on room frames', () => {
    let s = setRooms(initialRooms, [room('r1', { lastMessage: msg('a', 5), unread: 2 }), room('r2', { createdAt: 9 })]);
    expect(sortedRooms(s.byId).map((r) => r.id)).toEqual(['r2', 'r1']);
    s = upsertRoom(s, room('r1', { topic: 't' }));
    expect(s.byId.r1.lastMessage?.id).toBe('a');
    expect(s.byId.r1.unread).toBe(2);
    expect(s.byId.r1.topic).toBe('t');
    s = removeRoom(s, 'r1');
    expect(Object.keys(s.byId)).toEqual(['r2']);
  });
});

describe('presence', () => {
  it('tracks users and presence', () => {
    let s = addUsers(initialPresence, [{ id: 'bob@n', username: 'bob', displayName: 'Bob', node: 'n', presence: 'online' }]);
    expect(displayName(s, 'bob@n')).toBe('Bob');
    expect(displayName(s, 'carol@n')).toBe('carol');
    s = applyPresence(s, 'bob@n', 'offline', 42);
    expect(s.presence['bob@n']).toEqual({ presence: 'offline', lastSeen: 42 });
    s = applyPresence(s, 'bob@n', 'online');
    expect(s.presence['bob@n']).toEqual({ presence: 'online', lastSeen: 42 });
  });
});

describe('typing', () => {
  it('adds, removes and expires typing users', () => {
    let s = applyTyping(initialTyping, 'r1', 'bob@n', true, 1000);
    s = applyTyping(s, 'r1', 'amy@n', true, 2000);
    expect(typingUsers(s, 'r1', 1500)).toEqual(['amy@n', 'bob@n']);
    s = applyTyping(s, 'r1', 'amy@n', false, 2500);
    expect(typingUsers(s, 'r1', 2500)).toEqual(['bob@n']);
    const pruned = pruneTyping(s, 1000 + TYPING_TTL_MS + 1);
    expect(typingUsers(pruned, 'r1', 0)).toEqual([]);
    expect(pruneTyping(pruned, 0)).toBe(pruned);
    expect(applyTyping(pruned, 'r1', 'zed@n', false, 0)).toBe(pruned);
  });
});

describe('receipts', () => {
  it('resolves markers against the loaded timeline', () => {
    const t = upsertMessages(initialMessages, [msg('a', 1, { sender: 'me@n' }), msg('b', 2, { sender: 'me@n' }), msg('c', 3, { sender: 'me@n' })]).state.rooms.r1;
    let s = applyReceipt(initialReceipts, 'r1', 'bob@n', 'a', 'read');
    s = applyReceipt(s, 'r1', 'bob@n', 'b', 'delivered');
    s = applyReceipt(s, 'r1', 'me@n', 'c', 'read');
    s = applyReceipt(s, 'r1', 'amy@n', 'unknown', 'read');
    const sum = summarize(s.rooms.r1, t, 'me@n');
    expect(sum.readTs).toBe(1);
    expect(sum.deliveredTs).toBe(2);
    expect(sum.readers).toEqual({ a: ['bob@n'] });
  });
});

describe('connection', () => {
  it('counts attempts until ready', () => {
    let s = conn.connecting(conn.initialConnection);
    s = conn.dropped(s, 500, 'x');
    s = conn.dropped(s, 900, 'y');
    expect(s).toMatchObject({ status: 'offline', attempt: 2, retryAt: 900, everReady: false });
    s = conn.ready(s);
    expect(s).toMatchObject({ status: 'online', attempt: 0, retryAt: null, everReady: true });
  });
});

describe('drafts', () => {
  it('keeps drafts per room and thread', () => {
    let s = setDraft({}, draftKey('r1'), 'hello');
    s = setDraft(s, draftKey('r1', 't'), 'thread');
    expect(s).toEqual({ r1: 'hello', 'r1#t': 'thread' });
    expect(setDraft(s, 'r1', 'hello')).toBe(s);
    expect(setDraft(s, 'r1', '')).toEqual({ 'r1#t': 'thread' });
    expect(loadDrafts({ getItem: () => '{"r1":"x"}' })).toEqual({ r1: 'x' });
    expect(loadDrafts({ getItem: () => 'not json' })).toEqual({});
  });
});
