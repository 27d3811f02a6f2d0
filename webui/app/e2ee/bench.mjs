// bench.mjs measures what end-to-end encryption costs, with the app's
// crypto engine around real OlmMachines and a real `hearth serve`:
//   - the client's time to encrypt a message (the whole send path of an
//     established room, and the OlmMachine's encryptRoomEvent alone), and
//     to decrypt one;
//   - the extra bytes on the wire per message (send frame, encrypted vs
//     plaintext, for several body sizes);
//   - the node's fan-out with and without encryption: R recipients, one
//     user per connection, in a plaintext and in an encrypted room, the
//     same senders and pace; the node does the same work, the payload is
//     larger.
// Usage: HEARTH_BIN=... node --experimental-websocket e2ee/bench.mjs [--out FILE] [--quick]
// (bench/run.sh can call it; see docs/e2ee.md).
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cleanupTemp, startNode, tempDir } from '../e2e/harness.mjs';
import { buildEngine } from './build.mjs';
import { Device, waitFor } from './client.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIdx = args.indexOf('--out');
const outFile = outIdx >= 0 ? args[outIdx + 1] : '';
const N = quick ? 100 : 500; // messages timed
const R = quick ? 10 : 40; // fan-out recipients
const FAN_MSGS = quick ? 50 : 200;

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p99: q(0.99) };
}
const fmt = (x) => x.toFixed(3);

const lib = await buildEngine();
const node = await startNode({ data: tempDir('e2ee-bench'), name: 'bench' });
const devs = [];
const pw = 'correct horse battery';
const run = Math.random().toString(36).slice(2, 7);
try {
  const alice = await Device.register(node, `alice${run}`, pw, 'ALICE');
  const bob = await Device.register(node, `bob${run}`, pw, 'BOB');
  devs.push(alice, bob);
  for (const d of [alice, bob]) {
    await d.startCrypto(lib, { rotateAfterMessages: 100_000 });
    await d.e2ee.setUpCrossSigning();
  }
  const room = (await alice.http('POST', '/rooms', { name: 'bench', visibility: 'private' })).id;
  await alice.http('POST', `/rooms/${room}/invite`, { userId: bob.user });
  await bob.http('POST', `/rooms/${room}/join`, {});
  const members = [alice.user, bob.user];
  const warm = await alice.send(room, 'warm-up');
  await waitFor('bob to read the warm-up', async () => (await bob.e2ee.decrypt(await bob.message(room, warm.id))).ok);

  // Encrypt: the engine's whole path (members tracked, sessions present, key shared) and the machine alone.
  const body = 'x'.repeat(200);
  const encPath = [];
  const contents = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    contents.push(await alice.e2ee.encrypt(room, members, body));
    encPath.push(performance.now() - t0);
  }
  const w = await import('@matrix-org/matrix-sdk-crypto-wasm');
  const rid = new w.RoomId(lib.toMatrixRoom(room));
  const encRaw = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await alice.e2ee.machine.encryptRoomEvent(rid, 'm.room.message', JSON.stringify({ msgtype: 'm.text', body, 'io.hearth.rel': {} }));
    encRaw.push(performance.now() - t0);
  }
  // Decrypt what alice encrypted (delivered to bob's machine by the warm-up's session).
  const dec = [];
  for (let i = 0; i < N; i++) {
    const m = { id: `bench${i}`, room, sender: alice.user, ts: Date.now(), encrypted: contents[i] };
    const t0 = performance.now();
    const r = await bob.e2ee.decrypt(m);
    dec.push(performance.now() - t0);
    if (!r.ok) throw new Error(`bench decrypt failed: ${r.why}`);
  }

  // Extra bytes per message on the wire (the send frame).
  const sizes = [];
  for (const len of [20, 200, 2000]) {
    const text = 'y'.repeat(len);
    const plain = JSON.stringify({ type: 'send', id: 'c0123456789abcdef', room, body: text });
    const enc = JSON.stringify({ type: 'send', id: 'c0123456789abcdef', room, encrypted: await alice.e2ee.encrypt(room, members, text) });
    sizes.push({ body: len, plainFrame: plain.length, encryptedFrame: enc.length, extra: enc.length - plain.length });
  }

  // Fan-out: R recipients (one user per connection) get each message of a
  // sender, in a plaintext room and in an encrypted one.
  const recipients = [];
  for (let i = 0; i < R; i++) {
    const d = await Device.register(node, `r${i}x${run}`, pw, `R${i}`);
    await d.connect();
    recipients.push(d);
    devs.push(d);
  }
  const plainRoom = (await alice.http('POST', '/rooms', { name: 'fan-plain', visibility: 'public' })).id;
  const encRoom = (await alice.http('POST', '/rooms', { name: 'fan-enc', visibility: 'public', encrypted: true })).id;
  for (const d of recipients) for (const r of [plainRoom, encRoom]) await d.http('POST', `/rooms/${r}/join`, {});
  const payload = await alice.e2ee.encrypt(encRoom, [alice.user], body);
  async function fan(r, frame) {
    const lat = [];
    const seen = new Map();
    const onMsg = (d) => (f) => {
      if (f.type === 'message' && f.message.room === r) {
        const t0 = seen.get(f.message.clientId);
        if (t0) lat.push(performance.now() - t0);
      }
    };
    for (const d of recipients) d.onFrame = ((orig, h) => (f) => (h(f), orig(f)))(Device.prototype.onFrame.bind(d), onMsg(d));
    const t0 = performance.now();
    for (let i = 0; i < FAN_MSGS; i++) {
      const id = `f${r}${i}`;
      seen.set(id, performance.now());
      await new Promise((resolve, reject) => {
        alice.pending.set(id, { resolve, reject });
        alice.wsSend({ ...frame, room: r, id });
      });
    }
    await waitFor('every delivery', () => lat.length >= FAN_MSGS * R, 60_000);
    const secs = (performance.now() - t0) / 1000;
    return { ...stats(lat), deliveriesPerSecond: (FAN_MSGS * R) / secs };
  }
  const fanPlain = await fan(plainRoom, { type: 'send', body });
  const fanEnc = await fan(encRoom, { type: 'send', encrypted: payload });

  const result = {
    messages: N,
    encryptPathMs: stats(encPath),
    encryptRoomEventMs: stats(encRaw),
    decryptMs: stats(dec),
    wireBytes: sizes,
    fanout: { recipients: R, messages: FAN_MSGS, plaintext: fanPlain, encrypted: fanEnc },
  };
  console.log('## End-to-end encryption (e2ee/bench.mjs)\n');
  console.log(`| client, ${N} messages of 200 chars | mean ms | p50 ms | p99 ms |\n| --- | --- | --- | --- |`);
  for (const [k, s] of [['encrypt (engine: track, share, encrypt)', result.encryptPathMs], ['encryptRoomEvent alone', result.encryptRoomEventMs], ['decrypt', result.decryptMs]]) {
    console.log(`| ${k} | ${fmt(s.mean)} | ${fmt(s.p50)} | ${fmt(s.p99)} |`);
  }
  console.log('\n| body chars | send frame, plaintext | send frame, encrypted | extra bytes |\n| --- | --- | --- | --- |');
  for (const s of sizes) console.log(`| ${s.body} | ${s.plainFrame} | ${s.encryptedFrame} | ${s.extra} |`);
  console.log(`\n| fan-out: ${R} recipients, ${FAN_MSGS} messages | p50 ms | p99 ms | deliveries/s |\n| --- | --- | --- | --- |`);
  for (const [k, s] of [['plaintext room', fanPlain], ['encrypted room', fanEnc]]) {
    console.log(`| ${k} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${s.deliveriesPerSecond.toFixed(0)} |`);
  }
  if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2));
} finally {
  await Promise.allSettled(devs.map((d) => d.close()));
  await node.stop();
  cleanupTemp();
}
