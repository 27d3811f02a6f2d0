import { describe, expect, it } from 'vitest';
import type { Message, TimelineEvent } from '../api/types';
import { initialEvents, mergeEvents, newestEventTs, timelineItems } from './events';
import { addPending, mergePage, initialMessages } from './messages';
import { enter, firstUnread, focusMessage, initialView, land, setEditing } from './view';

const ev = (id: string, ts: number, extra: Partial<TimelineEvent> = {}): TimelineEvent => ({
  id,
  room: 'r1',
  type: 'member',
  sender: 'bob@n',
  user: 'bob@n',
  membership: 'join',
  ts,
  ...extra,
});
const msg = (id: string, ts: number, extra: Partial<Message> = {}): Message => ({ id, room: 'r1', sender: 'bob@n', body: id, ts, ...extra });

describe('events', () => {
  it('merges events in time order, once each, and only for their room', () => {
    let s = mergeEvents(initialEvents, 'r1', [ev('b', 20), ev('a', 10)]);
    s = mergeEvents(s, 'r1', [ev('a', 10), ev('c', 30), ev('x', 5, { room: 'r2' })]);
    expect(s.rooms.r1.ids).toEqual(['a', 'b', 'c']);
    expect(s.rooms.r2).toBeUndefined();
    expect(mergeEvents(s, 'r1', [ev('c', 30)])).toBe(s);
    expect(newestEventTs(s, 'r1')).toBe(30);
    expect(newestEventTs(s, 'r9')).toBe(0);
  });

  it('interleaves events with messages, before a message of the same time', () => {
    const m = mergePage(initialMessages, 'r1', [msg('m2', 20), msg('m1', 10)], { newest: true, more: false });
    const e = mergeEvents(initialEvents, 'r1', [ev('create', 1, { type: 'room.create' }), ev('join', 10), ev('rename', 25, { type: 'room.update' })]);
    expect(timelineItems(m.rooms.r1, e.rooms.r1)).toEqual(['ev:create', 'ev:join', 'm1', 'm2', 'ev:rename']);
  });

  it('leaves out events older than the loaded history while more remains', () => {
    const m = mergePage(initialMessages, 'r1', [msg('m2', 20), msg('m1', 10)], { newest: true, more: true });
    const e = mergeEvents(initialEvents, 'r1', [ev('old', 5), ev('mid', 15)]);
    expect(timelineItems(m.rooms.r1, e.rooms.r1)).toEqual(['m1', 'ev:mid', 'm2']);
  });

  it('keeps local sends after every event', () => {
    let m = mergePage(initialMessages, 'r1', [msg('m1', 10)], { newest: true, more: false });
    m = addPending(m, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 5 });
    const e = mergeEvents(initialEvents, 'r1', [ev('late', 50)]);
    expect(timelineItems(m.rooms.r1, e.rooms.r1)).toEqual(['m1', 'ev:late', 'c1']);
    expect(timelineItems(m.rooms.r1, undefined)).toEqual(['m1', 'c1']);
  });
});

describe('view', () => {
  it('lands once per room and ignores late answers for another room', () => {
    let s = enter(initialView, 'r1');
    expect(enter(s, 'r1')).toBe(s);
    s = land(s, 'r2', 'x');
    expect(s.ready).toBe(false);
    s = land(s, 'r1', 'm5');
    expect(s).toMatchObject({ room: 'r1', ready: true, unreadFrom: 'm5' });
    s = focusMessage(s, 'r1', 'm2', true);
    const seq = s.focus?.seq ?? 0;
    s = focusMessage(s, 'r1', 'm2', true);
    expect(s.focus).toEqual({ id: 'm2', seq: seq + 1, highlight: true });
    expect(focusMessage(s, 'r2', 'm1', true)).toBe(s);
    s = setEditing(s, 'm3');
    expect(s.editing).toBe('m3');
    s = enter(s, 'r2');
    expect(s).toEqual({ room: 'r2', ready: false, unreadFrom: null, focus: null, editing: null });
  });

  it('finds the first unread message from someone else after the marker', () => {
    const byId = {
      a: { sender: 'bob@n' },
      b: { sender: 'me@n' },
      c: { sender: 'bob@n', status: 'pending' },
      d: { sender: 'amy@n' },
    };
    expect(firstUnread(['a', 'b', 'c', 'd'], byId, 'a', 'me@n')).toBe('d');
    expect(firstUnread(['a', 'b', 'c', 'd'], byId, 'd', 'me@n')).toBeNull();
    expect(firstUnread(['a', 'b', 'c', 'd'], byId, 'zz', 'me@n')).toBeNull();
    expect(firstUnread(['a', 'b'], byId, undefined, 'me@n')).toBeNull();
  });
});
