import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import {
  ack,
  addPending,
  discardSend,
  failSend,
  initialMessages,
  mergePage,
  newestConfirmed,
  oldestConfirmed,
  retrySend,
  upsertMessages,
  updateExisting,
  addRefs,
  findMessage,
} from './messages';

const msg = (id: string, ts: number, extra: Partial<Message> = {}): Message => ({
  id,
  room: 'r1',
  sender: 'bob@n',
  body: `body ${id}`,
  ts,
  ...extra,
});

describe('messages', () => {
  it('keeps the timeline sorted and free of duplicates', () => {
    let s = upsertMessages(initialMessages, [msg('b', 2), msg('a', 1)]).state;
    s = upsertMessages(s, [msg('c', 3), msg('a', 1), msg('b', 2)]).state;
    expect(s.rooms.r1.main).toEqual(['a', 'b', 'c']);
  });

  it('reports only new messages as added', () => {
    const s = upsertMessages(initialMessages, [msg('a', 1)]).state;
    const r = upsertMessages(s, [msg('a', 1), msg('b', 2)]);
    expect(r.added.map((m) => m.id)).toEqual(['b']);
  });

  it('orders equal timestamps by id', () => {
    const s = upsertMessages(initialMessages, [msg('y', 5), msg('x', 5)]).state;
    expect(s.rooms.r1.main).toEqual(['x', 'y']);
  });

  it('merges an older page in front', () => {
    let s = mergePage(initialMessages, 'r1', [msg('d', 4), msg('c', 3)], { newest: true, more: true });
    s = mergePage(s, 'r1', [msg('b', 2), msg('a', 1)], { more: false });
    expect(s.rooms.r1.main).toEqual(['a', 'b', 'c', 'd']);
    expect(s.rooms.r1.more).toBe(false);
    expect(s.rooms.r1.loaded).toBe(true);
    expect(oldestConfirmed(s.rooms.r1)?.id).toBe('a');
  });

  it('shows a send at once as pending and replaces it on ack', () => {
    let s = upsertMessages(initialMessages, [msg('a', 1)]).state;
    s = addPending(s, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 100 });
    expect(s.rooms.r1.main).toEqual(['a', 'c1']);
    expect(s.rooms.r1.byId.c1.status).toBe('pending');
    expect(newestConfirmed(s.rooms.r1)?.id).toBe('a');
    s = ack(s, 'c1', msg('m1', 50, { sender: 'me@n', body: 'hi' }));
    expect(s.rooms.r1.main).toEqual(['a', 'm1']);
    expect(s.rooms.r1.byId.c1).toBeUndefined();
    expect(s.rooms.r1.byId.m1.status).toBeUndefined();
    expect(s.rooms.r1.byId.m1.clientId).toBe('c1');
  });

  it('does not duplicate when the echo arrives before the ack', () => {
    let s = addPending(initialMessages, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 100 });
    s = upsertMessages(s, [msg('m1', 90, { sender: 'me@n', clientId: 'c1' })]).state;
    s = ack(s, 'c1', msg('m1', 90, { sender: 'me@n', clientId: 'c1' }));
    expect(s.rooms.r1.main).toEqual(['m1']);
  });

  it('keeps local sends after confirmed messages', () => {
    let s = addPending(initialMessages, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 100 });
    s = upsertMessages(s, [msg('late', 200), msg('early', 10)]).state;
    expect(s.rooms.r1.main).toEqual(['early', 'late', 'c1']);
  });

  it('marks a refused send failed and lets it be retried or discarded', () => {
    let s = addPending(initialMessages, { clientId: 'c1', room: 'r1', sender: 'me@n', body: 'hi', ts: 1 });
    s = failSend(s, 'c1', 'too large');
    expect(s.rooms.r1.byId.c1).toMatchObject({ status: 'failed', error: 'too large' });
    s = retrySend(s, 'c1');
    expect(s.rooms.r1.byId.c1.status).toBe('pending');
    s = discardSend(s, 'c1');
    expect(s.rooms.r1.main).toEqual([]);
    expect(s.rooms.r1.byId.c1).toBeUndefined();
  });

  it('ignores failures for unknown sends', () => {
    expect(failSend(initialMessages, 'nope', 'x')).toBe(initialMessages);
  });

  it('applies edits and deletions in place', () => {
    let s = upsertMessages(initialMessages, [msg('a', 1), msg('b', 2)]).state;
    s = upsertMessages(s, [msg('a', 1, { body: 'edited', editedAt: 5 })]).state;
    s = upsertMessages(s, [msg('b', 2, { body: '', deleted: true })]).state;
    expect(s.rooms.r1.main).toEqual(['a', 'b']);
    expect(s.rooms.r1.byId.a.body).toBe('edited');
    expect(s.rooms.r1.byId.b.deleted).toBe(true);
  });

  it('keeps thread replies out of the main timeline and counts them', () => {
    let s = upsertMessages(initialMessages, [msg('root', 1)]).state;
    s = upsertMessages(s, [msg('t1', 2, { thread: 'root' }), msg('t2', 3, { thread: 'root' })]).state;
    s = upsertMessages(s, [msg('t1', 2, { thread: 'root' })]).state;
    expect(s.rooms.r1.main).toEqual(['root']);
    expect(s.rooms.r1.threads.root).toEqual(['t1', 't2']);
    expect(s.rooms.r1.byId.root.threadCount).toBe(2);
    s = mergePage(s, 'r1', [], { thread: 'root' });
    expect(s.rooms.r1.threadLoaded.root).toBe(true);
  });

  // Not a timing target (that would be a benchmark): the generous timeout only
  // keeps a busy shared machine from failing a correctness check.
  it("merges 10,000 messages and then appends one by one", { timeout: 60_000 }, () => {
    const page: Message[] = [];
    for (let i = 0; i < 10_000; i++) page.push(msg(`m${String(i).padStart(5, '0')}`, i));
    let s = mergePage(initialMessages, 'r1', page.reverse(), { newest: true, more: false });
    for (let i = 0; i < 200; i++) s = upsertMessages(s, [msg(`n${i}`, 10_000 + i)]).state;
    expect(s.rooms.r1.main.length).toBe(10_200);
  });

  it('updates only messages it holds, in the timeline or among the refs', () => {
    let s = upsertMessages(initialMessages, [msg('a', 1)]).state;
    s = addRefs(s, [msg('far', 0), msg('a', 1, { body: 'not a ref' })]);
    expect(Object.keys(s.rooms.r1.refs)).toEqual(['far']);
    expect(s.rooms.r1.main).toEqual(['a']);
    s = updateExisting(s, [msg('a', 1, { body: 'edited' }), msg('far', 0, { deleted: true, body: '' }), msg('unknown', 9)]);
    expect(s.rooms.r1.byId.a.body).toBe('edited');
    expect(findMessage(s.rooms.r1, 'far')?.deleted).toBe(true);
    expect(s.rooms.r1.byId.unknown).toBeUndefined();
    expect(updateExisting(s, [msg('nope', 1)])).toBe(s);
  });
});
