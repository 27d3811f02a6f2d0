import { beforeEach, describe, expect, it, vi } from 'vitest';
import { useStore } from '../store';
import { backoff, BACKOFF_MAX_MS, PROBE_EVERY_MS, PROBE_JITTER_MS, Socket, type SocketDeps, type WSLike } from './socket';
import type { Message } from './types';

class FakeWS implements WSLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: WSLike['onopen'] = null;
  onmessage: WSLike['onmessage'] = null;
  onclose: WSLike['onclose'] = null;
  onerror: WSLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.closedWith = code;
  }
  // Test helpers: the server side.
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  of(type: string) {
    return this.sent.filter((f) => f.type === type);
  }
}

const me = { id: 'me@n', username: 'me', displayName: 'Me', node: 'n' };
const msg = (id: string, ts: number, extra: Partial<Message> = {}): Message => ({ id, room: 'r1', sender: 'bob@n', body: id, ts, ...extra });

interface Harness {
  socket: Socket;
  sockets: FakeWS[];
  timers: { fn: () => void; at: number }[];
  now: { t: number };
  pages: Map<string, Message[]>;
  refresh: ReturnType<typeof vi.fn>;
  tick(ms: number): void;
  last(): FakeWS;
}

function harness(extra: Partial<SocketDeps> = {}): Harness {
  const sockets: FakeWS[] = [];
  const timers: { fn: () => void; at: number }[] = [];
  const now = { t: 1000 };
  const pages = new Map<string, Message[]>();
  const refresh = vi.fn(() => Promise.resolve());
  const socket = new Socket({
    url: () => 'ws://test/api/v1/ws',
    create: (url) => {
      const ws = new FakeWS(url);
      sockets.push(ws);
      return ws;
    },
    token: () => 'tok',
    refresh,
    state: useStore.getState,
    // History newest first, paged by `before`, as the node serves it.
    fetchPage: async (room, { before, limit = 50 }) => {
      const all = (pages.get(room) ?? []).slice().sort((a, b) => b.ts - a.ts);
      const from = before ? all.findIndex((m) => m.id === before) + 1 : 0;
      const page = all.slice(from, from + limit);
      return { messages: page, more: from + limit < all.length };
    },
    fetchRooms: async () => [],
    now: () => now.t,
    random: () => 0.5,
    setTimeout: (fn, ms) => {
      const t = { fn, at: now.t + ms };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      const i = timers.indexOf(t as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
    setInterval: () => 0,
    clearInterval: () => undefined,
    ...extra,
  });
  return {
    socket,
    sockets,
    timers,
    now,
    pages,
    refresh,
    tick(ms) {
      now.t += ms;
      for (const t of timers.filter((t) => t.at <= now.t)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    },
    last: () => sockets[sockets.length - 1],
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

async function connect(h: Harness) {
  const ws = h.last();
  ws.open();
  ws.frame({ type: 'ready', user: me });
  await flush();
  await flush();
  return ws;
}

beforeEach(() => {
  useStore.getState().signedOut();
  useStore.getState().signedIn(me);
});

describe('backoff', () => {
  it('grows exponentially with jitter and a cap', () => {
    expect(backoff(0, () => 0)).toBe(250);
    expect(backoff(0, () => 1)).toBe(500);
    expect(backoff(3, () => 1)).toBe(4000);
    expect(backoff(30, () => 1)).toBe(BACKOFF_MAX_MS);
    expect(backoff(30, () => 0)).toBe(BACKOFF_MAX_MS / 2);
  });
});

describe('Socket', () => {
  it('authenticates first and goes online on ready', async () => {
    const h = harness();
    h.socket.start();
    expect(useStore.getState().connection.status).toBe('connecting');
    const ws = await connect(h);
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 'tok' });
    expect(useStore.getState().connection.status).toBe('online');
    h.socket.stop();
  });

  it('fetches the room list on the first ready too: a room made before the socket subscribed is not lost', async () => {
    // The app's sign-in fetch of the list answered before this DM existed,
    // and its frame went out before the socket was subscribed.
    useStore.getState().setRooms([], 0);
    const dm = { id: 'dm1', name: '', kind: 'dm', visibility: 'private', members: ['me@n', 'alice@m'], createdBy: 'alice@m', createdAt: 1 } as const;
    const fetchRooms = vi.fn(async () => [{ ...dm, members: [...dm.members] }]);
    const h = harness({ fetchRooms });
    h.socket.start();
    await connect(h);
    expect(fetchRooms).toHaveBeenCalledTimes(1);
    expect(useStore.getState().rooms.byId.dm1?.kind).toBe('dm');
    h.socket.stop();
  });

  it('sends attachments by ID and name, with an empty body allowed (API.md §6)', async () => {
    const h = harness();
    h.socket.start();
    const ws = await connect(h);
    const media = [{ id: 'm1', type: 'image/png', size: 5, name: 'cat.png', width: 2, height: 1 }];
    const id = h.socket.send({ room: 'r1', body: '', attachments: media });
    expect(ws.of('send')[0]).toEqual({ type: 'send', id, room: 'r1', body: '', attachments: [{ id: 'm1', name: 'cat.png' }] });
    // The pending message shows its files while it is sent.
    expect(useStore.getState().messages.rooms.r1.byId[id].attachments).toEqual(media);
    h.socket.stop();
  });

  it('in an encrypted room, puts the files in the ciphertext and only their IDs in the clear', async () => {
    const seen: unknown[] = [];
    const h = harness({
      encrypt: (_room, body, _rel, files) => {
        seen.push({ body, files });
        return Promise.resolve({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'CT', session_id: 's' });
      },
    });
    h.socket.start();
    const ws = await connect(h);
    const file = {
      media: { id: 'c1', type: 'image/png', size: 5, name: 'secret.png' },
      file: { url: 'c1', key: { kty: 'oct' as const, key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR' as const, k: 'k', ext: true as const }, iv: 'iv', hashes: { sha256: 'h' }, v: 'v2' as const },
    };
    h.socket.send({ room: 'r1', body: '', attachments: [{ id: 'c1', type: 'application/octet-stream', size: 21 }], files: [file] });
    await flush();
    const f = ws.of('send')[0];
    expect(f.attachments).toEqual([{ id: 'c1' }]);
    expect(f.body).toBeUndefined();
    expect(JSON.stringify(f)).not.toContain('secret.png');
    expect(seen).toEqual([{ body: '', files: [file] }]);
    h.socket.stop();
  });

  it('shows a send at once and confirms it on ack', async () => {
    const h = harness();
    h.socket.start();
    const ws = await connect(h);
    const id = h.socket.send({ room: 'r1', body: 'hello' });
    expect(useStore.getState().messages.rooms.r1.byId[id].status).toBe('pending');
    expect(ws.of('send')).toEqual([{ type: 'send', id, room: 'r1', body: 'hello' }]);
    ws.frame({ type: 'ack', id, message: msg('m1', 5, { sender: 'me@n', body: 'hello', clientId: id }) });
    const t = useStore.getState().messages.rooms.r1;
    expect(t.main).toEqual(['m1']);
    expect(h.socket.pendingIds()).toEqual([]);
    h.socket.stop();
  });

  it('queues sends while offline and sends them once after ready', async () => {
    const h = harness();
    h.socket.start();
    const id = h.socket.send({ room: 'r1', body: 'queued', replyTo: 'x' });
    const ws = h.last();
    ws.open();
    expect(ws.of('send')).toEqual([]);
    ws.frame({ type: 'ready', user: me });
    await flush();
    await flush();
    expect(ws.of('send')).toEqual([{ type: 'send', id, room: 'r1', body: 'queued', replyTo: 'x' }]);
    h.socket.stop();
  });

  it('reconnects with backoff and resends unacknowledged sends with the same clientId', async () => {
    const h = harness();
    h.socket.start();
    const ws1 = await connect(h);
    const id = h.socket.send({ room: 'r1', body: 'lost' });
    ws1.drop();
    const c = useStore.getState().connection;
    expect(c.status).toBe('offline');
    expect(c.retryAt).toBe(h.now.t + 375);
    h.tick(374);
    expect(h.sockets.length).toBe(1);
    h.tick(1);
    expect(h.sockets.length).toBe(2);
    const ws2 = await connect(h);
    expect(ws2.of('send')).toEqual([{ type: 'send', id, room: 'r1', body: 'lost' }]);
    h.socket.stop();
  });

  it('does not resend a message the node stored before the link broke', async () => {
    const h = harness();
    h.socket.start();
    const ws1 = await connect(h);
    useStore.getState().mergePage('r1', [msg('a', 1)], { newest: true, more: false });
    const id = h.socket.send({ room: 'r1', body: 'stored' });
    ws1.drop();
    // The node stored it and others wrote meanwhile; the ack never arrived.
    h.pages.set('r1', [msg('a', 1), msg('m1', 2, { sender: 'me@n', body: 'stored', clientId: id }), msg('b', 3)]);
    h.tick(1000);
    const ws2 = await connect(h);
    expect(ws2.of('send')).toEqual([]);
    const t = useStore.getState().messages.rooms.r1;
    expect(t.main).toEqual(['a', 'm1', 'b']);
    expect(t.byId[id]).toBeUndefined();
    h.socket.stop();
  });

  it('catches up on missed messages, paging back until it meets known history', async () => {
    const h = harness();
    h.socket.start();
    const ws1 = await connect(h);
    useStore.getState().mergePage('r1', [msg('m000', 0)], { newest: true, more: false });
    ws1.drop();
    const missed = Array.from({ length: 120 }, (_, i) => msg(`m${String(i + 1).padStart(3, '0')}`, i + 1));
    h.pages.set('r1', [msg('m000', 0), ...missed]);
    h.tick(1000);
    await connect(h);
    const t = useStore.getState().messages.rooms.r1;
    expect(t.main.length).toBe(121);
    expect(t.main[0]).toBe('m000');
    expect(t.main[120]).toBe('m120');
    expect(t.more).toBe(false);
    h.socket.stop();
  });

  it('refreshes the token before reconnecting after a 4001 close', async () => {
    const h = harness();
    h.socket.start();
    const ws1 = await connect(h);
    ws1.drop(4001);
    await flush();
    expect(h.refresh).toHaveBeenCalledTimes(1);
    h.tick(1000);
    expect(h.sockets.length).toBe(2);
    h.socket.stop();
  });

  it('marks a refused send failed and retries it with the same id', async () => {
    const h = harness();
    h.socket.start();
    const ws = await connect(h);
    const id = h.socket.send({ room: 'r1', body: 'x' });
    ws.frame({ type: 'error', id, code: 'rate_limited', message: 'slow down' });
    expect(useStore.getState().messages.rooms.r1.byId[id]).toMatchObject({ status: 'failed', error: 'rate_limited' });
    h.socket.retry(id);
    expect(useStore.getState().messages.rooms.r1.byId[id].status).toBe('pending');
    expect(ws.of('send').map((f) => f.id)).toEqual([id, id]);
    h.socket.discard(id);
    expect(useStore.getState().messages.rooms.r1.byId[id]).toBeUndefined();
    h.socket.stop();
  });

  it('survives malformed frames and sends typing and read only when ready', async () => {
    const h = harness();
    h.socket.start();
    h.socket.typing('r1', true);
    expect(h.socket.read('r1', 'a')).toBe(false);
    const ws = await connect(h);
    ws.onmessage?.({ data: 'not json' });
    ws.frame({ nope: true });
    h.socket.typing('r1', true);
    expect(h.socket.read('r1', 'a')).toBe(true);
    expect(ws.of('typing')).toEqual([{ type: 'typing', room: 'r1', typing: true }]);
    expect(ws.of('read')).toEqual([{ type: 'read', room: 'r1', upTo: 'a' }]);
    h.socket.stop();
    expect(ws.closedWith).toBe(1000);
    expect(h.socket.pendingIds()).toEqual([]);
  });

  it('probes the node during a long backoff and reconnects soon after it answers', async () => {
    let up = false;
    const probe = vi.fn(async () => up);
    const h = harness({ probe });
    h.socket.start();
    await connect(h);
    // The node goes away: every reconnect fails, and the backoff grows.
    for (let i = 0; i < 6; i++) {
      const n = h.sockets.length;
      h.last().drop();
      while (h.sockets.length === n) {
        h.tick(Math.min(...h.timers.map((t) => t.at)) - h.now.t);
        await flush();
      }
    }
    h.last().drop();
    const retryAt = useStore.getState().connection.retryAt!;
    expect(retryAt - h.now.t).toBeGreaterThan(PROBE_EVERY_MS * 2);
    const before = h.sockets.length;
    // Not back yet: the probe fails and the backoff stands.
    h.tick(PROBE_EVERY_MS);
    await flush();
    expect(probe).toHaveBeenCalled();
    expect(h.sockets.length).toBe(before);
    // Back: the next probe succeeds and the socket reconnects well before retryAt.
    up = true;
    h.tick(PROBE_EVERY_MS);
    await flush();
    await flush();
    h.tick(PROBE_JITTER_MS);
    expect(h.sockets.length).toBe(before + 1);
    expect(h.now.t).toBeLessThan(retryAt - PROBE_EVERY_MS);
    h.socket.stop();
  });

  it('passes every frame to onFrame after applying it', async () => {
    const seen: string[] = [];
    const h = harness({ onFrame: (f) => seen.push(f.type) });
    h.socket.start();
    await connect(h);
    h.last().frame({ type: 'room', room: { id: 'r9', name: 'x', kind: 'group', visibility: 'public', members: ['me@n'], createdBy: 'me@n', createdAt: 1 } });
    expect(seen).toEqual(['ready', 'room']);
    expect(useStore.getState().rooms.byId.r9).toBeDefined();
    h.socket.stop();
  });
});
