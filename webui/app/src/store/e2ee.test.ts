import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { addPending, applyDecrypted, initialMessages, keepPlain, updateExisting, upsertMessages } from './messages';
import { bumpDevices, initialCrypto, setStatus, setVerification } from './crypto';

const enc = (c: string) => ({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: c, session_id: 's' });
const msg = (id: string, over: Partial<Message> = {}): Message => ({ id, room: 'r1', sender: 'a@n', body: '', ts: 1, ...over });

describe('encrypted messages in the store', () => {
  it('keeps the plaintext when the node sends the same ciphertext again', () => {
    let s = upsertMessages(initialMessages, [msg('m1', { encrypted: enc('X') })]).state;
    s = applyDecrypted(s, 'r1', 'm1', 'X', 'hello', { ok: true });
    expect(s.rooms.r1.byId.m1.body).toBe('hello');
    // An update (an edit of another field, a thread count): same ciphertext, empty body.
    s = upsertMessages(s, [msg('m1', { encrypted: enc('X'), reactions: [{ emoji: '👍', count: 1, users: ['b@n'] }] })]).state;
    expect(s.rooms.r1.byId.m1.body).toBe('hello');
    expect(s.rooms.r1.byId.m1.e2ee?.ok).toBe(true);
    expect(s.rooms.r1.byId.m1.reactions).toEqual([{ emoji: '👍', count: 1, users: ['b@n'] }]);
  });

  it('keeps the plaintext through an update frame (a thread count, a moderator change)', () => {
    let s = upsertMessages(initialMessages, [msg('m1', { encrypted: enc('X') })]).state;
    s = applyDecrypted(s, 'r1', 'm1', 'X', 'hello', { ok: true });
    s = updateExisting(s, [msg('m1', { encrypted: enc('X'), threadCount: 2 })]);
    expect(s.rooms.r1.byId.m1.body).toBe('hello');
    expect(s.rooms.r1.byId.m1.threadCount).toBe(2);
    expect(s.rooms.r1.byId.m1.e2ee?.ok).toBe(true);
    // An edit (new ciphertext) is decrypted again: no view until then.
    s = updateExisting(s, [msg('m1', { encrypted: enc('Y'), editedAt: 2 })]);
    expect(s.rooms.r1.byId.m1.e2ee).toBeUndefined();
  });

  it('decrypts an edit again and refuses a stale result', () => {
    let s = upsertMessages(initialMessages, [msg('m1', { encrypted: enc('X') })]).state;
    s = applyDecrypted(s, 'r1', 'm1', 'X', 'hello', { ok: true });
    s = upsertMessages(s, [msg('m1', { encrypted: enc('Y'), editedAt: 5 })]).state;
    expect(s.rooms.r1.byId.m1.e2ee).toBeUndefined();
    expect(applyDecrypted(s, 'r1', 'm1', 'X', 'old', { ok: true })).toBe(s);
    s = applyDecrypted(s, 'r1', 'm1', 'Y', 'edited', { ok: true });
    expect(s.rooms.r1.byId.m1.body).toBe('edited');
  });

  it("shows the sender's own text from the pending send until it is decrypted", () => {
    let s = addPending(initialMessages, { clientId: 'c1', room: 'r1', sender: 'a@n', body: 'mine', ts: 1 });
    s = upsertMessages(s, [msg('m1', { clientId: 'c1', encrypted: enc('X') })]).state;
    expect(s.rooms.r1.byId.c1).toBeUndefined();
    expect(s.rooms.r1.byId.m1.body).toBe('mine');
    expect(s.rooms.r1.byId.m1.e2ee).toBeUndefined();
  });

  it('never brings back the text of a deleted message', () => {
    const prev = { ...msg('m1', { encrypted: enc('X') }), body: 'hello' };
    expect(keepPlain(prev, msg('m1', { deleted: true })).body).toBe('');
  });

  it('records an unreadable message with its reason', () => {
    let s = upsertMessages(initialMessages, [msg('m1', { encrypted: enc('X') })]).state;
    s = applyDecrypted(s, 'r1', 'm1', 'X', '', { ok: false, why: 'waiting', retry: true });
    expect(s.rooms.r1.byId.m1.e2ee?.why).toBe('waiting');
  });

  it('holds the crypto UI state', () => {
    let c = setStatus(initialCrypto, 'ready');
    c = setVerification(c, { flowId: 'f', otherUser: 'b@n', incoming: true, phase: 'requested' });
    expect(c.verification?.phase).toBe('requested');
    expect(bumpDevices(c).devicesTick).toBe(1);
    expect(setVerification(c, null).verification).toBeNull();
  });
});
