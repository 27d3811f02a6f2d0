import { describe, expect, it } from 'vitest';
import type { Room } from '../api/types';
import type { ChatMessage, MessagesState } from '../store/messages';
import { localSearch, matches, parseQuery, snippet } from './search';

describe('parseQuery', () => {
  it('reads words, phrases, prefixes and exclusions as the node does', () => {
    expect(parseQuery('  release "new notes" deploy* -spam -"old text" ')).toEqual([
      { text: 'release', prefix: false, not: false },
      { text: 'new notes', phrase: true, not: false },
      { text: 'deploy', prefix: true, not: false },
      { text: 'spam', prefix: false, not: true },
      { text: 'old text', phrase: true, not: true },
    ]);
    expect(parseQuery('"unclosed phrase')).toEqual([{ text: 'unclosed phrase', phrase: true, not: false }]);
    expect(parseQuery('- "" ')).toEqual([{ text: '-', prefix: false, not: false }]);
  });
});

describe('matches', () => {
  const t = (q: string) => parseQuery(q);
  it('matches whole words in any case and without accents', () => {
    expect(matches('The Café is open', t('cafe'))).toBe(true);
    expect(matches('The Café is open', t('CAFÉ OPEN'))).toBe(true);
    expect(matches('The Café is open', t('caf'))).toBe(false);
    expect(matches('The Café is open', t('caf*'))).toBe(true);
  });
  it('needs every word, the phrase in order, and none of the excluded', () => {
    expect(matches('new release notes', t('"release notes"'))).toBe(true);
    expect(matches('notes on the release', t('"release notes"'))).toBe(false);
    expect(matches('release notes', t('release -notes'))).toBe(false);
    expect(matches('release', t('-notes'))).toBe(false);
  });
  it('finds CJK words inside longer runs', () => {
    expect(matches('東京都に行きます', t('東京'))).toBe(true);
  });
});

describe('snippet', () => {
  it('marks the hits in the original text', () => {
    expect(snippet('Déjà vu, déjà VU', parseQuery('deja'))).toEqual([
      { text: 'Déjà', hit: true },
      { text: ' vu, ' },
      { text: 'déjà', hit: true },
      { text: ' VU' },
    ]);
  });
  it('cuts long text around the first hit', () => {
    const long = `${'a '.repeat(200)}needle ${'b '.repeat(200)}`;
    const parts = snippet(long, parseQuery('needle'), 60);
    expect(parts[0]).toEqual({ text: '…' });
    expect(parts.find((p) => p.hit)).toEqual({ text: 'needle', hit: true });
    expect(parts[parts.length - 1]).toEqual({ text: '…' });
    expect(parts.map((p) => p.text).join('').length).toBeLessThan(70);
  });
});

describe('localSearch', () => {
  const msg = (id: string, room: string, body: string, ts: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
    id,
    room,
    sender: 'alice@n',
    body,
    ts,
    encrypted: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x', session_id: 's' },
    e2ee: { ok: true },
    ...extra,
  });
  const timeline = (ms: ChatMessage[]) => ({
    byId: Object.fromEntries(ms.map((m) => [m.id, m])),
    main: ms.map((m) => m.id),
    threads: {},
    more: false,
    loaded: true,
    threadLoaded: {},
    refs: {},
  });
  const state = {
    rooms: {
      enc: timeline([
        msg('1', 'enc', 'secret plans for monday', 1),
        msg('2', 'enc', 'more secret plans', 2),
        msg('3', 'enc', 'secret but unreadable', 3, { e2ee: { ok: false, why: 'no key' }, body: '' }),
        msg('4', 'enc', 'secret and deleted', 4, { deleted: true }),
      ]),
      plain: timeline([{ id: '5', room: 'plain', sender: 'bob@n', body: 'secret in the clear', ts: 5 }]),
    },
  } as unknown as MessagesState;
  const rooms = {
    enc: { id: 'enc', encrypted: true },
    plain: { id: 'plain', encrypted: false },
  } as unknown as Record<string, Room>;

  it('finds decrypted messages of encrypted rooms only, newest first', () => {
    expect(localSearch(state, rooms, 'secret', {}).map((m) => m.id)).toEqual(['2', '1']);
    expect(localSearch(state, rooms, '"secret plans" monday', {}).map((m) => m.id)).toEqual(['1']);
    expect(localSearch(state, rooms, 'secret', { room: 'plain' })).toEqual([]);
    expect(localSearch(state, rooms, 'secret', { sender: 'bob@n' })).toEqual([]);
    expect(localSearch(state, rooms, 'secret', { since: 2 }).map((m) => m.id)).toEqual(['2']);
  });
});
