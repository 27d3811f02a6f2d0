import { describe, expect, it } from 'vitest';
import type { Message, Room, ServerFrame } from '../api/types';
import { addPending } from './messages';
import { setActive, setRooms } from './rooms';
import { initialData, reduceFrame, type AppData } from './reduce';

const me = { id: 'me@n', username: 'me', displayName: 'Me', node: 'n' };
const room: Room = { id: 'r1', name: 'r1', kind: 'group', visibility: 'public', members: ['me@n', 'bob@n'], createdBy: 'me@n', createdAt: 1 };
const msg = (id: string, ts: number, extra: Partial<Message> = {}): Message => ({ id, room: 'r1', sender: 'bob@n', body: id, ts, ...extra });

function start(): AppData {
  let s = reduceFrame(initialData(), { type: 'ready', user: me }, 0);
  s = { ...s, rooms: setRooms(s.rooms, [room, { ...room, id: 'r2' }]) };
  return s;
}

const apply = (s: AppData, ...frames: ServerFrame[]) => frames.reduce((acc, f) => reduceFrame(acc, f, 1000), s);

describe('reduceFrame', () => {
  it('does not count a reaction or an edit in another room as unread', () => {
    // The room's history is not loaded: the update must not add the message
    // to it (that would leave a gap) nor count it as new.
    let s = apply(start(), { type: 'update', message: msg('old', 1, { reactions: [{ emoji: '👍', count: 1, users: ['bob@n'] }] }) });
    expect(s.rooms.byId.r1.unread ?? 0).toBe(0);
    expect(s.messages.rooms.r1).toBeUndefined();
    s = apply(s, { type: 'message', message: msg('a', 5) });
    expect(s.rooms.byId.r1.unread).toBe(1);
    s = apply(s, { type: 'update', message: msg('a', 5, { body: 'edited', editedAt: 6 }) });
    expect(s.rooms.byId.r1.unread).toBe(1);
    expect(s.messages.rooms.r1.byId.a.body).toBe('edited');
    expect(s.rooms.byId.r1.lastMessage?.body).toBe('edited');
    expect(s.messages.rooms.r1.main).toEqual(['a']);
  });

  it('follows notification settings changed in another tab', () => {
    let s = apply(start(), { type: 'notifications', settings: { dnd: false, rooms: { r1: 'mute' }, defaults: { dm: 'all', group: 'mentions' } } });
    expect(s.notify.loaded).toBe(true);
    expect(s.notify.rooms.r1).toBe('mute');
    s = apply(s, { type: 'notifications', settings: { dnd: true, rooms: {}, defaults: { dm: 'all', group: 'mentions' } } });
    expect(s.notify.dnd).toBe(true);
    expect(s.notify.rooms.r1).toBeUndefined();
  });

  it('drops a room the user left and keeps one they are invited to', () => {
    let s = apply(start(), { type: 'room', room: { ...room, members: ['bob@n'] } });
    expect(s.rooms.byId.r1).toBeUndefined();
    s = apply(s, { type: 'room', room: { ...room, id: 'r3', members: ['bob@n'], invited: ['me@n'] } });
    expect(s.rooms.byId.r3).toBeDefined();
  });

  it('applies member frames: the count and the member lists, not a whole room', () => {
    let s = apply(start(), { type: 'member', room: 'r1', user: 'carol@n', membership: 'join', memberCount: 3 });
    expect(s.rooms.byId.r1.members).toEqual(['me@n', 'bob@n', 'carol@n']);
    expect(s.rooms.byId.r1.memberCount).toBe(3);
    s = apply(s, { type: 'member', room: 'r1', user: 'bob@n', membership: 'leave', memberCount: 2 });
    expect(s.rooms.byId.r1.members).toEqual(['me@n', 'carol@n']);
    s = apply(s, { type: 'member', room: 'r1', user: 'dan@n', membership: 'invite', memberCount: 2 });
    expect(s.rooms.byId.r1.invited).toEqual(['dan@n']);
    s = apply(s, { type: 'member', room: 'r1', user: 'dan@n', membership: 'join', memberCount: 3 });
    expect(s.rooms.byId.r1.invited).toEqual([]);
    expect(s.rooms.byId.r1.memberCount).toBe(3);
    // A room we do not hold is left alone.
    expect(apply(s, { type: 'member', room: 'rx', user: 'x@n', membership: 'join', memberCount: 9 }).rooms).toBe(s.rooms);
  });

  it('keeps the members it knows when a large room lists only some', () => {
    const s = apply(start(), { type: 'room', room: { ...room, name: 'renamed', members: ['me@n'], memberCount: 500 } });
    expect(s.rooms.byId.r1.name).toBe('renamed');
    expect(s.rooms.byId.r1.memberCount).toBe(500);
    expect(s.rooms.byId.r1.members).toEqual(['me@n', 'bob@n']);
  });

  it('signs in and goes online on ready', () => {
    const s = start();
    expect(s.session).toEqual({ status: 'authed', user: me });
    expect(s.connection.status).toBe('online');
  });

  it('counts a message once even when it arrives twice', () => {
    const s = apply(start(), { type: 'message', message: msg('a', 5) }, { type: 'message', message: msg('a', 5) });
    expect(s.messages.rooms.r1.main).toEqual(['a']);
    expect(s.rooms.byId.r1.unread).toBe(1);
    expect(s.rooms.byId.r1.lastMessage?.id).toBe('a');
  });

  it('does not count messages in the open room', () => {
    let s = start();
    s = { ...s, rooms: setActive(s.rooms, 'r1') };
    s = apply(s, { type: 'message', message: msg('a', 5) });
    expect(s.rooms.byId.r1.unread ?? 0).toBe(0);
  });

  it('turns a pending send into the acked message', () => {
    let s = start();
    s = { ...s, messages: addPending(s.messages, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 9 }) };
    s = apply(s, { type: 'ack', id: 'c1', message: msg('m1', 8, { sender: 'me@n', body: 'hi' }) });
    s = apply(s, { type: 'message', message: msg('m1', 8, { sender: 'me@n', body: 'hi', clientId: 'c1' }) });
    expect(s.messages.rooms.r1.main).toEqual(['m1']);
    expect(s.rooms.byId.r1.unread ?? 0).toBe(0);
    expect(s.rooms.byId.r1.lastMessage?.id).toBe('m1');
  });

  it('fails the send named by an error frame', () => {
    let s = start();
    s = { ...s, messages: addPending(s.messages, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 9 }) };
    s = apply(s, { type: 'error', id: 'c1', code: 'too_large', message: 'body too large' });
    expect(s.messages.rooms.r1.byId.c1.status).toBe('failed');
    // The code, not the node's sentence: the UI maps codes to its own words.
    expect(s.messages.rooms.r1.byId.c1.error).toBe('too_large');
    const same = apply(s, { type: 'error', code: 'invalid_argument', message: 'bad frame' });
    expect(same).toBe(s);
  });

  it('clears typing when the typist sends, and ignores my own typing', () => {
    let s = apply(start(), { type: 'typing', room: 'r1', user: 'bob@n', typing: true }, { type: 'typing', room: 'r1', user: 'me@n', typing: true });
    expect(Object.keys(s.typing.rooms.r1)).toEqual(['bob@n']);
    s = apply(s, { type: 'message', message: msg('a', 5) });
    expect(Object.keys(s.typing.rooms.r1)).toEqual([]);
  });

  it('applies updates, presence, receipts and room frames', () => {
    let s = apply(
      start(),
      { type: 'message', message: msg('a', 5) },
      { type: 'update', message: msg('a', 5, { body: 'edited', editedAt: 6, reactions: [{ emoji: '👍', count: 1, users: ['me@n'] }] }) },
      { type: 'reaction', room: 'r1', message: 'a', emoji: '🎉', user: 'bob@n', on: true, count: 1 },
      { type: 'presence', user: 'bob@n', presence: 'online' },
      { type: 'receipt', room: 'r1', user: 'bob@n', upTo: 'a', kind: 'read' },
      { type: 'room', room: { ...room, id: 'r3', name: 'new' } },
      { type: 'pong' },
    );
    expect(s.messages.rooms.r1.byId.a.body).toBe('edited');
    expect(s.messages.rooms.r1.byId.a.reactions).toEqual([
      { emoji: '👍', count: 1, users: ['me@n'] },
      { emoji: '🎉', count: 1, users: ['bob@n'] },
    ]);
    expect(s.rooms.byId.r1.lastMessage?.body).toBe('edited');
    expect(s.presence.presence['bob@n'].presence).toBe('online');
    expect(s.receipts.rooms.r1['bob@n'].read).toBe('a');
    expect(s.rooms.byId.r3.name).toBe('new');
    s = apply(s, { type: 'unknown' } as unknown as ServerFrame);
    expect(s.rooms.byId.r3.name).toBe('new');
  });
});
