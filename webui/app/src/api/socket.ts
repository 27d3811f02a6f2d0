// socket.ts keeps one WebSocket to the node, outside React. It authenticates
// first, reconnects with exponential backoff and full jitter, catches up on
// missed messages over REST after a reconnect, and resends the sends that
// were never acknowledged with their original clientId (after first checking
// the caught-up history for them), so a flaky link never duplicates a message.
// Every server frame reaches the UI through the store's actions.
import type { AttachmentRef, ClientFrame, Encrypted, Media, Message, Room, SendFrame, ServerFrame } from './types';
import type { FileRef } from '../crypto/content';
import type { AppState } from '../store';

/** The subset of the browser WebSocket that Socket uses (tests pass a fake). */
export interface WSLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface SocketDeps {
  url: () => string;
  create: (url: string) => WSLike;
  token: () => string | null;
  refresh: () => Promise<unknown>;
  state: () => AppState;
  fetchPage: (room: string, opts: { before?: string; limit?: number }) => Promise<{ messages: Message[]; more: boolean }>;
  fetchRooms: () => Promise<Room[]>;
  /**
   * probe asks cheaply whether the node answers again (GET /readyz). While
   * a long backoff runs it is tried every PROBE_EVERY_MS, so a node that is
   * back is used within seconds rather than at the end of the backoff.
   */
  probe?: () => Promise<boolean>;
  /** onFrame sees every server frame after the store applied it. */
  onFrame?: (f: ServerFrame) => void;
  /**
   * deviceFrame takes the frames of the connection's device (todevice,
   * device_lists, key_counts: API.md §7) and reports whether it consumed
   * them; they never reach the store.
   */
  deviceFrame?: (f: ServerFrame) => boolean;
  /**
   * encrypt returns the encrypted content of a send in an end-to-end
   * encrypted room, or null when the room is not encrypted.
   */
  encrypt?: (room: string, body: string, rel: { replyTo?: string; thread?: string }, files?: FileRef[]) => Promise<Encrypted> | null;
  now?: () => number;
  random?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (t: unknown) => void;
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (t: unknown) => void;
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
export const PING_EVERY_MS = 20_000;
export const DEAD_AFTER_MS = 50_000;
export const PROBE_EVERY_MS = 3_000;
/** after a successful probe, connect within this spread, so tabs do not stampede a node that just came back. */
export const PROBE_JITTER_MS = 1_000;
const CATCHUP_PAGE = 50;
const CATCHUP_MAX_PAGES = 10;

/** backoff is the delay before attempt n (0-based): exponential, capped, with jitter in [50%, 100%]. */
export function backoff(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

/** newClientId makes a send id; crypto.randomUUID is missing outside secure contexts. */
export function newClientId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return 'c' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const OPEN = 1;

/** OutgoingSend is a message to post. */
export interface OutgoingSend {
  room: string;
  body: string;
  replyTo?: string;
  thread?: string;
  /** uploaded files; in an encrypted room only their IDs are sent in the clear. */
  attachments?: Media[];
  /** the encrypted files' keys (encrypted rooms only), sent inside the ciphertext. */
  files?: FileRef[];
  /** explicit mentions (API.md §9); in the clear in an encrypted room too, so the node can count and notify. */
  mentions?: string[];
  mentionsRoom?: boolean;
}

/** attachmentRef is what a send frame names of a file: its ID, and its name unless it is ciphertext. */
export function attachmentRef(m: Media): AttachmentRef {
  return m.name ? { id: m.id, name: m.name } : { id: m.id };
}

export class Socket {
  private ws: WSLike | null = null;
  private isReady = false;
  private stopped = true;
  private retryTimer: unknown = null;
  private retryAt = 0;
  private probeTimer: unknown = null;
  private pingTimer: unknown = null;
  private lastFrameAt = 0;
  /** sends not yet acknowledged, in the order they were made. */
  private readonly outbox = new Map<string, SendFrame>();
  private readonly d: Required<SocketDeps>;

  constructor(deps: SocketDeps) {
    this.d = {
      probe: async () => false,
      onFrame: () => undefined,
      deviceFrame: () => false,
      encrypt: () => null,
      now: Date.now,
      random: Math.random,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (t) => clearInterval(t as ReturnType<typeof setInterval>),
      ...deps,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    this.pingTimer = this.d.setInterval(() => this.keepalive(), PING_EVERY_MS);
  }

  /** stop closes the connection for good (logout); unsent messages are forgotten. */
  stop(): void {
    this.stopped = true;
    this.isReady = false;
    if (this.retryTimer) this.d.clearTimeout(this.retryTimer);
    if (this.pingTimer) this.d.clearInterval(this.pingTimer);
    this.stopProbing();
    this.retryTimer = this.pingTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
      ws.close(1000, 'logout');
    }
    this.outbox.clear();
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** pendingIds lists unacknowledged sends (for tests and diagnostics). */
  pendingIds(): string[] {
    return [...this.outbox.keys()];
  }

  /** retryNow skips the backoff wait (the banner's button, the browser's online event). */
  retryNow(): void {
    if (this.stopped || this.isReady || (this.ws && !this.retryTimer)) return;
    if (this.retryTimer) this.d.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopProbing();
    this.connect();
  }

  /** drop treats the connection as dead now (the browser's offline event, a silent peer). */
  drop(reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
    try {
      ws.close(4000, reason);
    } catch {
      /* already closed */
    }
    this.closed(ws, 1006, reason);
  }

  private connect(): void {
    this.retryTimer = null;
    this.stopProbing();
    const st = this.d.state();
    st.connecting();
    let ws: WSLike;
    try {
      ws = this.d.create(this.d.url());
    } catch (err) {
      this.ws = null;
      this.scheduleRetry(String(err));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const token = this.d.token();
      if (!token) {
        ws.close(4001, 'no token');
        return;
      }
      this.lastFrameAt = this.d.now();
      ws.send(JSON.stringify({ type: 'auth', token } satisfies ClientFrame));
    };
    ws.onmessage = (ev) => {
      this.lastFrameAt = this.d.now();
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data));
      } catch {
        return; // not ours to crash on: the node sends JSON objects only
      }
      if (f && typeof f === 'object' && typeof f.type === 'string') this.handle(f);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    ws.onclose = (ev) => this.closed(ws, ev.code, ev.reason);
  }

  private closed(ws: WSLike, code: number, reason?: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.isReady = false;
    if (this.stopped) return;
    if (code === 4001) {
      // The token expired or was refused: get a fresh one before retrying.
      this.d
        .refresh()
        // If the session is gone the app stops the socket and this is a no-op;
        // if the node was merely unreachable, keep trying.
        .then(
          () => this.scheduleRetry('session expired'),
          () => this.scheduleRetry('session refresh failed'),
        );
      return;
    }
    this.scheduleRetry(reason || `closed (${code})`);
  }

  private scheduleRetry(error: string): void {
    if (this.stopped) return;
    const attempt = this.d.state().connection.attempt;
    const delay = backoff(attempt, this.d.random);
    this.d.state().dropped(this.d.now() + delay, error);
    if (this.retryTimer) this.d.clearTimeout(this.retryTimer);
    this.retryTimer = this.d.setTimeout(() => this.connect(), delay);
    this.retryAt = this.d.now() + delay;
    this.scheduleProbe();
  }

  /** scheduleProbe tries the node again before the backoff ends, if there is time for it. */
  private scheduleProbe(): void {
    this.stopProbing();
    if (this.retryAt - this.d.now() <= PROBE_EVERY_MS + PROBE_JITTER_MS) return;
    this.probeTimer = this.d.setTimeout(() => {
      this.probeTimer = null;
      this.d
        .probe()
        .catch(() => false)
        .then((up) => {
          // Only while the same backoff still runs.
          if (this.stopped || !this.retryTimer || this.ws) return;
          if (!up) {
            this.scheduleProbe();
            return;
          }
          this.d.clearTimeout(this.retryTimer);
          const delay = Math.round(this.d.random() * PROBE_JITTER_MS);
          this.retryAt = this.d.now() + delay;
          this.retryTimer = this.d.setTimeout(() => this.connect(), delay);
        });
    }, PROBE_EVERY_MS);
  }

  private stopProbing(): void {
    if (this.probeTimer) this.d.clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  private keepalive(): void {
    if (!this.ws || !this.isReady) return;
    if (this.d.now() - this.lastFrameAt > DEAD_AFTER_MS) {
      this.drop('no answer from node');
      return;
    }
    this.raw({ type: 'ping' });
  }

  private raw(f: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(f));
      return true;
    } catch {
      return false;
    }
  }

  private handle(f: ServerFrame): void {
    this.apply(f);
    this.d.onFrame(f);
  }

  private apply(f: ServerFrame): void {
    const st = this.d.state();
    switch (f.type) {
      case 'ready': {
        this.isReady = true;
        st.applyFrame(f);
        const ws = this.ws;
        this.catchUp()
          .catch(() => undefined)
          .then(() => {
            if (this.ws === ws && this.isReady) this.flush();
          });
        return;
      }
      case 'ack':
        this.outbox.delete(f.id);
        st.applyFrame(f);
        return;
      case 'error':
        // A refused send is marked failed; the user may retry it.
        if (f.id) this.outbox.delete(f.id);
        st.applyFrame(f);
        return;
      default:
        if (this.d.deviceFrame(f)) return;
        st.applyFrame(f);
    }
  }

  /** frame sends a frame outside the send path (the device's todevice_ack); false when the socket is down. */
  frame(f: ClientFrame): boolean {
    return this.isReady && this.raw(f);
  }

  /**
   * catchUp merges the newest history of every room the UI has loaded (and
   * of rooms with unacknowledged sends), paging back until it meets a
   * message it already had, fetches the room list again, then settles
   * sends that the node stored before the link broke.
   */
  private async catchUp(): Promise<void> {
    const st = this.d.state();
    const rooms = new Set<string>();
    for (const [id, t] of Object.entries(st.messages.rooms)) if (t.loaded) rooms.add(id);
    for (const f of this.outbox.values()) rooms.add(f.room);
    const jobs: Promise<unknown>[] = [...rooms].map((room) => this.catchUpRoom(room));
    // The room list is fetched again on every ready, the first one too: the
    // list the app loads at sign-in may answer before the socket is
    // subscribed, and a room that arrives between the two (a DM someone
    // opens with us that moment) would otherwise be missing until a reload.
    const since = st.rooms.seq;
    jobs.push(this.d.fetchRooms().then((list) => this.d.state().setRooms(list, since)));
    await Promise.allSettled(jobs);
    // Sends that reached the node before the drop are in the history now.
    const now = this.d.state();
    for (const [id, f] of [...this.outbox]) {
      const t = now.messages.rooms[f.room];
      if (!t) continue;
      const stored = Object.values(t.byId).find((m) => m.clientId === id && !m.status);
      if (stored) {
        this.outbox.delete(id);
        now.applyFrame({ type: 'ack', id, message: stored });
      }
    }
  }

  private async catchUpRoom(room: string): Promise<void> {
    const known = this.d.state().messages.rooms[room];
    const wasLoaded = !!known?.loaded;
    let before: string | undefined;
    for (let page = 0; page < CATCHUP_MAX_PAGES; page++) {
      const res = await this.d.fetchPage(room, { before, limit: CATCHUP_PAGE });
      const overlap = res.messages.some((m) => known?.byId[m.id] && !known.byId[m.id].status);
      const opts = wasLoaded ? { newest: true } : { newest: page === 0, more: res.more };
      this.d.state().mergePage(room, res.messages, opts);
      if (overlap || !res.more || res.messages.length === 0 || !wasLoaded) return;
      before = res.messages[res.messages.length - 1].id;
    }
  }

  private flush(): void {
    for (const f of this.outbox.values()) if (!this.raw(f)) return;
  }

  /**
   * send posts a message: it shows at once as pending and goes out now or
   * on reconnect. attachments are uploaded files (API.md §6); in an
   * end-to-end encrypted room files carries their keys, which travel inside
   * the ciphertext while the clear attachments name only the IDs.
   */
  send(p: OutgoingSend): string {
    const st = this.d.state();
    const clientId = newClientId();
    const me = st.session.user?.id ?? '';
    st.addPending({
      clientId,
      room: p.room,
      sender: me,
      body: p.body,
      replyTo: p.replyTo,
      thread: p.thread,
      ts: this.d.now(),
      attachments: p.attachments,
      files: p.files,
      mentions: p.mentions,
      mentionsRoom: p.mentionsRoom,
    });
    this.queue(clientId, p);
    return clientId;
  }

  /**
   * queue puts a send in the outbox, once encrypted when its room is
   * end-to-end encrypted (the ciphertext is made once: a resend after a
   * reconnect sends the same one, which the node recognises by clientId).
   */
  private queue(clientId: string, p: OutgoingSend): void {
    const f: SendFrame = { type: 'send', id: clientId, room: p.room, body: p.body };
    if (p.replyTo) f.replyTo = p.replyTo;
    if (p.thread) f.thread = p.thread;
    if (p.attachments?.length) f.attachments = p.attachments.map(attachmentRef);
    if (p.mentions?.length) f.mentions = p.mentions;
    if (p.mentionsRoom) f.mentionsRoom = true;
    const enc = this.d.encrypt(p.room, p.body, { replyTo: p.replyTo, thread: p.thread }, p.files?.length ? p.files : undefined);
    if (!enc) {
      this.outbox.set(clientId, f);
      if (this.isReady) this.raw(f);
      return;
    }
    delete f.body;
    enc.then(
      (encrypted) => {
        if (this.stopped) return;
        f.encrypted = encrypted;
        this.outbox.set(clientId, f);
        if (this.isReady) this.raw(f);
      },
      (err) => this.d.state().failSend(clientId, `Could not encrypt: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** retry resends a failed message with its original clientId. */
  retry(clientId: string): void {
    const st = this.d.state();
    const m = Object.values(st.messages.rooms)
      .map((t) => t.byId[clientId])
      .find((x) => x?.status);
    if (!m) return;
    st.retrySend(clientId);
    this.queue(clientId, m);
  }

  /** discard forgets a failed or queued message. */
  discard(clientId: string): void {
    this.outbox.delete(clientId);
    this.d.state().discardSend(clientId);
  }

  typing(room: string, typing: boolean): void {
    if (this.isReady) this.raw({ type: 'typing', room, typing });
  }

  /** read sends a read marker; it reports whether the frame went out. */
  read(room: string, upTo: string): boolean {
    return this.isReady && this.raw({ type: 'read', room, upTo });
  }

  /** reauth hands a refreshed access token to the open connection. */
  reauth(token: string): void {
    if (this.isReady) this.raw({ type: 'auth', token });
  }
}
