// engine.ts drives one OlmMachine for one Hearth device (API.md §7,
// shared/guide/E2EE.md). The machine does no I/O: the engine sends its
// outgoing requests to the node's §7 endpoints and hands the answers back
// (markRequestAsSent), feeds it the node's todevice, device_lists and
// key_counts frames (receiveSyncChanges, acknowledged only after it
// returns), and before each encryption makes sure every member's devices
// are known and have an Olm session and the room key.
//
// The engine runs the same in the browser (IndexedDB store) and in
// Node.js (the end-to-end test and the bench): it talks to the node
// through a Transport and never touches the store, React or the socket.
import type * as Wasm from '@matrix-org/matrix-sdk-crypto-wasm';
import { checkPlain, EVENT_TYPE, plainContent, type FileRef, type Plain, type Relations } from './content';
import { fromMatrixRoom, fromMatrixUser, toMatrixEvent, toMatrixRoom, toMatrixUser } from './ids';
import { decodeRecoveryKey, deriveKey, encodeRecoveryKey, fromBase64, newSalt, PBKDF2_ITERATIONS, toBase64 } from './recoverykey';
import { explain, tampered, type Unreadable } from './utd';

type W = typeof Wasm;
type Machine = Wasm.OlmMachine;
type OutReq =
  | Wasm.KeysUploadRequest
  | Wasm.KeysQueryRequest
  | Wasm.KeysClaimRequest
  | Wasm.ToDeviceRequest
  | Wasm.SignatureUploadRequest
  | Wasm.RoomMessageRequest
  | Wasm.KeysBackupRequest;

/** Transport is how the engine reaches its node. */
export interface Transport {
  /** http calls an authenticated /api/v1 path and resolves to the parsed JSON answer ({} for 204). */
  http(method: string, path: string, body?: unknown): Promise<unknown>;
  /** frame sends a WebSocket frame; false when the socket is down (the node resends unacknowledged events). */
  frame(f: Record<string, unknown>): boolean;
}

/** Config is one device's engine; zero fields get the defaults. */
export interface Config {
  /** user is the Hearth user ID (name@nodeID). */
  user: string;
  device: string;
  transport: Transport;
  /** storeName and storePassphrase persist the machine in IndexedDB (browser); absent means memory only. */
  storeName?: string;
  storePassphrase?: string;
  /** deviceSince is when this device first signed in (explains messages sent before it). */
  deviceSince?: number;
  /** rotateAfterMessages and rotateAfterMs bound a Megolm session (defaults: 100 messages, one week). */
  rotateAfterMessages?: number;
  rotateAfterMs?: number;
  /** wasm is the loaded package; loadWasm() by default. */
  wasm?: W;
  log?: (msg: string) => void;
}

/** Message is the part of a Hearth message the engine reads. */
export interface EncMessage {
  id: string;
  room: string;
  sender: string;
  ts: number;
  replyTo?: string;
  thread?: string;
  editedAt?: number;
  encrypted?: Record<string, unknown>;
}

export type Decrypted =
  | {
      ok: true;
      body: string;
      files?: FileRef[];
      content: Plain;
      /** senderDevice is the device that encrypted it. */
      senderDevice?: string;
      /** shield is a warning about the sender's device ('' when it is verified or cross-signed by its owner). */
      shield: '' | 'unverified' | 'unsigned-device' | 'unknown-device' | 'identity-changed' | 'not-authenticated';
      shieldText?: string;
    }
  | ({ ok: false } & Unreadable);

export interface DeviceView {
  user: string;
  deviceId: string;
  displayName?: string;
  own: boolean;
  /** verified is true when this device trusts it (SAS, or cross-signing by a verified identity). */
  verified: boolean;
  /** crossSigned is true when the device is signed by its owner's self-signing key. */
  crossSigned: boolean;
  /** warning is set for a device its owner did not sign: 'loud' when that owner is verified (a node may have injected it). */
  warning?: 'loud' | 'unsigned';
  ed25519?: string;
}

type Events = {
  /** room keys arrived (to-device, backup, history bundle): retry what was waiting. */
  keys: { room: string; sessions: string[] };
  /** a verification request or its SAS changed. */
  verification: Verification;
  /** users' devices or identities changed. */
  devices: { users: string[] };
};
type Listener<K extends keyof Events> = (e: Events[K]) => void;

/** loadWasm loads the crypto package once; in the browser this is the lazy chunk and the .wasm file. */
let wasmP: Promise<W> | null = null;
export function loadWasm(): Promise<W> {
  wasmP ??= (async () => {
    const w = await import('@matrix-org/matrix-sdk-crypto-wasm');
    await w.initAsync();
    return w;
  })();
  return wasmP;
}

const BACKUP_ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const MAX_BUNDLE_BYTES = 48 << 10;

/** E2ee is one device's end-to-end encryption. */
export class E2ee {
  readonly user: string;
  readonly device: string;
  private readonly w: W;
  readonly machine: Machine;
  private readonly t: Transport;
  private readonly cfg: Config;
  private readonly listeners: { [K in keyof Events]: Set<Listener<K>> } = {
    keys: new Set(),
    verification: new Set(),
    devices: new Set(),
  };
  private syncChain: Promise<void> = Promise.resolve();
  private outRunning: Promise<void> = Promise.resolve();
  private outQueued: Promise<void> | null = null;
  private claimChain: Promise<unknown> = Promise.resolve();
  private roomChains = new Map<string, Promise<unknown>>();
  private backupRunning: Promise<void> | null = null;
  private backupAgain = false;
  private counts = new Map<string, number>();
  private fallback: Set<string> | undefined;
  private verifs = new Map<string, Verification>();
  private queried = new Set<string>();
  private closed = false;

  private constructor(cfg: Config, w: W, machine: Machine) {
    this.cfg = cfg;
    this.user = cfg.user;
    this.device = cfg.device;
    this.w = w;
    this.machine = machine;
    this.t = cfg.transport;
  }

  /** open loads the wasm package if needed and the device's machine (from IndexedDB when named). */
  static async open(cfg: Config): Promise<E2ee> {
    const w = cfg.wasm ?? (await loadWasm());
    const machine = await w.OlmMachine.initialize(
      new w.UserId(toMatrixUser(cfg.user)),
      new w.DeviceId(cfg.device),
      cfg.storeName,
      cfg.storePassphrase,
    );
    const e = new E2ee(cfg, w, machine);
    machine.registerRoomKeyUpdatedCallback(async (infos) => {
      const byRoom = new Map<string, string[]>();
      for (const i of infos) {
        const room = safe(() => fromMatrixRoom(i.roomId.toString()));
        if (room) byRoom.set(room, [...(byRoom.get(room) ?? []), i.sessionId]);
      }
      for (const [room, sessions] of byRoom) e.emit('keys', { room, sessions });
      e.scheduleBackup();
    });
    machine.registerDevicesUpdatedCallback(async (users) => {
      e.emit('devices', { users: users.map((u) => safe(() => fromMatrixUser(u))).filter((u): u is string => !!u) });
    });
    machine.registerUserIdentityUpdatedCallback(async (u) => {
      const user = safe(() => fromMatrixUser(u.toString()));
      if (user) e.emit('devices', { users: [user] });
    });
    await e.processOutgoing();
    return e;
  }

  on<K extends keyof Events>(k: K, fn: Listener<K>): () => void {
    this.listeners[k].add(fn);
    return () => this.listeners[k].delete(fn);
  }

  private emit<K extends keyof Events>(k: K, e: Events[K]): void {
    for (const fn of this.listeners[k]) {
      try {
        fn(e);
      } catch (err) {
        this.log(`listener ${k}: ${String(err)}`);
      }
    }
  }

  private log(msg: string): void {
    this.cfg.log?.(msg);
  }

  /** trace logs what msg() says only when a log is set (tests), so the browser pays nothing. */
  private trace(msg: () => string): void {
    if (this.cfg.log) this.cfg.log(msg());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.machine.close();
  }

  // --- the node's frames ------------------------------------------------

  /**
   * handleFrame takes the WebSocket frames of §7 (todevice, device_lists,
   * key_counts) and reports whether it consumed the frame. Frames are
   * applied in order; each is acknowledged after receiveSyncChanges
   * returned, so an event the machine never saw is sent again.
   */
  handleFrame(f: { type?: string } & Record<string, unknown>): boolean {
    if (f.type !== 'todevice' && f.type !== 'device_lists' && f.type !== 'key_counts') return false;
    const run = () => this.applySync(f).catch((err) => this.log(`sync changes: ${String(err)}`));
    this.syncChain = this.syncChain.then(run);
    return true;
  }

  /** idle resolves once every frame handed in so far has been applied. */
  idle(): Promise<void> {
    return this.syncChain;
  }

  private async applySync(f: Record<string, unknown>): Promise<void> {
    const w = this.w;
    let events = '[]';
    let lists = new w.DeviceLists();
    if (f.type === 'todevice') events = JSON.stringify(f.events ?? []);
    if (f.type === 'device_lists') {
      const conv = (a: unknown) =>
        (Array.isArray(a) ? a : []).map((u) => safe(() => new w.UserId(toMatrixUser(String(u))))).filter((u): u is Wasm.UserId => !!u);
      lists = new w.DeviceLists(conv(f.changed), conv(f.left));
    }
    if (f.type === 'key_counts') {
      this.counts = new Map(Object.entries((f.oneTimeKeyCounts as Record<string, number>) ?? {}));
      this.fallback = new Set((f.unusedFallbackKeyTypes as string[]) ?? []);
    }
    this.trace(() => `sync ${String(f.type)} ${f.type === 'todevice' ? describeToDevice(f.events) : JSON.stringify({ changed: f.changed, left: f.left })}`);
    const processed = await this.machine.receiveSyncChanges(events, lists, new Map(this.counts), this.fallback ? new Set(this.fallback) : undefined);
    this.trace(() => `processed ${processed.map((p) => `${p.type}`).join(',')}`);
    if (typeof f.next === 'string') this.t.frame({ type: 'todevice_ack', upTo: f.next });
    // The machine drops a verification request from a device it does not
    // know yet (a user with whom we share no encrypted room): learn the
    // sender's devices and hand it the request again.
    const unknown: { sender: string; ev: unknown }[] = [];
    for (const p of processed) {
      if (p.type !== w.ProcessedToDeviceEventType.Decrypted && p.type !== w.ProcessedToDeviceEventType.PlainText) continue;
      let ev: { type?: string; sender?: string; content?: Record<string, unknown> };
      try {
        ev = JSON.parse(p.rawEvent);
      } catch {
        continue;
      }
      if (ev.type === 'm.key.verification.request' && ev.sender && typeof ev.content?.transaction_id === 'string') {
        if (!this.trackVerification(ev.sender, ev.content.transaction_id)) unknown.push({ sender: ev.sender, ev });
      }
    }
    if (unknown.length) {
      const senders = [...new Set(unknown.map((u) => safe(() => fromMatrixUser(u.sender))).filter((u): u is string => !!u))];
      await this.track(senders);
      await this.queryNow(senders);
      await this.machine.receiveSyncChanges(JSON.stringify(unknown.map((u) => u.ev)), new w.DeviceLists(), new Map(this.counts), undefined);
      for (const u of unknown) {
        const c = (u.ev as { content: { transaction_id: string } }).content;
        this.trackVerification(u.sender, c.transaction_id);
      }
    }
    void this.processOutgoing();
  }

  // --- outgoing requests --------------------------------------------------

  /**
   * processOutgoing sends what the machine queued and resolves after a
   * whole pass that started after the call (coalesced: at most one pass
   * runs and one waits).
   */
  processOutgoing(): Promise<void> {
    if (this.outQueued) return this.outQueued;
    const p = this.outRunning.then(() => {
      this.outQueued = null;
      return this.outgoingPass();
    });
    this.outQueued = p;
    this.outRunning = p.catch(() => undefined);
    return p;
  }

  private async outgoingPass(): Promise<void> {
    for (let round = 0; round < 8 && !this.closed; round++) {
      const reqs = (await this.machine.outgoingRequests()) as OutReq[];
      if (reqs.length === 0) return;
      const res = await Promise.allSettled(reqs.map((r) => this.send(r)));
      const failed = res.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
    }
  }

  /** send delivers one request to its §7 endpoint and tells the machine the answer. */
  private async send(r: OutReq): Promise<void> {
    const T = this.w.RequestType;
    const body = JSON.parse(r.body);
    let resp: unknown;
    switch (r.type) {
      case T.KeysUpload:
        resp = await this.t.http('POST', '/keys/upload', body);
        break;
      case T.KeysQuery:
        resp = await this.t.http('POST', '/keys/query', body);
        break;
      case T.KeysClaim:
        resp = await this.t.http('POST', '/keys/claim', body);
        break;
      case T.ToDevice: {
        const td = r as Wasm.ToDeviceRequest;
        resp = await this.t.http('PUT', `/sendToDevice/${encodeURIComponent(td.event_type)}/${encodeURIComponent(td.txn_id)}`, body);
        break;
      }
      case T.SignatureUpload:
        resp = await this.t.http('POST', '/keys/signatures/upload', body);
        break;
      case T.KeysBackup: {
        const kb = r as Wasm.KeysBackupRequest;
        resp = await this.t.http('PUT', `/room_keys/keys?version=${encodeURIComponent(kb.version)}`, body);
        break;
      }
      case T.RoomMessage:
        // Hearth verifies over to-device messages only; an in-room
        // verification event cannot be posted to an encrypted room.
        throw new Error('in-room verification is not supported');
      default:
        throw new Error(`unknown request type ${String(r.type)}`);
    }
    this.trace(() => `sent ${String(r.type)} ${describeRequest(body, (r as { event_type?: string }).event_type)} -> ${JSON.stringify(resp ?? {}).slice(0, 400)}`);
    if (r.id) await this.machine.markRequestAsSent(r.id, r.type, JSON.stringify(resp ?? {}));
  }

  // --- rooms --------------------------------------------------------------

  private inRoom<T>(room: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.roomChains.get(room) ?? Promise.resolve();
    const p = prev.then(fn, fn);
    const tail = p.catch(() => undefined);
    this.roomChains.set(room, tail);
    void tail.then(() => {
      if (this.roomChains.get(room) === tail) this.roomChains.delete(room);
    });
    return p;
  }

  private encryptionSettings(): Wasm.EncryptionSettings {
    const w = this.w;
    const s = new w.EncryptionSettings();
    s.algorithm = w.EncryptionAlgorithm.MegolmV1AesSha2;
    s.rotationPeriodMessages = BigInt(this.cfg.rotateAfterMessages ?? 100);
    s.rotationPeriod = BigInt(this.cfg.rotateAfterMs ?? 7 * 24 * 3600 * 1000) * 1000n; // µs
    // Sessions are marked shareable with later members so that an inviter
    // may opt in to sharing history (shareHistory); nothing is shared
    // unless they do.
    s.historyVisibility = w.HistoryVisibility.Shared;
    // Only devices their owner cross-signed get keys: a device a node
    // injects for its user (signed by no one but itself) gets nothing.
    s.sharingStrategy = w.CollectStrategy.identityBasedStrategy();
    return s;
  }

  /**
   * prepare makes sure every device of the room's members can read the
   * next message: track them, query their keys, claim one-time keys for
   * missing Olm sessions (one claim at a time), share the room key.
   * members are Hearth user IDs and must include every current member;
   * a member missing from the list stops getting keys (that is how a
   * leave, kick or ban rotates the session).
   */
  private async prepare(room: string, members: string[]): Promise<void> {
    const w = this.w;
    const mx = [...new Set([...members, this.user])].map(toMatrixUser);
    const users = () => mx.map((u) => new w.UserId(u));
    await this.machine.updateTrackedUsers(users());
    await this.processOutgoing();
    await this.claimOnce(users());
    const reqs = await this.machine.shareRoomKey(new w.RoomId(toMatrixRoom(room)), users(), this.encryptionSettings());
    this.trace(() => `share ${room} members=${mx.join(',')} requests=${reqs.length}`);
    for (const r of reqs) await this.send(r);
  }

  private claimOnce(users: Wasm.UserId[]): Promise<void> {
    const run = async () => {
      const req = await this.machine.getMissingSessions(users);
      if (req) await this.send(req);
    };
    const p = this.claimChain.then(run, run);
    this.claimChain = p.catch(() => undefined);
    return p;
  }

  /** encrypt makes the m.room.encrypted content of a message or an edit. */
  encrypt(room: string, members: string[], body: string, rel: Relations = {}, files?: FileRef[]): Promise<Record<string, unknown>> {
    return this.inRoom(room, async () => {
      await this.prepare(room, members);
      const out = await this.machine.encryptRoomEvent(
        new this.w.RoomId(toMatrixRoom(room)),
        EVENT_TYPE,
        JSON.stringify(plainContent(body, rel, files)),
      );
      this.scheduleBackup();
      return JSON.parse(out);
    });
  }

  /** rotate drops the room's outgoing session now (a member or device left, was kicked or banned). */
  async rotate(room: string): Promise<boolean> {
    return this.inRoom(room, () => this.machine.invalidateGroupSession(new this.w.RoomId(toMatrixRoom(room))));
  }

  /**
   * decrypt reads a message of an encrypted room. ctx.joinedAt (when the
   * user joined, as this device knows it) explains messages sent before.
   */
  async decrypt(m: EncMessage, ctx: { joinedAt?: number } = {}): Promise<Decrypted> {
    const w = this.w;
    if (!m.encrypted) return { ok: false, ...tampered('no encrypted content') };
    const event = {
      type: 'm.room.encrypted',
      sender: toMatrixUser(m.sender),
      event_id: toMatrixEvent(m.id),
      origin_server_ts: m.editedAt ?? m.ts,
      room_id: toMatrixRoom(m.room),
      content: m.encrypted,
    };
    let res: Wasm.DecryptedRoomEvent;
    try {
      res = await this.machine.decryptRoomEvent(
        JSON.stringify(event),
        new w.RoomId(event.room_id),
        new w.DecryptionSettings(w.TrustRequirement.Untrusted),
      );
    } catch (err) {
      const e = err as { code?: number; withheldCode?: string; maybe_withheld?: string; description?: string };
      const u = explain({
        code: typeof e?.code === 'number' ? e.code : undefined,
        withheldCode: e?.withheldCode ?? e?.maybe_withheld,
        ts: m.ts,
        joinedAt: ctx.joinedAt,
        deviceSince: this.cfg.deviceSince,
      });
      this.trace(() => `decrypt ${m.id} from ${m.sender} session=${String((m.encrypted as { session_id?: string })?.session_id)}: ${u.why} ${e?.description ?? String(err)}`);
      if (u.why === 'failed' && e?.description) return { ok: false, ...u, text: `${u.text} (${e.description})` };
      return { ok: false, ...u };
    }
    let plain: Plain;
    try {
      const ev = JSON.parse(res.event) as { type?: string; content?: unknown };
      if (ev.type !== EVENT_TYPE) throw new Error(`unexpected event type ${String(ev.type)}`);
      plain = checkPlain(ev.content, m);
    } catch (err) {
      return { ok: false, ...tampered((err as Error).message) };
    }
    const out: Decrypted = {
      ok: true,
      body: plain.body,
      content: plain,
      files: plain['io.hearth.files'],
      senderDevice: res.senderDevice?.toString(),
      shield: '',
    };
    let st = res.shieldState(false);
    if (st.color !== w.ShieldColor.None && !this.queried.has(m.sender)) {
      // The shield may be stale: we may never have asked for the sender's
      // keys (no shared room yet, or a reader that only reads). Ask once.
      this.queried.add(m.sender);
      await this.track([m.sender]).catch(() => undefined);
      await this.queryNow([m.sender]).catch(() => undefined);
      st = (await this.machine.getRoomEventEncryptionInfo(JSON.stringify(event), new w.RoomId(event.room_id))).shieldState(false);
    }
    if (st.color !== w.ShieldColor.None) {
      const C = w.ShieldStateCode;
      const code = st.code;
      out.shield =
        code === C.UnsignedDevice
          ? 'unsigned-device'
          : code === C.UnknownDevice
            ? 'unknown-device'
            : code === C.VerificationViolation
              ? 'identity-changed'
              : code === C.UnverifiedIdentity
                ? 'unverified'
                : 'not-authenticated';
      out.shieldText = st.message;
    }
    return out;
  }

  // --- devices and cross-signing -----------------------------------------

  /** setUpCrossSigning makes this user's cross-signing keys on this device, unless the user has them. */
  async setUpCrossSigning(password?: string, reset = false): Promise<'created' | 'exists'> {
    const w = this.w;
    const me = new w.UserId(toMatrixUser(this.user));
    await this.machine.updateTrackedUsers([me]);
    // The answer to this query says whether the user already has keys.
    await this.queryNow([this.user]);
    const status = await this.machine.crossSigningStatus();
    const id = await this.machine.getIdentity(new w.UserId(toMatrixUser(this.user)));
    if (!reset && (id || status.hasMaster)) return 'exists';
    const b = await this.machine.bootstrapCrossSigning(true);
    if (b.uploadKeysRequest) await this.send(b.uploadKeysRequest as OutReq);
    const signing = JSON.parse(b.uploadSigningKeysRequest.body);
    await this.t.http('POST', '/keys/device_signing/upload', password ? { ...signing, password } : signing);
    const sig = b.uploadSignaturesRequest;
    const resp = await this.t.http('POST', '/keys/signatures/upload', JSON.parse(sig.body));
    if (sig.id) await this.machine.markRequestAsSent(sig.id, sig.type, JSON.stringify(resp ?? {}));
    await this.queryNow([this.user]);
    return 'created';
  }

  /** queryNow asks the node for users' keys now (out of band of the machine's own queries). */
  async queryNow(users: string[]): Promise<void> {
    const w = this.w;
    const req = this.machine.queryKeysForUsers(users.map((u) => new w.UserId(toMatrixUser(u))));
    await this.send(req);
  }

  /** track makes the machine follow users' devices (members of encrypted rooms). */
  async track(users: string[]): Promise<void> {
    const w = this.w;
    await this.machine.updateTrackedUsers(users.map((u) => new w.UserId(toMatrixUser(u))));
    await this.processOutgoing();
  }

  /** devices lists a user's devices as this device sees them, with their trust and warnings. */
  async devices(user: string): Promise<DeviceView[]> {
    const w = this.w;
    const uid = () => new w.UserId(toMatrixUser(user));
    await this.machine.updateTrackedUsers([uid()]);
    await this.processOutgoing();
    const ud = await this.machine.getUserDevices(uid(), 5);
    const identity = await this.machine.getIdentity(uid());
    const verifiedUser = !!identity?.isVerified();
    const out: DeviceView[] = [];
    for (const d of ud.devices()) {
      const crossSigned = d.isCrossSignedByOwner();
      const v: DeviceView = {
        user,
        deviceId: d.deviceId.toString(),
        displayName: d.displayName,
        own: user === this.user && d.deviceId.toString() === this.device,
        verified: d.isVerified(),
        crossSigned,
        ed25519: d.getKey(w.DeviceKeyAlgorithmName.Ed25519)?.toBase64(),
      };
      if (identity && !crossSigned) v.warning = verifiedUser || user === this.user ? 'loud' : 'unsigned';
      out.push(v);
    }
    return out.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  }

  /** userVerified reports whether this device trusts the user's cross-signing identity. */
  async userVerified(user: string): Promise<boolean> {
    const id = await this.machine.getIdentity(new this.w.UserId(toMatrixUser(user)));
    return !!id?.isVerified();
  }

  // --- verification (SAS emoji over to-device) ---------------------------

  private trackVerification(sender: string, flowId: string): Verification | undefined {
    const key = `${sender}|${flowId}`;
    let v = this.verifs.get(key);
    if (v) return v;
    const req = this.machine.getVerificationRequest(new this.w.UserId(sender), flowId);
    if (!req) return undefined;
    v = new Verification(this, this.w, req);
    this.verifs.set(key, v);
    req.registerChangesCallback(async () => {
      v!.changed();
    });
    this.emit('verification', v);
    return v;
  }

  /** verifications lists the open verification requests with a user. */
  verifications(user: string): Verification[] {
    const reqs = this.machine.getVerificationRequests(new this.w.UserId(toMatrixUser(user)));
    return reqs
      .map((r) => this.trackVerification(r.otherUserId.toString(), r.flowId))
      .filter((v): v is Verification => !!v && !v.request.isCancelled() && !v.request.isDone());
  }

  /** requestVerification asks one device of a user (ours or another's) to compare emoji. */
  async requestVerification(user: string, deviceId: string): Promise<Verification> {
    const w = this.w;
    await this.devices(user);
    const dev = await this.machine.getDevice(new w.UserId(toMatrixUser(user)), new w.DeviceId(deviceId), 5);
    if (!dev) throw new Error(`unknown device ${deviceId} of ${user}`);
    const [req, out] = dev.requestVerification([w.VerificationMethod.SasV1]);
    await this.send(out);
    const v = this.trackVerification(req.otherUserId.toString(), req.flowId);
    if (!v) throw new Error('the verification request vanished');
    return v;
  }

  /** sendVerification sends a request a Verification produced. */
  async sendOutgoing(r: OutReq | undefined): Promise<void> {
    if (r) await this.send(r);
    await this.processOutgoing();
  }

  emitVerification(v: Verification): void {
    this.emit('verification', v);
  }

  // --- key backup and recovery ------------------------------------------

  /**
   * setUpBackup creates a key backup on the node, encrypted to a new key
   * that only the user holds, and returns that key as a recovery key (to
   * be shown once). With a passphrase the key is derived from it
   * (PBKDF2-SHA-512) and the salt goes in the backup's auth_data.
   */
  async setUpBackup(passphrase?: string): Promise<string> {
    const w = this.w;
    let key: Wasm.BackupDecryptionKey;
    const authData: Record<string, unknown> = {};
    if (passphrase) {
      const salt = newSalt();
      const raw = await deriveKey(passphrase, salt, PBKDF2_ITERATIONS);
      key = w.BackupDecryptionKey.fromBase64(toBase64(raw));
      authData.private_key_salt = salt;
      authData.private_key_iterations = PBKDF2_ITERATIONS;
      authData.private_key_bits = 256;
    } else {
      key = w.BackupDecryptionKey.createRandomKey();
    }
    authData.public_key = key.megolmV1PublicKey.publicKeyBase64;
    const sigs = await this.machine.sign(JSON.stringify(authData));
    authData.signatures = JSON.parse(sigs.asJSON());
    const created = (await this.t.http('POST', '/room_keys/version', { algorithm: BACKUP_ALGORITHM, auth_data: authData })) as {
      version: string;
    };
    await this.machine.saveBackupDecryptionKey(key, created.version);
    await this.machine.enableBackupV1(key.megolmV1PublicKey.publicKeyBase64, created.version);
    this.scheduleBackup();
    return encodeRecoveryKey(fromBase64(key.toBase64()));
  }

  /** backupInfo is the node's newest backup version, or null when there is none. */
  async backupInfo(): Promise<{ version: string; algorithm: string; auth_data: Record<string, unknown>; count?: number } | null> {
    try {
      return (await this.t.http('GET', '/room_keys/version')) as {
        version: string;
        algorithm: string;
        auth_data: Record<string, unknown>;
      };
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  /**
   * restoreBackup imports every room key of the newest backup with the
   * recovery key (or the passphrase), and keeps backing up from this
   * device. It returns how many keys it imported.
   */
  async restoreBackup(secret: { recoveryKey: string } | { passphrase: string }): Promise<{ imported: number; total: number }> {
    const w = this.w;
    const info = await this.backupInfo();
    if (!info) throw new Error('there is no key backup on this node');
    if (info.algorithm !== BACKUP_ALGORITHM) throw new Error(`unsupported backup algorithm ${info.algorithm}`);
    let raw: Uint8Array;
    if ('recoveryKey' in secret) raw = decodeRecoveryKey(secret.recoveryKey);
    else {
      const salt = info.auth_data.private_key_salt;
      const iter = info.auth_data.private_key_iterations;
      if (typeof salt !== 'string' || typeof iter !== 'number') throw new Error('this backup was not made with a passphrase');
      raw = await deriveKey(secret.passphrase, salt, iter);
    }
    const key = w.BackupDecryptionKey.fromBase64(toBase64(raw));
    if (key.megolmV1PublicKey.publicKeyBase64 !== info.auth_data.public_key) {
      throw new Error('that recovery key (or passphrase) does not open this backup');
    }
    const all = (await this.t.http('GET', `/room_keys/keys?version=${encodeURIComponent(info.version)}`)) as {
      rooms?: Record<string, { sessions?: Record<string, { session_data: { ephemeral: string; mac: string; ciphertext: string } }> }>;
    };
    const byRoom = new Map<Wasm.RoomId, Map<string, unknown>>();
    let failed = 0;
    for (const [roomId, r] of Object.entries(all.rooms ?? {})) {
      const sessions = new Map<string, unknown>();
      for (const [sid, s] of Object.entries(r.sessions ?? {})) {
        try {
          const d = s.session_data;
          sessions.set(sid, JSON.parse(key.decryptV1(d.ephemeral, d.mac, d.ciphertext)));
        } catch {
          failed++;
        }
      }
      if (sessions.size) byRoom.set(new w.RoomId(roomId), sessions);
    }
    const res = await this.machine.importBackedUpRoomKeys(byRoom, () => undefined, info.version);
    await this.machine.saveBackupDecryptionKey(key, info.version);
    await this.machine.enableBackupV1(key.megolmV1PublicKey.publicKeyBase64, info.version);
    this.emitImported(res);
    if (failed) this.log(`backup: ${failed} keys could not be decrypted`);
    return { imported: res.importedCount, total: res.totalCount };
  }

  private emitImported(res: Wasm.RoomKeyImportResult): void {
    for (const [roomId, bySender] of res.keys()) {
      const room = safe(() => fromMatrixRoom(roomId));
      if (!room) continue;
      const sessions: string[] = [];
      for (const ids of bySender.values()) sessions.push(...ids);
      this.emit('keys', { room, sessions });
    }
  }

  /** backupEnabled reports whether this device uploads its room keys to a backup. */
  backupEnabled(): Promise<boolean> {
    return this.machine.isBackupEnabled();
  }

  /** scheduleBackup uploads new room keys to the backup soon (coalesced). */
  scheduleBackup(): void {
    if (this.backupRunning) {
      this.backupAgain = true;
      return;
    }
    this.backupRunning = (async () => {
      do {
        this.backupAgain = false;
        try {
          for (let i = 0; i < 100; i++) {
            const req = await this.machine.backupRoomKeys();
            if (!req) break;
            await this.send(req);
          }
        } catch (err) {
          this.log(`backup: ${String(err)}`);
        }
      } while (this.backupAgain && !this.closed);
    })().finally(() => {
      this.backupRunning = null;
    });
  }

  /** backedUp resolves when the backup has caught up with every room key. */
  async backedUp(): Promise<{ backedUp: number; total: number }> {
    this.scheduleBackup();
    while (this.backupRunning) await this.backupRunning;
    const c = await this.machine.roomKeyCounts();
    return { backedUp: c.backedUp, total: c.total };
  }

  // --- export and import to a file ----------------------------------------

  /** exportKeys writes every room key, encrypted with a passphrase, in the Matrix export format. */
  async exportKeys(passphrase: string, rounds = PBKDF2_ITERATIONS): Promise<string> {
    const json = await this.machine.exportRoomKeys(() => true);
    return this.w.OlmMachine.encryptExportedRoomKeys(json, passphrase, rounds);
  }

  /** importKeys reads such a file; it returns how many keys were new. */
  async importKeys(file: string, passphrase: string): Promise<{ imported: number; total: number }> {
    const json = this.w.OlmMachine.decryptExportedRoomKeys(file, passphrase);
    const res = await this.machine.importExportedRoomKeys(json, () => undefined);
    this.emitImported(res);
    return { imported: res.importedCount, total: res.totalCount };
  }

  // --- history for new members (opt-in by the inviter) --------------------

  /**
   * shareHistory sends a new member the keys of the room's earlier
   * messages (MSC4268 room key bundle): the inviter's client decides,
   * never the node. The bundle is encrypted; its bytes travel inline as a
   * data: URL inside the Olm-encrypted to-device message (there is no
   * media store to put it in yet), so it is capped at 48 KiB.
   */
  async shareHistory(room: string, user: string): Promise<number> {
    const w = this.w;
    await this.track([user]);
    await this.claimOnce([new w.UserId(toMatrixUser(user))]);
    const att = await this.machine.buildRoomKeyBundle(new w.RoomId(toMatrixRoom(room)));
    if (!att) return 0;
    const data = att.encryptedData;
    if (data.length > MAX_BUNDLE_BYTES) throw new Error('the room history is too large to share inline');
    const info = att.mediaEncryptionInfo;
    const url = `data:application/octet-stream;base64,${toBase64(data)}`;
    const reqs = await this.machine.shareRoomKeyBundleData(
      new w.UserId(toMatrixUser(user)),
      new w.RoomId(toMatrixRoom(room)),
      url,
      info,
      w.CollectStrategy.identityBasedStrategy(),
    );
    for (const r of reqs) await this.send(r);
    return data.length;
  }

  /**
   * acceptHistory records that this user joined room on inviter's
   * invitation, so that a history bundle from that inviter (and no one
   * else) is accepted; it imports one that already arrived.
   */
  async acceptHistory(room: string, inviter: string): Promise<boolean> {
    const w = this.w;
    await this.machine.storeRoomPendingKeyBundle(new w.RoomId(toMatrixRoom(room)), new w.UserId(toMatrixUser(inviter)));
    return this.loadHistory(room, inviter);
  }

  /** loadHistory imports the inviter's bundle for room if it has arrived. */
  async loadHistory(room: string, inviter: string): Promise<boolean> {
    const w = this.w;
    await this.track([inviter]);
    const bundle = await this.machine.getReceivedRoomKeyBundleData(new w.RoomId(toMatrixRoom(room)), new w.UserId(toMatrixUser(inviter)));
    if (!bundle) return false;
    const url = bundle.url;
    const prefix = 'data:application/octet-stream;base64,';
    if (!url.startsWith(prefix)) throw new Error('the history bundle is not inline');
    await this.machine.receiveRoomKeyBundle(bundle, fromBase64(url.slice(prefix.length)));
    await this.machine.clearRoomPendingKeyBundle(new w.RoomId(toMatrixRoom(room)));
    this.emit('keys', { room, sessions: [] });
    return true;
  }
}

/** Verification is one SAS (emoji) verification with a device, ours or another user's. */
export class Verification {
  readonly request: Wasm.VerificationRequest;
  private readonly e: E2ee;
  private readonly w: W;
  private sasHooked = false;
  private refreshed = false;
  // Each step is taken once: the UI may see a phase several times, and a
  // second start or accept would break the flow.
  private started = false;
  private accepted = false;
  private listeners = new Set<() => void>();

  constructor(e: E2ee, w: W, request: Wasm.VerificationRequest) {
    this.e = e;
    this.w = w;
    this.request = request;
  }

  get flowId(): string {
    return this.request.flowId;
  }
  /** otherUser is the Hearth ID of the user on the other side. */
  get otherUser(): string {
    return fromMatrixUser(this.request.otherUserId.toString());
  }
  get otherDevice(): string | undefined {
    return this.request.otherDeviceId?.toString();
  }
  get weStarted(): boolean {
    return this.request.weStarted();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    if (!this.refreshed && this.phase() === 'done') {
      // The signatures the verification made are on the node now; read
      // them back so that the identity shows as verified.
      this.refreshed = true;
      void this.e.queryNow([this.otherUser]).catch(() => undefined);
    }
    const sas = this.sas();
    if (sas && !this.sasHooked) {
      this.sasHooked = true;
      sas.registerChangesCallback(async () => this.changed());
    }
    for (const fn of this.listeners) fn();
    this.e.emitVerification(this);
  }

  private sas(): Wasm.Sas | undefined {
    const v = this.request.getVerification();
    return v instanceof this.w.Sas ? v : undefined;
  }

  /** phase is where the flow is, for the UI. */
  phase(): 'requested' | 'ready' | 'started' | 'emoji' | 'confirmed' | 'done' | 'cancelled' {
    const r = this.request;
    if (r.isCancelled()) return 'cancelled';
    const sas = this.sas();
    if (r.isDone() || sas?.isDone()) return 'done';
    if (sas) {
      if (sas.isCancelled()) return 'cancelled';
      if (sas.haveWeConfirmed()) return 'confirmed';
      if (sas.canBePresented()) return 'emoji';
      return 'started';
    }
    if (r.isReady()) return 'ready';
    return 'requested';
  }

  /** accept answers an incoming request (the other side then starts SAS). */
  async accept(): Promise<void> {
    await this.e.sendOutgoing(this.request.acceptWithMethods([this.w.VerificationMethod.SasV1]) as OutReq | undefined);
  }

  /** start begins SAS once the request is ready (the side that asked does this); once per flow. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const r = await this.request.startSas();
    if (r) await this.e.sendOutgoing(r[1] as OutReq);
    this.changed();
  }

  /** acceptSas accepts the other side's SAS start, so both compute the emoji. */
  async acceptSas(): Promise<void> {
    const sas = this.sas();
    if (!sas) throw new Error('no SAS started yet');
    if (this.accepted) return;
    this.accepted = true;
    if (!sas.weStarted() && !sas.hasBeenAccepted()) await this.e.sendOutgoing(sas.accept() as OutReq | undefined);
    this.changed();
  }

  /** emoji are the seven pictures both sides compare. */
  emoji(): { symbol: string; description: string }[] | undefined {
    return this.sas()
      ?.emoji()
      ?.map((e) => ({ symbol: e.symbol, description: e.description }));
  }

  /** confirm says the emoji match: the devices (and, between users, the identities) are signed. */
  async confirm(): Promise<void> {
    const sas = this.sas();
    if (!sas) throw new Error('no SAS to confirm');
    const reqs = await sas.confirm();
    for (const r of reqs) await this.e.sendOutgoing(r as OutReq);
    this.changed();
  }

  /** cancel says they do not match (or the user gave up). */
  async cancel(): Promise<void> {
    const sas = this.sas();
    await this.e.sendOutgoing((sas ? sas.cancelWithCode('m.mismatched_sas') : this.request.cancel()) as OutReq | undefined);
    this.changed();
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

export { fromMatrixUser, toMatrixUser };

/** describeToDevice summarises to-device events for a trace: type, sender and, for Olm, the sender key. */
function describeToDevice(events: unknown): string {
  if (!Array.isArray(events)) return '[]';
  return events
    .map((e: { type?: string; sender?: string; content?: { sender_key?: string; ciphertext?: Record<string, { type?: number }> } }) => {
      const olm = e.content?.ciphertext ? Object.values(e.content.ciphertext).map((c) => `olm${c?.type}`).join('/') : '';
      return `${e.type}<${e.sender}${olm ? ` ${olm} ${e.content?.sender_key?.slice(0, 8)}` : ''}>`;
    })
    .join(' ');
}

/** describeRequest summarises an outgoing request for a trace: who it addresses, or its keys (cut short). */
function describeRequest(body: Record<string, unknown>, eventType?: string): string {
  const msgs = body.messages as Record<string, Record<string, unknown>> | undefined;
  if (msgs) {
    const to = Object.entries(msgs).map(([u, d]) => `${u}:${Object.keys(d).join('+')}`);
    return `${eventType ?? ''} to ${to.join(' ')}`;
  }
  const keys = body.one_time_keys ?? body.device_keys;
  return keys ? JSON.stringify(keys).slice(0, 300) : '';
}
