// The messages slice: one timeline per room, kept sorted, with the user's
// own unconfirmed sends (keyed by clientId) at the end until their ack.
import type { Message } from '../api/types';
import type { FileRef } from '../crypto/content';

export type SendStatus = 'pending' | 'failed';

/**
 * E2eeView is what this device made of an end-to-end encrypted message
 * (src/crypto): read (its plaintext is then in body), or why not.
 */
export interface E2eeView {
  ok: boolean;
  /** why names the reason it cannot be read (src/crypto/utd.ts). */
  why?: string;
  text?: string;
  /** retry: it may become readable by itself (its key is on the way). */
  retry?: boolean;
  /** shield warns about the sender's device ('' or absent: fine). */
  shield?: string;
  shieldText?: string;
}

/** ChatMessage is a Message as the UI holds it: confirmed, or a local send. */
export interface ChatMessage extends Message {
  status?: SendStatus;
  /** why a send failed: the error code of the node's error frame. */
  error?: string;
  e2ee?: E2eeView;
  /**
   * files are the attachments of an end-to-end encrypted message with the
   * keys to their bytes, from inside the ciphertext (src/crypto/content.ts);
   * the clear attachments then name only IDs of ciphertext.
   */
  files?: FileRef[];
}

/**
 * keepPlain carries the plaintext of an encrypted message over when the
 * node sends it again (an ack, a reaction's update, a page of history):
 * the node's copy has an empty body. The view is kept only for the same
 * ciphertext; a new one (an edit) is decrypted again.
 */
export function keepPlain(prev: ChatMessage | undefined, m: ChatMessage): ChatMessage {
  if (!prev || !m.encrypted || m.body || m.files || m.deleted || (!prev.body && !prev.files)) return m;
  const same = prev.encrypted?.ciphertext === m.encrypted.ciphertext;
  return { ...m, body: prev.body, files: prev.files, e2ee: same ? prev.e2ee : undefined };
}

/** applyDecrypted records what the crypto made of a message, if it still has that ciphertext. */
export function applyDecrypted(
  s: MessagesState,
  room: string,
  id: string,
  ciphertext: string,
  body: string,
  view: E2eeView,
  files?: FileRef[],
): MessagesState {
  const t = s.rooms[room];
  const m = t?.byId[id];
  if (!m || m.encrypted?.ciphertext !== ciphertext) return s;
  const f = files?.length ? files : undefined;
  if (m.body === body && JSON.stringify(m.e2ee) === JSON.stringify(view) && JSON.stringify(m.files) === JSON.stringify(f)) return s;
  return { rooms: { ...s.rooms, [room]: { ...t, byId: { ...t.byId, [id]: { ...m, body, e2ee: view, files: f } } } } };
}

export interface Timeline {
  byId: Record<string, ChatMessage>;
  /** ids of messages outside threads, oldest first; local sends last. */
  main: string[];
  /** thread root id → ids of its replies, oldest first. */
  threads: Record<string, string[]>;
  /** the server has older history than main[0]. */
  more: boolean;
  /** the newest page has been fetched at least once. */
  loaded: boolean;
  threadLoaded: Record<string, boolean>;
  /**
   * messages fetched one by one (the original of a reply quote) that are
   * not part of the loaded history: kept apart, so main never has a gap.
   */
  refs: Record<string, Message>;
}

export interface MessagesState {
  rooms: Record<string, Timeline>;
}

export const initialMessages: MessagesState = { rooms: {} };

export function emptyTimeline(): Timeline {
  return { byId: {}, main: [], threads: {}, more: true, loaded: false, threadLoaded: {}, refs: {} };
}

function isLocal(m: ChatMessage): boolean {
  return m.status !== undefined;
}

/** before orders confirmed messages by (ts, id) and puts local sends after them. */
function before(a: ChatMessage, b: ChatMessage): boolean {
  const la = isLocal(a);
  const lb = isLocal(b);
  if (la !== lb) return lb;
  if (a.ts !== b.ts) return a.ts < b.ts;
  return a.id < b.id;
}

function listKey(m: Message): string | null {
  return m.thread ? m.thread : null;
}

function removeId(ids: string[], id: string): string[] {
  const i = ids.indexOf(id);
  if (i < 0) return ids;
  const out = ids.slice();
  out.splice(i, 1);
  return out;
}

/**
 * applyBatch merges messages of one room into its timeline, copying the
 * timeline once per batch (a page of history is one batch), and re-sorting
 * only the lists whose order the batch may have broken.
 */
function applyBatch(t: Timeline, list: ChatMessage[]): { t: Timeline; added: ChatMessage[] } {
  const byId = { ...t.byId };
  const lists = new Map<string | null, string[]>();
  const dirty = new Set<string | null>();
  const removed = new Set<string>();
  const added: ChatMessage[] = [];
  const get = (k: string | null): string[] => {
    let l = lists.get(k);
    if (!l) {
      l = (k === null ? t.main : (t.threads[k] ?? [])).slice();
      lists.set(k, l);
    }
    return l;
  };
  const append = (k: string | null, m: ChatMessage) => {
    const l = get(k);
    const last = l.length ? byId[l[l.length - 1]] : undefined;
    if (last && !before(last, m)) dirty.add(k);
    l.push(m.id);
  };
  for (let m of list) {
    // A confirmed copy of one of our local sends replaces it.
    const cid = m.clientId;
    if (!isLocal(m) && cid && cid !== m.id) {
      const local = byId[cid];
      if (local && isLocal(local)) {
        m = keepPlain(local, m);
        delete byId[cid];
        removed.add(cid);
        get(listKey(local));
        dirty.add(listKey(local));
      }
    }
    const prev = byId[m.id];
    if (prev) {
      // A confirmed message is never downgraded back to a local one.
      if (!isLocal(prev) && isLocal(m)) continue;
      m = keepPlain(prev, m);
      byId[m.id] = m;
      if (isLocal(prev) !== isLocal(m) || prev.ts !== m.ts) {
        get(listKey(m));
        dirty.add(listKey(m));
      }
      continue;
    }
    if (removed.delete(m.id)) {
      // Re-added within the batch: it is still in its list.
      byId[m.id] = m;
      continue;
    }
    byId[m.id] = m;
    const k = listKey(m);
    append(k, m);
    added.push(m);
    if (k && !isLocal(m) && byId[k]) byId[k] = { ...byId[k], threadCount: (byId[k].threadCount ?? 0) + 1 };
  }
  let main = t.main;
  let threads = t.threads;
  for (const [k, l0] of lists) {
    let l = removed.size ? l0.filter((id) => !removed.has(id)) : l0;
    if (dirty.has(k)) l = l.sort((a, b) => (before(byId[a], byId[b]) ? -1 : before(byId[b], byId[a]) ? 1 : 0));
    if (k === null) main = l;
    else threads = { ...threads, [k]: l };
  }
  return { t: { ...t, byId, main, threads }, added };
}

/** upsertMessages merges messages (any order, duplicates allowed) into their rooms. */
export function upsertMessages(
  s: MessagesState,
  msgs: ChatMessage[],
): { state: MessagesState; added: ChatMessage[] } {
  if (msgs.length === 0) return { state: s, added: [] };
  const byRoom = new Map<string, ChatMessage[]>();
  for (const m of msgs) {
    const l = byRoom.get(m.room);
    if (l) l.push(m);
    else byRoom.set(m.room, [m]);
  }
  const rooms = { ...s.rooms };
  const added: ChatMessage[] = [];
  for (const [room, list] of byRoom) {
    // Oldest first keeps appends in order, so most batches need no sort.
    list.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    const r = applyBatch(rooms[room] ?? emptyTimeline(), list);
    rooms[room] = r.t;
    added.push(...r.added);
  }
  return { state: { rooms }, added };
}

/**
 * updateExisting applies new states of messages (an edit, a deletion, a
 * reaction, a thread count) to the copies already held, in a timeline or
 * among the refs. A message not held is ignored: adding it would put an
 * old message into a room's history with a gap before it. It returns s
 * when nothing was held.
 */
export function updateExisting(s: MessagesState, msgs: Message[]): MessagesState {
  let rooms = s.rooms;
  for (const m of msgs) {
    const t = rooms[m.room];
    if (!t) continue;
    const prev = t.byId[m.id];
    if (prev && !isLocal(prev)) {
      rooms = { ...rooms, [m.room]: { ...t, byId: { ...t.byId, [m.id]: keepPlain(prev, { ...m, clientId: m.clientId ?? prev.clientId }) } } };
    } else if (t.refs[m.id]) {
      rooms = { ...rooms, [m.room]: { ...t, refs: { ...t.refs, [m.id]: keepPlain(t.refs[m.id], m) } } };
    }
  }
  return rooms === s.rooms ? s : { rooms };
}

/** addRefs keeps messages fetched one by one, unless the timeline holds them already. */
export function addRefs(s: MessagesState, msgs: Message[]): MessagesState {
  let rooms = s.rooms;
  for (const m of msgs) {
    const t = rooms[m.room] ?? emptyTimeline();
    if (t.byId[m.id]) continue;
    rooms = { ...rooms, [m.room]: { ...t, refs: { ...t.refs, [m.id]: m } } };
  }
  return rooms === s.rooms ? s : { rooms };
}

/** findMessage looks a message up in a room's timeline, then among its refs. */
export function findMessage(t: Timeline | undefined, id: string): ChatMessage | undefined {
  return t ? (t.byId[id] ?? t.refs[id]) : undefined;
}

/** mergePage merges one page of history fetched over REST. */
export function mergePage(
  s: MessagesState,
  room: string,
  msgs: Message[],
  opts: { more?: boolean; newest?: boolean; thread?: string },
): MessagesState {
  const { state } = upsertMessages(s, msgs);
  const t = state.rooms[room] ?? emptyTimeline();
  const next: Timeline = { ...t };
  if (opts.thread) {
    next.threadLoaded = { ...t.threadLoaded, [opts.thread]: true };
  } else {
    if (opts.newest) next.loaded = true;
    if (opts.more !== undefined) next.more = opts.more;
  }
  return { rooms: { ...state.rooms, [room]: next } };
}

export interface PendingSend {
  clientId: string;
  room: string;
  sender: string;
  body: string;
  replyTo?: string;
  thread?: string;
  ts: number;
  /** the files it carries, as shown while it is sent. */
  attachments?: Message['attachments'];
  files?: FileRef[];
  mentions?: string[];
  mentionsRoom?: boolean;
}

export function addPending(s: MessagesState, p: PendingSend): MessagesState {
  const m: ChatMessage = {
    id: p.clientId,
    clientId: p.clientId,
    room: p.room,
    sender: p.sender,
    body: p.body,
    ts: p.ts,
    replyTo: p.replyTo,
    thread: p.thread,
    status: 'pending',
  };
  if (p.attachments?.length) m.attachments = p.attachments;
  if (p.files?.length) m.files = p.files;
  if (p.mentions?.length) m.mentions = p.mentions;
  if (p.mentionsRoom) m.mentionsRoom = true;
  return upsertMessages(s, [m]).state;
}

/** findLocal finds the room of a local send by its clientId. */
export function findLocal(s: MessagesState, clientId: string): ChatMessage | undefined {
  for (const t of Object.values(s.rooms)) {
    const m = t.byId[clientId];
    if (m && isLocal(m)) return m;
  }
  return undefined;
}

/** ack confirms a local send: the stored message replaces the pending one. */
export function ack(s: MessagesState, clientId: string, msg: Message): MessagesState {
  return upsertMessages(s, [{ ...msg, clientId }]).state;
}

function setLocalStatus(s: MessagesState, clientId: string, status: SendStatus, error?: string): MessagesState {
  const m = findLocal(s, clientId);
  if (!m) return s;
  const t = s.rooms[m.room];
  return {
    rooms: { ...s.rooms, [m.room]: { ...t, byId: { ...t.byId, [clientId]: { ...m, status, error } } } },
  };
}

export const failSend = (s: MessagesState, clientId: string, error: string) =>
  setLocalStatus(s, clientId, 'failed', error);
export const retrySend = (s: MessagesState, clientId: string) => setLocalStatus(s, clientId, 'pending');

/** discardSend drops a failed local send. */
export function discardSend(s: MessagesState, clientId: string): MessagesState {
  const m = findLocal(s, clientId);
  if (!m) return s;
  const t = s.rooms[m.room];
  const byId = { ...t.byId };
  delete byId[clientId];
  const k = listKey(m);
  return {
    rooms: {
      ...s.rooms,
      [m.room]: {
        ...t,
        byId,
        main: k ? t.main : removeId(t.main, clientId),
        threads: k ? { ...t.threads, [k]: removeId(t.threads[k] ?? [], clientId) } : t.threads,
      },
    },
  };
}

/** newestConfirmed is the id of the room's newest stored message outside threads. */
export function newestConfirmed(t: Timeline | undefined): ChatMessage | undefined {
  if (!t) return undefined;
  for (let i = t.main.length - 1; i >= 0; i--) {
    const m = t.byId[t.main[i]];
    if (!isLocal(m)) return m;
  }
  return undefined;
}

/** oldestConfirmed is the cursor for the next page of older history. */
export function oldestConfirmed(t: Timeline | undefined): ChatMessage | undefined {
  if (!t) return undefined;
  for (const id of t.main) {
    const m = t.byId[id];
    if (!isLocal(m)) return m;
  }
  return undefined;
}
