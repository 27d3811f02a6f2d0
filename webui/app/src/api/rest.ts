// rest.ts is the one place that talks HTTP to the node. It keeps the access
// token in memory only (the refresh token lives in the HttpOnly cookie
// hearth_refresh), refreshes it silently a minute before it expires, and
// retries a request once after a 401 with a fresh token.
import type {
  Encrypted,
  Message,
  NodeInfo,
  NotifyLevel,
  NotifySettings,
  PushSubscriptionView,
  Receipt,
  Role,
  Room,
  RoomNotify,
  Session,
  TimelineEvent,
  User,
} from './types';

const BASE = '/api/v1';

/** ApiError is a non-2xx answer, carrying the contract's error code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter?: number;
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

type SessionListener = (s: Session | null) => void;

export interface ApiOptions {
  fetch?: typeof fetch;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export class Api {
  private token: string | null = null;
  private device: string | null = null;
  private expiresAt = 0;
  private timer: unknown = null;
  private refreshing: Promise<Session> | null = null;
  private listeners = new Set<SessionListener>();
  private readonly f: typeof fetch;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (t: unknown) => void;

  constructor(opts: ApiOptions = {}) {
    this.f = opts.fetch ?? ((...a) => fetch(...a));
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  }

  /** onSession registers a listener for new sessions (login, refresh) and logout (null). */
  onSession(fn: SessionListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  accessToken(): string | null {
    return this.token;
  }

  /** deviceId is the session's device (API.md §7), or null when signed out. */
  deviceId(): string | null {
    return this.token ? this.device : null;
  }

  private setSession(s: Session | null) {
    if (this.timer) this.clearTimer(this.timer);
    this.timer = null;
    if (s) {
      this.token = s.accessToken;
      this.device = s.deviceId ?? null;
      const ttl = Math.max(1, s.expiresIn) * 1000;
      this.expiresAt = this.now() + ttl;
      // Refresh a minute early (or at 80% of short lifetimes).
      const lead = Math.min(60_000, ttl * 0.2);
      this.timer = this.setTimer(() => {
        this.refresh().catch(() => {
          /* a failed silent refresh is reported through onSession(null) */
        });
      }, ttl - lead);
    } else {
      this.token = null;
      this.expiresAt = 0;
    }
    for (const l of this.listeners) l(s);
  }

  /**
   * refresh spends the refresh cookie for a new session. Concurrent callers
   * share one request: the refresh token is single-use, and spending it twice
   * would revoke the whole session.
   */
  refresh(): Promise<Session> {
    if (!this.refreshing) {
      const run = async () => {
        try {
          const s = await this.raw<Session>('POST', '/auth/refresh', {}, false);
          this.setSession(s);
          return s;
        } catch (err) {
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
            this.setSession(null);
          }
          throw err;
        }
      };
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      // Serialise across tabs too: they share the cookie.
      const p = locks ? locks.request('hearth-refresh', run) : run();
      this.refreshing = p.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async raw<T>(method: string, path: string, body: unknown, auth: boolean): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    const res = await this.f(BASE + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (!res.ok) {
      const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      const ra = Number(res.headers.get('Retry-After'));
      throw new ApiError(
        res.status,
        e?.code ?? (res.status >= 500 ? 'internal' : 'http_' + res.status),
        e?.message ?? `${res.status} ${res.statusText || 'error'}`,
        Number.isFinite(ra) && ra > 0 ? ra : undefined,
      );
    }
    return data as T;
  }

  /** request makes an authenticated call, refreshing the token once on 401. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (this.token && this.expiresAt && this.now() > this.expiresAt - 5_000) {
      await this.refresh().catch(() => undefined);
    }
    try {
      return await this.raw<T>(method, path, body, true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && this.token) {
        await this.refresh();
        return this.raw<T>(method, path, body, true);
      }
      throw err;
    }
  }

  // Accounts and sessions.
  // A browser keeps its device across logins (API.md §7): its keys live in
  // this browser's IndexedDB under the device's name. token is an invite
  // token, for nodes whose sign-up needs one.
  async register(username: string, password: string, displayName?: string, token?: string): Promise<Session> {
    const deviceId = rememberedDevice(username);
    const s = await this.raw<Session>(
      'POST',
      '/auth/register',
      { username, password, displayName: displayName || undefined, deviceId, token: token || undefined },
      false,
    );
    rememberDevice(username, s.deviceId);
    this.setSession(s);
    return s;
  }
  async login(username: string, password: string): Promise<Session> {
    const deviceId = rememberedDevice(username);
    const s = await this.raw<Session>('POST', '/auth/login', { username, password, deviceId }, false);
    rememberDevice(username, s.deviceId);
    this.setSession(s);
    return s;
  }
  private logoutHooks: (() => Promise<void>)[] = [];
  /** beforeLogout runs fn (bounded to 3 s) while the session still works, before each logout. */
  beforeLogout(fn: () => Promise<void>): void {
    this.logoutHooks.push(fn);
  }
  async logout(): Promise<void> {
    try {
      if (this.token) {
        const hooks = this.logoutHooks.map((h) => h().catch(() => undefined));
        await Promise.race([Promise.all(hooks), new Promise((r) => setTimeout(r, 3000))]);
      }
      if (this.token) await this.raw<void>('POST', '/auth/logout', undefined, true);
    } finally {
      this.setSession(null);
    }
  }
  me = () => this.request<User>('GET', '/me');
  updateMe = (patch: { displayName?: string; avatar?: string; password?: { old: string; new: string } }) =>
    this.request<User>('PATCH', '/me', patch);

  /**
   * mediaCookie asks the node for the media cookie that lets <img> and
   * <video> loads of /api/v1/media authenticate (docs/api.md, "the media
   * cookie"); it lives as long as the access token, so it is renewed on
   * every sign-in and refresh.
   */
  mediaCookie = () => this.raw<void>('POST', '/media/cookie', undefined, true);

  // Node.
  node = () => this.raw<NodeInfo>('GET', '/node', undefined, false);

  // Users.
  searchUsers = (q: string) =>
    this.request<{ users: User[] }>('GET', `/users?q=${encodeURIComponent(q)}`).then((r) => r.users ?? []);
  user = (id: string) => this.request<User>('GET', `/users/${encodeURIComponent(id)}`);

  // Rooms.
  rooms = () => this.request<{ rooms: Room[] }>('GET', '/rooms').then((r) => r.rooms ?? []);
  /** publicRooms fetches one page of the directory; next asks for the following one. */
  publicRooms = (opts: { q?: string; after?: string; limit?: number } = {}) => {
    const q = new URLSearchParams();
    if (opts.q) q.set('q', opts.q);
    if (opts.after) q.set('after', opts.after);
    if (opts.limit) q.set('limit', String(opts.limit));
    const qs = q.toString();
    return this.request<{ rooms: Room[]; next?: string }>('GET', `/rooms/public${qs ? `?${qs}` : ''}`).then((r) => ({
      rooms: r.rooms ?? [],
      next: r.next,
    }));
  };
  room = (id: string) => this.request<Room>('GET', `/rooms/${encodeURIComponent(id)}`);
  // API.md §7: private rooms and DMs are end-to-end encrypted by default;
  // public rooms when asked.
  createRoom = (name: string, visibility: 'public' | 'private', topic?: string, encrypted?: boolean) =>
    this.request<Room>('POST', '/rooms', { name, topic: topic || undefined, visibility, encrypted });
  joinRoom = (id: string) => this.request<Room>('POST', `/rooms/${encodeURIComponent(id)}/join`, {});
  leaveRoom = (id: string) => this.request<void>('POST', `/rooms/${encodeURIComponent(id)}/leave`, {});
  invite = (room: string, userId: string) =>
    this.request<void>('POST', `/rooms/${encodeURIComponent(room)}/invite`, { userId });
  dm = (userId: string) => this.request<Room>('POST', '/dm', { userId });
  /** members pages through a room's members in ID order: after the last ID of the previous page. */
  members = (room: string, opts: { after?: string; limit?: number } = {}) => {
    const q = new URLSearchParams();
    if (opts.after) q.set('after', opts.after);
    if (opts.limit) q.set('limit', String(opts.limit));
    const qs = q.toString();
    return this.request<{ members: User[]; more?: boolean }>(
      'GET',
      `/rooms/${encodeURIComponent(room)}/members${qs ? `?${qs}` : ''}`,
    ).then((r) => ({ members: r.members ?? [], more: !!r.more }));
  };
  updateRoom = (id: string, patch: { name?: string; topic?: string; postingRole?: Role }) =>
    this.request<Room>('PATCH', `/rooms/${encodeURIComponent(id)}`, patch);
  // Moderation (API.md §8).
  kick = (room: string, userId: string, reason?: string) =>
    this.request<void>('POST', `/rooms/${encodeURIComponent(room)}/kick`, { userId, reason: reason || undefined });
  ban = (room: string, userId: string, reason?: string) =>
    this.request<void>('POST', `/rooms/${encodeURIComponent(room)}/ban`, { userId, reason: reason || undefined });
  unban = (room: string, userId: string) => this.request<void>('POST', `/rooms/${encodeURIComponent(room)}/unban`, { userId });
  setRole = (room: string, userId: string, role: Role) =>
    this.request<void>('PUT', `/rooms/${encodeURIComponent(room)}/roles/${encodeURIComponent(userId)}`, { role });
  timeline = (room: string, opts: { since?: number; until?: number; limit?: number } = {}) => {
    const q = new URLSearchParams();
    if (opts.since) q.set('since', String(Math.max(0, Math.floor(opts.since))));
    if (opts.until) q.set('until', String(Math.floor(opts.until)));
    q.set('limit', String(opts.limit ?? 200));
    return this.request<{ events: TimelineEvent[]; more: boolean }>(
      'GET',
      `/rooms/${encodeURIComponent(room)}/timeline?${q}`,
    ).then((r) => ({ events: r.events ?? [], more: !!r.more }));
  };
  receipts = (room: string) =>
    this.request<{ receipts: Receipt[] }>('GET', `/rooms/${encodeURIComponent(room)}/receipts`).then((r) => r.receipts ?? []);

  // Messages.
  messages = (room: string, opts: { before?: string; limit?: number; thread?: string } = {}) => {
    const q = new URLSearchParams();
    if (opts.thread) q.set('thread', opts.thread);
    if (opts.before) q.set('before', opts.before);
    q.set('limit', String(opts.limit ?? 50));
    return this.request<{ messages: Message[]; more: boolean }>(
      'GET',
      `/rooms/${encodeURIComponent(room)}/messages?${q}`,
    ).then((r) => ({ messages: r.messages ?? [], more: !!r.more }));
  };
  message = (room: string, id: string) =>
    this.request<Message>('GET', `/rooms/${encodeURIComponent(room)}/messages/${encodeURIComponent(id)}`);
  editMessage = (room: string, id: string, body: string | { encrypted: Encrypted }) =>
    this.request<Message>(
      'PATCH',
      `/rooms/${encodeURIComponent(room)}/messages/${encodeURIComponent(id)}`,
      typeof body === 'string' ? { body } : body,
    );
  deleteMessage = (room: string, id: string) =>
    this.request<void>('DELETE', `/rooms/${encodeURIComponent(room)}/messages/${encodeURIComponent(id)}`);
  react = (room: string, id: string, emoji: string, on: boolean) =>
    this.request<void>(
      on ? 'PUT' : 'DELETE',
      `/rooms/${encodeURIComponent(room)}/messages/${encodeURIComponent(id)}/reactions/${encodeURIComponent(emoji)}`,
    );
  /** search runs a full-text search over the rooms the user may read (docs/api.md, Search). */
  search = (opts: SearchQuery) => {
    const q = new URLSearchParams();
    q.set('q', opts.q);
    if (opts.room) q.set('room', opts.room);
    if (opts.sender) q.set('sender', opts.sender);
    if (opts.before) q.set('before', opts.before);
    if (opts.hasFile) q.set('has', 'file');
    if (opts.since) q.set('since', String(Math.floor(opts.since)));
    if (opts.until) q.set('until', String(Math.floor(opts.until)));
    if (opts.relevance) q.set('order', 'relevance');
    if (opts.skip) q.set('skip', String(opts.skip));
    q.set('limit', String(opts.limit ?? 20));
    return this.request<{ results: Message[]; more: boolean }>('GET', `/search?${q}`).then((r) => ({
      results: r.results ?? [],
      more: !!r.more,
    }));
  };
  markRead = (room: string, upTo: string) =>
    this.request<void>('POST', `/rooms/${encodeURIComponent(room)}/read`, { upTo });

  // Notifications and Web Push (docs/api.md).
  notifySettings = () => this.request<NotifySettings>('GET', '/notifications');
  setDoNotDisturb = (dnd: boolean, dndUntil?: number) =>
    this.request<NotifySettings>('PUT', '/notifications', { dnd, dndUntil: dnd ? dndUntil : undefined });
  setRoomNotify = (room: string, level: NotifyLevel | 'default') =>
    this.request<RoomNotify>('PUT', `/rooms/${encodeURIComponent(room)}/notifications`, { level });
  /** vapidKey is the node's VAPID public key, or null when the node has Web Push off. */
  vapidKey = () =>
    this.raw<{ publicKey: string }>('GET', '/push/vapid', undefined, false).then(
      (r) => r.publicKey,
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      },
    );
  addPushSubscription = (sub: unknown) => this.request<PushSubscriptionView>('POST', '/push/subscriptions', sub);
  deletePushSubscription = (id: string) => this.request<void>('DELETE', `/push/subscriptions/${encodeURIComponent(id)}`);
}

/** SearchQuery is GET /api/v1/search's parameters. */
export interface SearchQuery {
  q: string;
  room?: string;
  sender?: string;
  before?: string;
  hasFile?: boolean;
  since?: number;
  until?: number;
  relevance?: boolean;
  skip?: number;
  limit?: number;
}

const DEVICE_KEY = 'hearth-device:';

function rememberedDevice(username: string): string | undefined {
  try {
    return localStorage.getItem(DEVICE_KEY + username.toLowerCase()) ?? undefined;
  } catch {
    return undefined;
  }
}

function rememberDevice(username: string, deviceId?: string): void {
  if (!deviceId) return;
  try {
    localStorage.setItem(DEVICE_KEY + username.toLowerCase(), deviceId);
  } catch {
    /* no storage: a new device each login */
  }
}

/** api is the app's one client; tests build their own Api. */
export const api = new Api();
