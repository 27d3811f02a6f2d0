// app.ts wires the REST client, the socket and the store together, and holds
// the operations that screens call. Screens never touch the socket directly.
import { api, ApiError, describeError } from './rest';
import { Socket, type WSLike } from './socket';
import type { Message, Room, User } from './types';
import { oldestConfirmed, store } from '../store';
import { toggled } from '../store/reactions';

export const socket = new Socket({
  url: () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`,
  create: (url) => new WebSocket(url) as unknown as WSLike,
  token: () => api.accessToken(),
  refresh: () => api.refresh(),
  state: store.get,
  fetchPage: (room, opts) => api.messages(room, opts),
  fetchRooms: () => api.rooms(),
});

let started = false;

api.onSession((s) => {
  const st = store.get();
  if (s) {
    st.signedIn(s.user);
    if (!started) {
      started = true;
      socket.start();
      loadRooms().catch(() => undefined);
    } else {
      socket.reauth(s.accessToken);
    }
  } else {
    started = false;
    socket.stop();
    st.signedOut();
  }
});

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => socket.retryNow());
  window.addEventListener('offline', () => socket.drop('browser offline'));
}

let booting: Promise<void> | null = null;

/** boot restores the session from the refresh cookie, once per page load. */
export function boot(): Promise<void> {
  booting ??= (async () => {
    // A 401 means no session; anything else (node restarting, network) is
    // worth a few more tries before showing the login form.
    for (let attempt = 0; ; attempt++) {
      try {
        await api.refresh();
        return;
      } catch (err) {
        const definite = err instanceof ApiError && err.status < 500;
        if (definite || attempt >= 4) break;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    if (store.get().session.status === 'loading') store.get().signedOut();
  })();
  return booting;
}

export async function loadRooms(): Promise<void> {
  store.get().setRooms(await api.rooms());
}

const userLoads = new Set<string>();

/** ensureUsers fetches the profiles of users we cannot name yet. */
export function ensureUsers(ids: Iterable<string>): void {
  const st = store.get();
  for (const id of ids) {
    if (!id || st.presence.users[id] || userLoads.has(id)) continue;
    userLoads.add(id);
    api
      .user(id)
      .then((u) => store.get().addUsers([u]))
      .catch(() => undefined)
      .finally(() => userLoads.delete(id));
  }
}

const roomLoads = new Map<string, Promise<void>>();

/** openRoom makes a room the active one and loads what it needs. */
export function openRoom(id: string): Promise<void> {
  store.get().setActiveRoom(id);
  let p = roomLoads.get(id);
  if (!p) {
    p = (async () => {
      const st = store.get();
      const tasks: Promise<unknown>[] = [];
      if (!st.messages.rooms[id]?.loaded) {
        tasks.push(
          api.messages(id, { limit: 50 }).then((r) => store.get().mergePage(id, r.messages, { newest: true, more: r.more })),
        );
      }
      tasks.push(api.members(id).then((r) => store.get().addUsers(r.members)));
      tasks.push(api.receipts(id).then((r) => store.get().applyReceipts(id, r)));
      const res = await Promise.allSettled(tasks);
      const failed = res.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed && !store.get().messages.rooms[id]?.loaded) throw failed.reason;
    })().finally(() => roomLoads.delete(id));
    roomLoads.set(id, p);
  }
  return p;
}

export function closeRoom(id: string): void {
  if (store.get().rooms.active === id) store.get().setActiveRoom(null);
}

const olderLoads = new Map<string, Promise<void>>();

/** loadOlder fetches the page of history before the oldest loaded message. */
export function loadOlder(room: string): Promise<void> {
  let p = olderLoads.get(room);
  if (p) return p;
  const t = store.get().messages.rooms[room];
  if (!t?.loaded || !t.more) return Promise.resolve();
  const oldest = oldestConfirmed(t);
  p = api
    .messages(room, { before: oldest?.id, limit: 50 })
    .then((r) => store.get().mergePage(room, r.messages, { more: r.more }))
    .finally(() => olderLoads.delete(room));
  olderLoads.set(room, p);
  return p;
}

export async function loadThread(room: string, root: string): Promise<void> {
  const all: Message[] = [];
  let before: string | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await api.messages(room, { thread: root, before, limit: 200 });
    all.push(...r.messages);
    if (!r.more || r.messages.length === 0) break;
    before = r.messages[r.messages.length - 1].id;
  }
  store.get().mergePage(room, all, { thread: root });
}

export function sendMessage(room: string, body: string, opts: { replyTo?: string; thread?: string } = {}): string {
  return socket.send({ room, body, ...opts });
}

export const retrySend = (clientId: string) => socket.retry(clientId);
export const discardSend = (clientId: string) => socket.discard(clientId);

export async function editMessage(m: Message, body: string): Promise<void> {
  const updated = await api.editMessage(m.room, m.id, body);
  store.get().mergeMessages([updated ?? { ...m, body, editedAt: Date.now() }]);
}

export async function deleteMessage(m: Message): Promise<void> {
  await api.deleteMessage(m.room, m.id);
  store.get().mergeMessages([{ ...m, body: '', deleted: true }]);
}

/** toggleReaction adds or removes the user's reaction, showing it before the node confirms. */
export async function toggleReaction(m: Message, emoji: string): Promise<void> {
  const me = store.get().session.user?.id;
  if (!me) return;
  const { message, on } = toggled(m, emoji, me);
  store.get().mergeMessages([message]);
  try {
    await api.react(m.room, m.id, emoji, on);
  } catch (err) {
    store.get().mergeMessages([m]);
    throw err;
  }
}

const lastRead = new Map<string, string>();

/** markRead tells the node (once per message) that the user saw up to upTo. */
export function markRead(room: string, upTo: string): void {
  if (store.get().messages.rooms[room]?.byId[upTo]?.status) return;
  if (lastRead.get(room) === upTo) return;
  lastRead.set(room, upTo);
  if (!socket.read(room, upTo)) {
    api.markRead(room, upTo).catch(() => lastRead.delete(room));
  }
}

let typingRoom: string | null = null;
let typingSentAt = 0;

/** typing sends typing:true at most every 3 s while the user types, and false when they stop. */
export function setTyping(room: string, typing: boolean): void {
  const now = Date.now();
  if (typing) {
    if (typingRoom === room && now - typingSentAt < 3000) return;
    if (typingRoom && typingRoom !== room) socket.typing(typingRoom, false);
    typingRoom = room;
    typingSentAt = now;
    socket.typing(room, true);
  } else if (typingRoom === room) {
    typingRoom = null;
    typingSentAt = 0;
    socket.typing(room, false);
  }
}

export async function createRoom(name: string, visibility: 'public' | 'private', topic?: string): Promise<Room> {
  const r = await api.createRoom(name, visibility, topic);
  store.get().upsertRoom(r);
  return r;
}

export async function joinRoom(id: string): Promise<Room> {
  const r = await api.joinRoom(id);
  store.get().upsertRoom(r);
  return r;
}

export async function leaveRoom(id: string): Promise<void> {
  await api.leaveRoom(id);
  store.get().removeRoom(id);
}

export async function startDm(user: User): Promise<Room> {
  store.get().addUsers([user]);
  const r = await api.dm(user.id);
  store.get().upsertRoom(r);
  return r;
}

export async function updateProfile(displayName: string): Promise<void> {
  const u = await api.updateMe({ displayName });
  store.get().signedIn(u);
}

export { api, describeError };

// Typing indicators expire on their own; prune them once a second while any exist.
if (typeof window !== 'undefined') {
  setInterval(() => {
    const st = store.get();
    if (Object.values(st.typing.rooms).some((r) => Object.keys(r).length > 0)) st.pruneTyping(Date.now());
  }, 1000);
}
