// client.mjs is one Hearth device under Node.js for the end-to-end
// encryption tests and the bench: the real REST API and WebSocket of a
// real node, and the app's own crypto engine (src/crypto, built for Node
// by build.mjs) around a real OlmMachine. It plays the part socket.ts and
// app.ts play in the browser, without React.
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** waitFor polls fn until it returns a truthy value, or throws after timeoutMs. */
export async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * traceTo makes an engine log function: E2E_LOG names a file to append to
 * (node --test swallows a child's stderr), E2E_VERBOSE prints to stderr.
 */
function traceTo(who) {
  const file = process.env.E2E_LOG;
  if (file) return (m) => appendFileSync(file, `${new Date().toISOString()} [${who}] ${m}\n`);
  if (process.env.E2E_VERBOSE) return (m) => console.error(`[${who}] ${m}`);
  return undefined;
}

export class HttpError extends Error {
  constructor(status, body) {
    super(`${status}: ${body?.error?.message ?? JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

let ipSeq = 1;

/**
 * Device is a signed-in session (a device) of a user on a node. Sign-ups
 * come from distinct loopback addresses is not possible from fetch, so the
 * tests keep to a handful of users per node (under the node's limits).
 */
export class Device {
  constructor(node, session, password) {
    this.node = node;
    this.url = node.url;
    this.session = session;
    this.user = session.user.id;
    this.deviceId = session.deviceId;
    this.password = password;
    this.token = session.accessToken;
    this.refreshToken = session.refreshToken;
    this.frames = [];
    this.messages = new Map(); // id -> latest Message seen on the socket
    this.e2ee = null;
    this.ws = null;
    this.ready = false;
    this.sendSeq = 0;
    this.pending = new Map();
    this.addr = `127.0.${ipSeq}.${(ipSeq++ % 250) + 1}`;
  }

  static async register(node, username, password, deviceId) {
    const s = await raw(node.url, 'POST', '/auth/register', { username, password, deviceId });
    return new Device(node, s, password);
  }

  static async login(node, username, password, deviceId) {
    const s = await raw(node.url, 'POST', '/auth/login', { username, password, deviceId });
    return new Device(node, s, password);
  }

  async http(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await raw(this.url, method, path, body, this.token);
      } catch (err) {
        if (err instanceof HttpError && err.status === 401 && attempt === 0) {
          const s = await raw(this.url, 'POST', '/auth/refresh', { refreshToken: this.refreshToken });
          this.token = s.accessToken;
          this.refreshToken = s.refreshToken;
          this.wsSend({ type: 'auth', token: this.token });
          continue;
        }
        if (err instanceof HttpError && err.status === 429 && attempt < 5) {
          await sleep(500 * (attempt + 1));
          continue;
        }
        throw err;
      }
    }
  }

  /** startCrypto opens the device's engine and its WebSocket; frames go to the engine. */
  async startCrypto(lib, opts = {}) {
    this.e2ee = await lib.E2ee.open({
      user: this.user,
      device: this.deviceId,
      transport: { http: (m, p, b) => this.http(m, p, b), frame: (f) => this.wsSend(f) },
      deviceSince: opts.deviceSince,
      rotateAfterMessages: opts.rotateAfterMessages,
      log: traceTo(`${this.user}/${this.deviceId}`),
    });
    await this.connect();
    return this.e2ee;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url.replace(/^http/, 'ws') + '/api/v1/ws');
      this.ws = ws;
      ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.token }));
      ws.onmessage = (ev) => {
        const f = JSON.parse(String(ev.data));
        if (f.type === 'ready') {
          this.ready = true;
          resolve();
        }
        this.onFrame(f);
      };
      ws.onerror = () => undefined;
      ws.onclose = (ev) => {
        this.ready = false;
        reject(new Error(`socket closed ${ev.code}`));
      };
    });
  }

  onFrame(f) {
    if (this.e2ee?.handleFrame(f)) return;
    if (f.type === 'message' || f.type === 'update' || f.type === 'ack') {
      if (f.message) this.messages.set(f.message.id, f.message);
    }
    if (f.type === 'ack' || f.type === 'error') {
      const p = this.pending.get(f.id);
      if (p) {
        this.pending.delete(f.id);
        if (f.type === 'ack') p.resolve(f.message);
        else p.reject(new Error(`${f.code}: ${f.message}`));
      }
    }
    this.frames.push(f);
  }

  wsSend(f) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(f));
    return true;
  }

  /** frame sends a frame with an id and resolves with its ack's message. */
  frame(f) {
    const id = `c${this.deviceId}-${++this.sendSeq}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.wsSend({ ...f, id })) reject(new Error('socket is down'));
    });
  }

  async close() {
    try {
      this.ws?.close(1000);
    } catch {
      /* already closed */
    }
    await this.e2ee?.idle();
    this.e2ee?.close();
  }

  // --- room helpers ---
  members(room) {
    return this.http('GET', `/rooms/${encodeURIComponent(room)}/members`).then((r) => r.members.map((u) => u.id));
  }

  /** send encrypts body for the room's current members and posts it on the socket. */
  async send(room, body, rel = {}) {
    const members = await this.members(room);
    const encrypted = await this.e2ee.encrypt(room, members, body, rel);
    return this.frame({ type: 'send', room, encrypted, replyTo: rel.replyTo, thread: rel.thread });
  }

  /** edit encrypts a new text for one of the device's user's messages. */
  async edit(m, body) {
    const members = await this.members(m.room);
    const encrypted = await this.e2ee.encrypt(m.room, members, body, { replyTo: m.replyTo, thread: m.thread, edits: m.id });
    return this.frame({ type: 'edit', room: m.room, message: m.id, encrypted });
  }

  message(room, id) {
    return this.http('GET', `/rooms/${encodeURIComponent(room)}/messages?limit=200`).then((r) => r.messages.find((m) => m.id === id));
  }
}

async function raw(base, method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + '/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { text };
    }
  }
  if (!res.ok) throw new HttpError(res.status, data);
  return data;
}
