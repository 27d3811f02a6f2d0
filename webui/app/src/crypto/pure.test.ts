import { describe, expect, it } from 'vitest';
import { checkPlain, plainContent } from './content';
import { fromMatrixRoom, fromMatrixUser, toMatrixEvent, toMatrixRoom, toMatrixUser } from './ids';
import { decodeRecoveryKey, deriveKey, encodeRecoveryKey } from './recoverykey';
import { explain, tampered } from './utd';

const NODE = '12D3KooWRABQgfHNhneNXGYhUASRtZ3PjfW5KXk5NohoE3a9MPQu';

describe('ids', () => {
  it('maps users both ways', () => {
    expect(toMatrixUser(`alice.b_c-1@${NODE}`)).toBe(`@alice.b_c-1:${NODE}`);
    expect(fromMatrixUser(`@alice:${NODE}`)).toBe(`alice@${NODE}`);
  });
  it('refuses what is not a Hearth user', () => {
    for (const bad of ['alice', `Alice@${NODE}`, `alice@${NODE}@x`, `alice@0OIl`, '@alice:example.org:8448', `alice@${NODE}/x`]) {
      expect(() => toMatrixUser(bad)).toThrow();
    }
    expect(() => fromMatrixUser('@alice:matrix.org')).toThrow();
    expect(() => fromMatrixUser(`alice@${NODE}`)).toThrow();
  });
  it('maps rooms the same way on every client', () => {
    expect(toMatrixRoom('rAbc-_x')).toBe('!rAbc-_x:hearth');
    expect(fromMatrixRoom('!rAbc-_x:hearth')).toBe('rAbc-_x');
    expect(() => toMatrixRoom('a:b')).toThrow();
    expect(() => fromMatrixRoom('!x:matrix.org')).toThrow();
    expect(() => fromMatrixRoom('!a:b:hearth')).toThrow();
    expect(toMatrixEvent('m1')).toBe('$m1');
  });
});

describe('content', () => {
  const msg = { id: 'm2', replyTo: 'm1', thread: 't1' };
  it('binds relations inside the ciphertext', () => {
    const c = plainContent('hi', { replyTo: 'm1', thread: 't1' });
    expect(checkPlain(c, msg).body).toBe('hi');
    expect(c).not.toHaveProperty('m.relates_to');
  });
  it('refuses content moved under another message', () => {
    const c = plainContent('hi', { replyTo: 'm1', thread: 't1' });
    expect(() => checkPlain(c, { ...msg, replyTo: 'm0' })).toThrow(/reply target/);
    expect(() => checkPlain(c, { ...msg, thread: undefined })).toThrow(/thread/);
    expect(() => checkPlain(c, { ...msg, editedAt: 5 })).toThrow(/another message/);
    const edit = plainContent('fixed', { replyTo: 'm1', thread: 't1', edits: 'm9' });
    expect(() => checkPlain(edit, { ...msg, editedAt: 5 })).toThrow(/another message/);
    expect(() => checkPlain(edit, msg)).toThrow(/edit was presented/);
    expect(checkPlain(plainContent('fixed', { replyTo: 'm1', thread: 't1', edits: 'm2' }), { ...msg, editedAt: 5 }).body).toBe('fixed');
    expect(() => checkPlain({ msgtype: 'm.text' }, msg)).toThrow(/no text body/);
    expect(() => checkPlain(null, msg)).toThrow();
  });
});

describe('recovery key', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255);
  it('round-trips and tolerates spacing', () => {
    const text = encodeRecoveryKey(key);
    expect(text).toMatch(/^E[sS]\w\w( \w{1,4})+$/);
    expect(decodeRecoveryKey(text)).toEqual(key);
    expect(decodeRecoveryKey(text.replace(/ /g, '\n  '))).toEqual(key);
  });
  it('catches typos and foreign strings with a reason', () => {
    const text = encodeRecoveryKey(key);
    const typo = text.slice(0, 10) + (text[10] === 'a' ? 'b' : 'a') + text.slice(11);
    expect(() => decodeRecoveryKey(typo)).toThrow(/typo|length|prefix/);
    expect(() => decodeRecoveryKey('hello world')).toThrow();
    expect(() => decodeRecoveryKey('0OIl')).toThrow(/character/);
    expect(() => encodeRecoveryKey(new Uint8Array(31))).toThrow();
  });
  it('derives a key from a passphrase deterministically', async () => {
    const a = await deriveKey('pass phrase', 'salt', 1000);
    expect(a).toHaveLength(32);
    expect(await deriveKey('pass phrase', 'salt', 1000)).toEqual(a);
    expect(await deriveKey('pass phrase', 'salt2', 1000)).not.toEqual(a);
  });
});

describe('unable to decrypt', () => {
  it('explains each case', () => {
    expect(explain({ code: 0, ts: 5, joinedAt: 10 }).why).toBe('before-join');
    expect(explain({ code: 0, ts: 15, joinedAt: 10, deviceSince: 20 }).why).toBe('before-device');
    const w = explain({ code: 0, ts: 15, joinedAt: 10, deviceSince: 12 });
    expect(w.why).toBe('waiting');
    expect(w.retry).toBe(true);
    expect(explain({ code: 0, ts: 1, withheldCode: 'm.unverified' }).why).toBe('unverified-device');
    expect(explain({ code: 0, ts: 1, withheldCode: 'm.unauthorised' }).why).toBe('withheld');
    expect(explain({ code: 0, ts: 1, withheldCode: 'm.no_olm' }).why).toBe('no-session');
    expect(explain({ code: 1, ts: 15 }).why).toBe('failed');
    expect(explain({ code: 6, ts: 15 }).retry).toBe(false);
    expect(tampered('x').text).toMatch(/changed after it was encrypted/);
  });
});
