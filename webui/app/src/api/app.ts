// app.ts wires the REST client, the socket and the store together, and holds
// the operations that screens call. Screens never touch the socket directly.
import { api, ApiError } from './rest';
import { describeError } from './errors';
import { Socket, type WSLike } from './socket';
import type { Media, Message, Room, ServerFrame, User } from './types';
import { firstUnread, newestEventTs, oldestConfirmed, store } from '../store';
import { toggled } from '../store/reactions';
import { deviceFrame, encryptFor, initCrypto, stopCrypto } from '../crypto/browser';
import type { FileRef } from '../crypto/content';
import { uploadFile } from './upload';
import { imageDimensions } from '../components/media';
import { desktopNotify, loadNotifySettings, wireNotifications } from './notify';

export const socket = new Socket({
  url: () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`,
  create: (url) => new WebSocket(url) as unknown as WSLike,
  token: () => api.accessToken(),
  refresh: () => api.refresh(),
  state: store.get,
  fetchPage: (room, opts) => api.messages(room, opts),
  fetchRooms: () => api.rooms(),
  probe: () => fetch('/readyz', { cache: 'no-store' }).then((r) => r.ok),
  onFrame: (f) => afterFrame(f),
  deviceFrame,
  encrypt: encryptFor,
});
initCrypto((f) => socket.frame(f));

// SIGNED_IN remembers (in this browser) that a session exists, so a fresh
// load of the login page does not spend a refresh request that can only
// answer 401. The refresh token itself stays in its HttpOnly cookie.
const SIGNED_IN = 'hearth-signed-in';

function rememberSession(on: boolean): void {
  try {
    if (on) localStorage.setItem(SIGNED_IN, '1');
    else localStorage.removeItem(SIGNED_IN);
  } catch {
    /* storage disabled: every load tries the cookie */
  }
}

/** mayHaveSession reports whether this browser signed in and did not log out since. */
export function mayHaveSession(): boolean {
  try {
    return localStorage.getItem(SIGNED_IN) !== null;
  } catch {
    return true;
  }
}

let started = false;
const signedInHooks: (() => void)[] = [];

/** onSignedIn runs fn each time a session starts (login, sign-up, a restored session). */
export function onSignedIn(fn: () => void): void {
  signedInHooks.push(fn);
}

wireNotifications();
onSignedIn(() => {
  loadNotifySettings().catch(() => undefined);
});

// The media cookie (docs/api.md) lets <img>/<video> loads of
// /api/v1/media authenticate; it lives as long as the access token, so it
// is renewed with every new token. mediaCookie is the latest request, for
// an image that failed to load to wait on before trying again.
let mediaCookie: Promise<void> = Promise.resolve();

function renewMediaCookie(): Promise<void> {
  mediaCookie = api.mediaCookie().catch(() => undefined);
  return mediaCookie;
}

/**
 * mediaRetry is called by an image or player that failed to load: when
 * the cookie may have been missing or expired (a load that raced the
 * sign-in, a machine that slept), it renews it; the caller then tries once
 * more. The promise resolves when it may.
 */
export function mediaRetry(): Promise<void> {
  if (!api.accessToken()) return Promise.resolve();
  return renewMediaCookie();
}

api.onSession((s) => {
  const st = store.get();
  rememberSession(!!s);
  if (s) void renewMediaCookie();
  if (s) {
    st.signedIn(s.user);
    if (!started) {
      started = true;
      for (const h of signedInHooks) h();
      socket.start();
      loadRooms().catch(() => undefined);
    } else {
      socket.reauth(s.accessToken);
    }
  } else {
    started = false;
    socket.stop();
    stopCrypto();
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
    if (!mayHaveSession()) {
      store.get().signedOut();
      return;
    }
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
  // Frames that arrive while the list is on its way are newer than it.
  const since = store.get().rooms.seq;
  store.get().setRooms(await api.rooms(), since);
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

/** how far back openRoom pages to find the read marker, and revealMessage to find a message. */
const LANDING_PAGES = 5;
const REVEAL_PAGES = 40;

/**
 * openRoom makes a room the active one and loads what it needs: the newest
 * page of messages (when it may read them), members, read markers and the
 * timeline events of the loaded span. Once they are in, it decides where the
 * timeline lands: on the first message after the user's read marker when
 * there were unread messages, under a "New messages" line.
 */
export function openRoom(id: string, opts: { canRead: boolean } = { canRead: true }): Promise<void> {
  const st0 = store.get();
  const unreadBefore = st0.rooms.byId[id]?.unread ?? 0;
  st0.setActiveRoom(id);
  st0.enterRoom(id);
  if (!opts.canRead) return Promise.resolve();
  let p = roomLoads.get(id);
  if (!p) {
    p = (async () => {
      const st = store.get();
      const tasks: Promise<unknown>[] = [];
      const loadedBefore = !!st.messages.rooms[id]?.loaded;
      if (!loadedBefore) {
        tasks.push(
          api.messages(id, { limit: 50 }).then((r) => store.get().mergePage(id, r.messages, { newest: true, more: r.more })),
        );
      }
      tasks.push(api.members(id).then((r) => store.get().addUsers(r.members)));
      tasks.push(api.receipts(id).then((r) => store.get().applyReceipts(id, r)));
      const res = await Promise.allSettled(tasks);
      const failed = res.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed && !store.get().messages.rooms[id]?.loaded) throw failed.reason;
      await refreshTimeline(id).catch(() => undefined);
      store.get().land(id, unreadBefore > 0 ? await findLanding(id) : null);
    })().finally(() => roomLoads.delete(id));
    roomLoads.set(id, p);
  }
  return p;
}

/** findLanding pages back (a little) to the user's read marker and returns the first unread message after it. */
async function findLanding(room: string): Promise<string | null> {
  for (let page = 0; ; page++) {
    const st = store.get();
    const t = st.messages.rooms[room];
    const me = st.session.user?.id;
    const marker = me ? st.receipts.rooms[room]?.[me]?.read : undefined;
    if (!t || !marker) return null;
    if (t.byId[marker]) return firstUnread(t.main, t.byId, marker, me);
    if (!t.more || page >= LANDING_PAGES) {
      // The marker is further back than we care to load: everything loaded is new.
      const first = t.main.find((mid) => !t.byId[mid].status && t.byId[mid].sender !== me);
      return first ?? null;
    }
    await loadOlder(room);
  }
}

export function closeRoom(id: string): void {
  if (store.get().rooms.active === id) store.get().setActiveRoom(null);
}

const olderLoads = new Map<string, Promise<void>>();

/** loadOlder fetches the page of history before the oldest loaded message, and the timeline events in its span. */
export function loadOlder(room: string): Promise<void> {
  let p = olderLoads.get(room);
  if (p) return p;
  const t = store.get().messages.rooms[room];
  if (!t?.loaded || !t.more) return Promise.resolve();
  const oldest = oldestConfirmed(t);
  p = api
    .messages(room, { before: oldest?.id, limit: 50 })
    .then(async (r) => {
      const until = oldest?.ts;
      const since = r.more ? r.messages[r.messages.length - 1]?.ts : 0;
      // Events first, so the page and its lines appear together.
      if (until !== undefined) {
        await api
          .timeline(room, { since, until })
          .then((e) => store.get().mergeEvents(room, e.events))
          .catch(() => undefined);
      }
      store.get().mergePage(room, r.messages, { more: r.more });
    })
    .finally(() => olderLoads.delete(room));
  olderLoads.set(room, p);
  return p;
}

/**
 * refreshTimeline fetches the timeline events of a room from the oldest
 * loaded message on (all of them once the room's first message is loaded),
 * or only those newer than the newest one held.
 */
export async function refreshTimeline(room: string): Promise<void> {
  const st = store.get();
  const t = st.messages.rooms[room];
  if (!t?.loaded) return;
  const newest = newestEventTs(st.events, room);
  const since = newest || (t.more ? (oldestConfirmed(t)?.ts ?? 0) : 0);
  const r = await api.timeline(room, { since });
  store.get().mergeEvents(room, r.events);
}

const timelineTimers = new Map<string, ReturnType<typeof setTimeout>>();

/**
 * afterFrame reacts to frames beyond what the store does: a changed room or
 * membership in the room on screen brings its new timeline events (the
 * quiet lines), coalesced per room. Rooms not on screen catch up when
 * opened, so a busy room costs only the people looking at it.
 */
function afterFrame(f: ServerFrame): void {
  if (f.type === 'message' && typeof document !== 'undefined') {
    desktopNotify(f, document.visibilityState === 'hidden', Date.now()).catch(() => undefined);
  }
  const room = f.type === 'room' ? f.room.id : f.type === 'member' ? f.room : null;
  if (!room || store.get().rooms.active !== room || timelineTimers.has(room)) return;
  timelineTimers.set(
    room,
    setTimeout(() => {
      timelineTimers.delete(room);
      refreshTimeline(room).catch(() => undefined);
    }, 300),
  );
}

/**
 * revealMessage brings a message into view and highlights it (a clicked
 * reply quote), paging back through history until it is loaded. A thread
 * reply is not in the timeline: the answer names its thread to open.
 */
export async function revealMessage(room: string, id: string): Promise<'shown' | 'missing' | { thread: string }> {
  let t = store.get().messages.rooms[room];
  if (!t?.byId[id]) {
    const m = t?.refs[id] ?? (await api.message(room, id).catch(() => null));
    if (!m) return 'missing';
    if (m.thread) return { thread: m.thread };
  } else if (t.byId[id].thread) {
    return { thread: t.byId[id].thread! };
  }
  for (let page = 0; page < REVEAL_PAGES; page++) {
    t = store.get().messages.rooms[room];
    if (t?.byId[id]) {
      store.get().focusMessage(room, id, true);
      return 'shown';
    }
    if (!t?.more) break;
    await loadOlder(room);
  }
  return 'missing';
}

const refLoads = new Set<string>();

/** ensureRef fetches a message that a reply quotes when it is not loaded, so the quote can show it. */
export function ensureRef(room: string, id: string): void {
  const t = store.get().messages.rooms[room];
  if (!id || t?.byId[id] || t?.refs[id] || refLoads.has(id)) return;
  refLoads.add(id);
  api
    .message(room, id)
    .then((m) => store.get().addRefs([m]))
    .catch(() => undefined)
    .finally(() => refLoads.delete(id));
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

export function sendMessage(
  room: string,
  body: string,
  opts: { replyTo?: string; thread?: string; attachments?: Media[]; files?: FileRef[]; mentions?: string[]; mentionsRoom?: boolean } = {},
): string {
  return socket.send({ room, body, ...opts });
}

/** Uploaded is a file ready to attach to a message. */
export interface Uploaded {
  /** what the message attaches (in an encrypted room: the ciphertext's Media, without a name). */
  media: Media;
  /** in an encrypted room, the key and the real type, size and name (sent inside the ciphertext). */
  file?: FileRef;
}

/**
 * uploadAttachment uploads a file for a message in room. In an end-to-end
 * encrypted room the file is encrypted first (Matrix encrypted
 * attachments, src/crypto/attachments.ts) and uploaded without its name,
 * so the node only ever holds ciphertext; its name, type and size travel
 * with the key inside the encrypted message.
 */
export async function uploadAttachment(
  room: string,
  file: File,
  opts: { onProgress?(f: number): void; signal?: AbortSignal } = {},
): Promise<Uploaded> {
  if (!store.get().rooms.byId[room]?.encrypted) {
    return { media: await uploadFile(file, { name: file.name || undefined, ...opts }) };
  }
  const { encryptAttachment } = await import('../crypto/attachments');
  const [plain, dims] = await Promise.all([file.arrayBuffer(), imageDimensions(file)]);
  const { ciphertext, info } = await encryptAttachment(new Uint8Array(plain));
  const media = await uploadFile(new Blob([ciphertext as BlobPart], { type: 'application/octet-stream' }), opts);
  const inner: FileRef['media'] = { id: media.id, type: file.type || 'application/octet-stream', size: file.size };
  if (file.name) inner.name = file.name;
  if (dims) Object.assign(inner, dims);
  return { media: { id: media.id, type: media.type, size: media.size }, file: { media: inner, file: { ...info, url: media.id } } };
}

export const retrySend = (clientId: string) => socket.retry(clientId);
export const discardSend = (clientId: string) => socket.discard(clientId);

export async function editMessage(m: Message, body: string): Promise<void> {
  // In an end-to-end encrypted room the new text is encrypted like a
  // message, naming the message it edits inside the ciphertext.
  // The edit's ciphertext replaces the message's, so it carries the files too.
  const enc = encryptFor(m.room, body, { replyTo: m.replyTo, thread: m.thread, edits: m.id }, (m as { files?: FileRef[] }).files);
  const updated = await api.editMessage(m.room, m.id, enc ? { encrypted: await enc } : body);
  store.get().mergeMessages([updated ? { ...updated, body } : { ...m, body, editedAt: Date.now() }]);
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

/** declineInvite turns an invitation down (the node treats it as leaving). */
export const declineInvite = leaveRoom;

export async function updateRoom(id: string, patch: { name?: string; topic?: string }): Promise<Room> {
  const r = await api.updateRoom(id, patch);
  store.get().upsertRoom(r);
  refreshTimeline(id).catch(() => undefined);
  return r;
}

export async function startDm(user: User): Promise<Room> {
  store.get().addUsers([user]);
  const r = await api.dm(user.id);
  store.get().upsertRoom(r);
  return r;
}

/** setAvatar uploads a picture and makes it the user's avatar; null removes it. */
export async function setAvatar(file: File | null, onProgress?: (f: number) => void): Promise<void> {
  let id = '';
  if (file) id = (await uploadFile(file, { name: file.name || undefined, onProgress })).id;
  const u = await api.updateMe({ avatar: id });
  // addUsers merges: an absent avatar must overwrite the old one.
  store.get().signedIn({ ...u, avatar: u.avatar ?? '' });
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
