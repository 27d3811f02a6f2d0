// browser.ts connects the crypto engine to the app: the socket's device
// frames, the sends and edits of encrypted rooms, the decryption of what
// the store holds, and the UI's verification state. It is small and
// statically imported; the engine (engine.ts) and the wasm package load
// with import() the first time the user meets an encrypted room or sets
// up encryption, so the first page load does not carry them.
//
// Storage, per device (name = hearth-e2ee:<user>:<device>):
// - the OlmMachine's IndexedDB store under that name, encrypted by the
//   library with a passphrase;
// - the passphrase: 32 random bytes in localStorage under
//   hearth-e2ee-pass:<user>:<device>. It keeps the keys unreadable to
//   anything that copies IndexedDB alone; it does not stop a thief with
//   the whole browser profile (docs/e2ee.md: a stolen device);
// - hearth-e2ee-since:<...> when the device first opened its engine, and
//   hearth-e2ee-rooms:<...> when it first saw each room (to explain
//   messages sent before).
import type { Encrypted, ServerFrame } from '../api/types';
import { api } from '../api/rest';
import { store, type E2eeView, type VerificationView } from '../store';
import type { Decrypted, DeviceView, E2ee, Verification } from './engine';
import type { FileRef, Relations } from './content';

let sendFrame: (f: { type: 'todevice_ack'; upTo: string }) => boolean = () => false;
let engineP: Promise<E2ee> | null = null;
let engine: E2ee | null = null;
let current: Verification | null = null;
const buffered: ServerFrame[] = [];
const inflight = new Set<string>();
const MAX_BUFFERED = 1000;

/** initCrypto hands browser.ts the socket's frame sender (for todevice_ack). */
export function initCrypto(frame: typeof sendFrame): void {
  sendFrame = frame;
}

function ids(): { user: string; device: string } | null {
  const user = store.get().session.user?.id;
  const device = api.deviceId();
  return user && device ? { user, device } : null;
}

function local(key: string, make: () => string): string {
  try {
    let v = localStorage.getItem(key);
    if (v === null) {
      v = make();
      localStorage.setItem(key, v);
    }
    return v;
  } catch {
    return make();
  }
}

function randomHex(n: number): string {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * deviceFrame takes the socket's device frames. Until the engine is
 * loaded they wait here (unacknowledged, so the node also keeps them for
 * the next connection); membership frames that end someone's membership
 * rotate the room's session and go on to the store.
 */
export function deviceFrame(f: ServerFrame): boolean {
  const t = (f as { type: string }).type;
  if (t === 'member') {
    const m = f as unknown as { room: string; membership: string };
    if (engine && ['leave', 'kick', 'ban'].includes(m.membership)) void engine.rotate(m.room).catch(() => undefined);
    return false;
  }
  if (t !== 'todevice' && t !== 'device_lists' && t !== 'key_counts') return false;
  if (engine) engine.handleFrame(f as never);
  else if (buffered.length < MAX_BUFFERED) buffered.push(f);
  return true;
}

/** cryptoLoaded reports whether the engine is running (without loading it). */
export function cryptoLoaded(): boolean {
  return !!engine;
}

/** loadCrypto loads and opens this device's engine once. */
export function loadCrypto(): Promise<E2ee> {
  engineP ??= (async () => {
    const who = ids();
    if (!who) throw new Error('not signed in');
    store.get().setCryptoStatus('loading');
    const { E2ee } = await import('./engine');
    const name = `hearth-e2ee:${who.user}:${who.device}`;
    const e = await E2ee.open({
      user: who.user,
      device: who.device,
      transport: {
        http: (method, path, body) => api.request(method, path, body),
        frame: (fr) => sendFrame(fr as { type: 'todevice_ack'; upTo: string }),
      },
      storeName: name,
      storePassphrase: local(`hearth-e2ee-pass:${who.user}:${who.device}`, () => randomHex(32)),
      deviceSince: Number(local(`hearth-e2ee-since:${who.user}:${who.device}`, () => String(Date.now()))),
    });
    engine = e;
    // Listen before the buffered frames are replayed: they may hold room keys.
    e.on('keys', ({ room }) => redecrypt(room));
    e.on('verification', (v) => showVerification(v));
    e.on('devices', () => store.get().bumpDevices());
    for (const f of buffered.splice(0)) e.handleFrame(f as never);
    // The user's first device makes the cross-signing keys (no password
    // is needed for the first upload); later devices find them and stay
    // unverified until one of the user's devices verifies them.
    await e.setUpCrossSigning().catch((err) => console.warn('cross-signing', err));
    store.get().setCryptoStatus('ready');
    scanAll();
    return e;
  })().catch((err) => {
    engineP = null;
    store.get().setCryptoStatus('error', err instanceof Error ? err.message : String(err));
    throw err;
  });
  return engineP;
}

/** stopCrypto closes the engine at sign-out (its store stays for the next login on this device). */
export function stopCrypto(): void {
  const e = engine;
  engine = null;
  engineP = null;
  current = null;
  buffered.length = 0;
  inflight.clear();
  e?.close();
}

/** members lists every member of a room (paging through large ones): a member left out would get no key. */
async function members(room: string): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const r = await api.members(room, { after, limit: 1000 });
    out.push(...r.members.map((u) => u.id));
    if (!r.more || r.members.length === 0) break;
    after = r.members[r.members.length - 1].id;
  }
  return out;
}

/** encryptFor is the socket's encrypt hook: null for rooms that are not end-to-end encrypted. */
export function encryptFor(room: string, body: string, rel: Relations, files?: FileRef[]): Promise<Encrypted> | null {
  if (!store.get().rooms.byId[room]?.encrypted) return null;
  return (async () => {
    const e = await loadCrypto();
    try {
      return (await e.encrypt(room, await members(room), body, rel, files)) as unknown as Encrypted;
    } catch (err) {
      // Devices get keys only when their owner signed them, and an
      // unsigned device may not send either (docs/e2ee.md).
      if (/device is not verified/i.test(String(err))) {
        throw new Error('this device is not verified yet. Verify it from one of your other devices (Settings, Security) to send in encrypted rooms.');
      }
      throw err;
    }
  })();
}

// --- decryption of what the store holds ---------------------------------

function joinedAt(room: string, since: number): number | undefined {
  const who = ids();
  if (!who) return undefined;
  const key = `hearth-e2ee-rooms:${who.user}:${who.device}`;
  let seen: Record<string, number> = {};
  try {
    seen = JSON.parse(localStorage.getItem(key) ?? '{}');
  } catch {
    /* start again */
  }
  if (!seen[room]) {
    seen[room] = Date.now();
    try {
      localStorage.setItem(key, JSON.stringify(seen));
    } catch {
      /* storage full */
    }
  }
  // A room first seen well after this device signed in was joined then;
  // one seen at once may be older than the device (then "before this
  // device" is the better explanation).
  return seen[room] > since + 60_000 ? seen[room] : undefined;
}

function view(r: Decrypted): E2eeView {
  if (r.ok) return { ok: true, shield: r.shield || undefined, shieldText: r.shieldText };
  return { ok: false, why: r.why, text: r.text, retry: r.retry };
}

async function decryptOne(room: string, id: string): Promise<void> {
  const m = store.get().messages.rooms[room]?.byId[id];
  if (!m?.encrypted || m.status) return;
  const key = `${id}:${m.encrypted.ciphertext.slice(0, 32)}`;
  if (inflight.has(key)) return;
  inflight.add(key);
  try {
    const e = await loadCrypto();
    const since = Number(localStorage.getItem(`hearth-e2ee-since:${e.user}:${e.device}`) ?? 0);
    let r: Decrypted;
    // A room key that arrives while this message is being decrypted
    // (they often come together) is announced before the failure is
    // recorded, so redecrypt cannot see the message yet: try again
    // while keys for the room keep arriving.
    for (let attempt = 0; ; attempt++) {
      const gen = keyGen.get(room) ?? 0;
      r = await e.decrypt(m as never, { joinedAt: joinedAt(room, since) });
      if (r.ok || (keyGen.get(room) ?? 0) === gen || attempt >= 3) break;
    }
    store.get().applyDecrypted(room, id, m.encrypted.ciphertext, r.ok ? r.body : '', view(r), r.ok ? attached(m, r.files) : undefined);
  } catch (err) {
    store.get().applyDecrypted(room, id, m.encrypted.ciphertext, '', { ok: false, why: 'failed', text: String(err) });
  } finally {
    inflight.delete(key);
  }
}

/**
 * attached keeps the decrypted files that the message also attaches in
 * the clear: only those does the node keep and let the room read, so
 * another one could only be a file the sender wants us to fetch blindly.
 */
function attached(m: { attachments?: { id: string }[] }, files: FileRef[] | undefined): FileRef[] | undefined {
  if (!files?.length || !Array.isArray(files)) return undefined;
  const ids = new Set((m.attachments ?? []).map((a) => a.id));
  const ok = files.filter((f) => f && typeof f === 'object' && f.file && typeof f.media?.id === 'string' && ids.has(f.media.id) && f.file.url === f.media.id);
  return ok.length ? ok : undefined;
}

function scanRoom(room: string): void {
  const t = store.get().messages.rooms[room];
  if (!t) return;
  for (const m of Object.values(t.byId)) if (m.encrypted && !m.e2ee && !m.status) void decryptOne(room, m.id);
}

function scanAll(): void {
  for (const room of Object.keys(store.get().messages.rooms)) scanRoom(room);
}

/** keyGen counts the room keys received per room, so a decryption that raced one can tell. */
const keyGen = new Map<string, number>();

function redecrypt(room: string): void {
  keyGen.set(room, (keyGen.get(room) ?? 0) + 1);
  const t = store.get().messages.rooms[room];
  if (!t) return;
  for (const m of Object.values(t.byId)) if (m.encrypted && m.e2ee && !m.e2ee.ok) void decryptOne(room, m.id);
}

// Decrypt messages as they enter the store; an encrypted one loads the engine.
store.subscribe((s, prev) => {
  if (s.messages === prev.messages) return;
  for (const [room, t] of Object.entries(s.messages.rooms)) {
    if (prev.messages.rooms[room] === t) continue;
    for (const m of Object.values(t.byId)) {
      if (m.encrypted && !m.e2ee && !m.status && prev.messages.rooms[room]?.byId[m.id] !== m) void decryptOne(room, m.id);
    }
  }
});

// A device that has an encrypted room starts its engine after sign-in, in
// the background, so room keys and verification requests are handled.
store.subscribe((s, prev) => {
  if (s.rooms === prev.rooms || engineP || s.session.status !== 'authed') return;
  if (Object.values(s.rooms.byId).some((r) => r.encrypted)) void loadCrypto().catch(() => undefined);
});

// --- verification -------------------------------------------------------

function showVerification(v: Verification): void {
  if (current && current !== v && !['done', 'cancelled'].includes(current.phase())) {
    // One at a time; a second request waits until this one ends.
    if (v.phase() === 'requested') return;
  }
  current = v;
  const phase = v.phase();
  // Drive the steps that need no decision: the asking side starts SAS once
  // the other accepted, and accepts the other side's SAS start.
  if (phase === 'ready' && v.weStarted) void v.start().catch(() => undefined);
  if (phase === 'started') void v.acceptSas().catch(() => undefined);
  const out: VerificationView = {
    flowId: v.flowId,
    otherUser: v.otherUser,
    otherDevice: v.otherDevice,
    incoming: !v.weStarted,
    phase,
    emoji: phase === 'emoji' || phase === 'confirmed' ? v.emoji() : undefined,
  };
  store.get().setVerification(out);
  watch(v);
}

let watching: ReturnType<typeof setInterval> | null = null;

// The machine does not call back on every step of a flow (the other
// side's MAC and done arrive as to-device events), so while one is open
// its phase is also read twice a second.
function watch(v: Verification): void {
  if (watching) return;
  let last = v.phase();
  watching = setInterval(() => {
    const p = v.phase();
    if (current !== v || p === 'done' || p === 'cancelled') {
      clearInterval(watching!);
      watching = null;
    }
    if (current === v && p !== last) {
      last = p;
      showVerification(v);
    }
  }, 500);
}

/** verify asks a device (ours or another user's) to compare emoji. */
export async function verify(user: string, deviceId: string): Promise<void> {
  const e = await loadCrypto();
  showVerification(await e.requestVerification(user, deviceId));
}

/** verificationStep is what the verification dialog's buttons do. */
export async function verificationStep(step: 'accept' | 'match' | 'mismatch' | 'cancel' | 'dismiss'): Promise<void> {
  const v = current;
  if (step === 'dismiss' || !v) {
    current = null;
    store.get().setVerification(null);
    return;
  }
  if (step === 'accept') await v.accept();
  else if (step === 'match') await v.confirm();
  else await v.cancel();
  showVerification(v);
}

// --- the Security settings ------------------------------------------------

export async function devicesOf(user: string): Promise<DeviceView[]> {
  return (await loadCrypto()).devices(user);
}

export async function userVerified(user: string): Promise<boolean> {
  return (await loadCrypto()).userVerified(user);
}

/** setUpRecovery makes a key backup and returns its recovery key (shown once). */
export async function setUpRecovery(passphrase?: string): Promise<string> {
  return (await loadCrypto()).setUpBackup(passphrase || undefined);
}

export async function recoveryState(): Promise<{ backup: boolean; enabled: boolean }> {
  const e = await loadCrypto();
  const [info, enabled] = await Promise.all([e.backupInfo().catch(() => null), e.backupEnabled()]);
  return { backup: !!info, enabled };
}

export async function restore(secret: { recoveryKey: string } | { passphrase: string }): Promise<number> {
  return (await (await loadCrypto()).restoreBackup(secret)).imported;
}

export async function exportKeysFile(passphrase: string): Promise<string> {
  return (await loadCrypto()).exportKeys(passphrase);
}

export async function importKeysFile(text: string, passphrase: string): Promise<number> {
  return (await (await loadCrypto()).importKeys(text, passphrase)).imported;
}

/** resetCrossSigning replaces the user's identity (the password is required; contacts must verify again). */
export async function resetCrossSigning(password: string): Promise<void> {
  await (await loadCrypto()).setUpCrossSigning(password, true);
}

/** removeDevice deletes one of the user's devices (API.md §7): its sessions end, its keys go, and the next message in each room rotates. */
export async function removeDevice(deviceId: string, password: string): Promise<void> {
  await api.request('DELETE', `/devices/${encodeURIComponent(deviceId)}`, { password });
  const e = await loadCrypto();
  await e.queryNow([e.user]);
}
