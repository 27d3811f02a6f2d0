// End-to-end encryption across three real `hearth serve` processes
// (A-B-C in a line: B dials A, C dials B), with the app's own crypto
// engine (src/crypto) around real OlmMachines under Node.js: users with
// two devices each, SAS verification and cross-signing, messages, edits,
// replies, threads and reactions, a member leaving, a new member, history
// shared on invite, a new device restoring from the key backup, a device
// injected by a node, and a scan of every node's raw files for the
// plaintext. Every "unable to decrypt" is counted by its reason.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, HEARTH_BIN, startNode, tempDir } from '../e2e/harness.mjs';
import { buildEngine } from './build.mjs';
import { Device, waitFor } from './client.mjs';

const skip = !HEARTH_BIN || !existsSync(HEARTH_BIN) ? 'HEARTH_BIN is not set to a built hearth binary' : '';
if (skip && process.env.HEARTH_E2E_REQUIRED === '1') throw new Error(`e2ee tests required but cannot run: ${skip}`);

const RUN = randomBytes(4).toString('hex');
const markers = [];
/** marker makes a unique plaintext string that must never reach a node's disk. */
function marker(name) {
  const m = `SECRET-${RUN}-${name}-${randomBytes(3).toString('hex')}`;
  markers.push(m);
  return m;
}

// utd counts "unable to decrypt" outcomes: one per device, message and reason.
const utd = new Map();
function noteUtd(dev, id, r) {
  if (r.ok) return;
  const k = `${dev.user}/${dev.deviceId}/${id}/${r.why}`;
  if (!utd.has(k)) utd.set(k, r.why);
}
function utdCounts() {
  const c = {};
  for (const why of utd.values()) c[why] = (c[why] ?? 0) + 1;
  return c;
}

/** readable waits until dev can read message id of room, and returns the message and its plaintext. */
async function readable(dev, room, id, joinedAt) {
  return waitFor(`${dev.user}/${dev.deviceId} to read ${id}`, async () => {
    const m = await dev.message(room, id);
    if (!m) return false;
    const r = await dev.e2ee.decrypt(m, { joinedAt });
    noteUtd(dev, id, r);
    if (r.ok) return { m, r };
    if (!r.retry) throw new Error(`unreadable: ${r.why}: ${r.text}`);
    return false;
  }, 30_000, 150);
}

/** unreadable decrypts m on dev and expects a failure; it returns the reason. */
async function unreadable(dev, m, joinedAt) {
  await dev.e2ee.idle();
  const r = await dev.e2ee.decrypt(m, { joinedAt });
  noteUtd(dev, m.id, r);
  assert.equal(r.ok, false, `${dev.user}/${dev.deviceId} must not read ${m.id}`);
  return r.why;
}

/** sas runs an emoji verification between two devices and checks both saw the same emoji. */
async function sas(from, to) {
  const vf = await from.e2ee.requestVerification(to.user, to.deviceId);
  const vt = await waitFor('the verification request to arrive', () => to.e2ee.verifications(from.user).find((v) => v.flowId === vf.flowId));
  await vt.accept();
  await waitFor('the request to be ready', () => vf.phase() === 'ready');
  await vf.start();
  await waitFor('the SAS start to arrive', () => ['started', 'emoji'].includes(vt.phase()));
  await vt.acceptSas();
  await waitFor('both sides to show emoji', () => vf.emoji() && vt.emoji());
  const a = vf.emoji().map((e) => e.symbol);
  assert.equal(a.length, 7);
  assert.deepEqual(vt.emoji().map((e) => e.symbol), a, 'both devices show the same emoji');
  await vf.confirm();
  await vt.confirm();
  await waitFor('the verification to finish on both sides', () => vf.phase() === 'done' && vt.phase() === 'done', 30_000);
}

function sessionOf(m) {
  return m.encrypted.session_id;
}

describe('end-to-end encryption across three nodes', { skip: skip || false, timeout: 600_000 }, () => {
  const nodes = {};
  const devs = [];
  let lib;
  let room;
  let publicRoom;
  const pw = 'correct horse battery';

  async function register(node, name, deviceId) {
    const d = await Device.register(node, `${name}-${RUN}`, pw, deviceId);
    devs.push(d);
    return d;
  }
  async function login(node, name, deviceId) {
    const d = await Device.login(node, `${name}-${RUN}`, pw, deviceId);
    devs.push(d);
    return d;
  }

  before(async () => {
    lib = await buildEngine();
    const dial = (n) => n.addrs.find((x) => x.includes('/127.0.0.1/')) ?? n.addrs[0];
    const start = async (name, peers) => {
      const dataDir = tempDir(`e2ee-${name}`);
      return Object.assign(await startNode({ data: dataDir, name: `node-${name}`, peers }), { dataDir });
    };
    nodes.a = await start('a', []);
    nodes.b = await start('b', [dial(nodes.a)]);
    nodes.c = await start('c', [dial(nodes.b)]);
  });

  after(async () => {
    await Promise.allSettled(devs.map((d) => d.close()));
    await Promise.allSettled(Object.values(nodes).map((n) => n.stop()));
    cleanupTemp();
  });

  let alice1, alice2, bob1, bob2, carol1, carol2, dave;
  let recoveryKey;
  const sent = {};

  it('sets up devices: cross-signing on the first, emoji verification of the second, a backup', async () => {
    alice1 = await register(nodes.a, 'alice', 'ALICE1');
    bob1 = await register(nodes.b, 'bob', 'BOB1');
    carol1 = await register(nodes.c, 'carol', 'CAROL1');
    for (const d of [alice1, bob1, carol1]) {
      await d.startCrypto(lib);
      assert.equal(await d.e2ee.setUpCrossSigning(), 'created');
    }
    recoveryKey = await alice1.e2ee.setUpBackup();
    assert.match(recoveryKey, /^(\w{4} )+\w{1,4}$/);

    alice2 = await login(nodes.a, 'alice', 'ALICE2');
    bob2 = await login(nodes.b, 'bob', 'BOB2');
    carol2 = await login(nodes.c, 'carol', 'CAROL2');
    for (const d of [alice2, bob2, carol2]) await d.startCrypto(lib, d === alice2 ? { rotateAfterMessages: 2 } : {});
    assert.equal(await alice2.e2ee.setUpCrossSigning(), 'exists', 'a second device finds the identity and does not replace it');

    // Before verification the second device is not signed by its owner.
    const before = (await alice1.e2ee.devices(alice1.user)).find((d) => d.deviceId === 'ALICE2');
    assert.equal(before.crossSigned, false);
    await Promise.all([sas(alice1, alice2), sas(bob1, bob2), sas(carol1, carol2)]);
    await waitFor('ALICE2 to be cross-signed', async () => {
      await alice1.e2ee.queryNow([alice1.user]);
      return (await alice1.e2ee.devices(alice1.user)).find((d) => d.deviceId === 'ALICE2')?.crossSigned;
    });

    // Alice and Bob verify each other (across nodes A and B).
    await sas(alice1, bob1);
    // Each signed the other's master key with their user-signing key.
    for (const [d, other] of [[alice1, bob1], [bob1, alice1]]) {
      await waitFor(`${d.user} to trust ${other.user}`, async () => {
        await d.e2ee.queryNow([other.user]);
        return d.e2ee.userVerified(other.user);
      });
    }
    assert.equal(await carol1.e2ee.userVerified(bob1.user), false, 'carol did not verify bob');
  });

  it('round-trips messages, edits, replies, threads and reactions across A, B and C', async () => {
    const r = await alice1.http('POST', '/rooms', { name: `secret-${RUN}`, visibility: 'private' });
    assert.equal(r.encrypted, true, 'a private room is encrypted by default');
    room = r.id;
    for (const d of [bob1, carol1]) await alice1.http('POST', `/rooms/${room}/invite`, { userId: d.user });
    for (const d of [bob1, carol1]) {
      await waitFor(`${d.user} to join`, () => d.http('POST', `/rooms/${room}/join`, {}).then(() => true), 30_000, 500);
    }
    // Every sender's node must know every member before it sends: a
    // device shares the room key with the members its node lists, and a
    // join its node has not heard of yet gets no key for that message
    // (docs/e2ee.md, "Unable to decrypt", explained). Bob and Carol send below from
    // nodes B and C.
    for (const d of [alice1, bob1, carol1]) {
      await waitFor(`all members on ${d.user}'s node`, async () => (await d.members(room)).length === 3);
    }

    sent.m1 = marker('first');
    const m1 = await alice1.send(room, sent.m1);
    assert.equal(m1.body, '', 'the node stores no body');
    assert.ok(!JSON.stringify(m1).includes(sent.m1));
    for (const d of [alice2, bob1, bob2, carol1, carol2]) {
      const { r } = await readable(d, room, m1.id);
      assert.equal(r.body, sent.m1);
      assert.equal(r.shield, '', `${d.deviceId} sees alice's device as cross-signed`);
    }
    sent.m1id = m1.id;

    sent.reply = marker('reply');
    const reply = await bob2.send(room, sent.reply, { replyTo: m1.id });
    sent.thread = marker('thread');
    const thread = await carol1.send(room, sent.thread, { thread: m1.id });
    for (const d of [alice1, alice2, carol2]) {
      const a = await readable(d, room, reply.id);
      assert.equal(a.r.body, sent.reply);
      assert.equal(a.m.replyTo, m1.id);
    }
    for (const d of [alice1, bob1, bob2]) {
      const a = await readable(d, room, thread.id);
      assert.equal(a.r.body, sent.thread);
      assert.equal(a.m.thread, m1.id);
    }

    sent.edit = marker('edited');
    const edited = await alice1.edit(m1, sent.edit);
    assert.ok(edited.editedAt);
    for (const d of [bob1, carol2]) {
      await waitFor(`${d.deviceId} to see the edit`, async () => {
        const m = await d.message(room, m1.id);
        if (!m?.editedAt) return false;
        const res = await d.e2ee.decrypt(m);
        noteUtd(d, `${m1.id}-edit`, res);
        return res.ok && res.body === sent.edit;
      });
    }

    await bob1.http('PUT', `/rooms/${room}/messages/${m1.id}/reactions/${encodeURIComponent('👍')}`);
    // Reactions come as a count and a few of the users (docs/api.md).
    await waitFor('the reaction on node C', async () =>
      (await carol1.message(room, m1.id))?.reactions?.some((r) => r.emoji === '👍' && r.count === 1 && r.users.includes(bob1.user)),
    );
  });

  it('rotates the session after its message budget', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await alice2.send(room, marker(`budget-${i}`)));
    assert.equal(sessionOf(ids[0]), sessionOf(ids[1]));
    assert.notEqual(sessionOf(ids[1]), sessionOf(ids[2]), 'a third message starts a new session (budget 2)');
    for (const m of ids) await readable(bob1, room, m.id);
  });

  it('flags a device a node injects for its own user, and shares no key with it', async () => {
    // Node B's operator can make a session and device for its user bob and
    // upload keys that the device signs itself; only bob's self-signing key
    // it cannot use. (Logging in with bob's password does exactly what the
    // operator could do directly in its own database.)
    const forged = await login(nodes.b, 'bob', 'FORGED');
    await forged.startCrypto(lib);
    const view = await waitFor('alice to see the forged device', async () => {
      await alice1.e2ee.queryNow([bob1.user]);
      return (await alice1.e2ee.devices(bob1.user)).find((d) => d.deviceId === 'FORGED');
    });
    assert.equal(view.crossSigned, false);
    assert.equal(view.verified, false);
    assert.equal(view.warning, 'loud', 'an unsigned device of a verified user is a loud warning');
    const carolsView = (await carol1.e2ee.devices(bob1.user)).find((d) => d.deviceId === 'FORGED');
    assert.equal(carolsView?.warning, 'unsigned', 'carol has not verified bob: the device shows as unsigned');

    sent.afterForged = marker('after-forged');
    const m = await alice1.send(room, sent.afterForged);
    const ok = await readable(bob2, room, m.id);
    assert.equal(ok.r.body, sent.afterForged);
    await forged.e2ee.idle();
    const why = await unreadable(forged, (await forged.message(room, m.id)) ?? m);
    assert.ok(['unverified-device', 'withheld', 'waiting'].includes(why), `forged device: ${why}`);
  });

  it('rotates when a member leaves: they cannot read newer messages', async () => {
    const beforeLeave = await alice1.send(room, marker('before-leave'));
    await readable(carol2, room, beforeLeave.id);
    await carol1.http('POST', `/rooms/${room}/leave`, {});
    await waitFor('node A to see carol leave', async () => !(await alice1.members(room)).includes(carol1.user));
    sent.afterLeave = marker('after-leave');
    const m = await alice1.send(room, sent.afterLeave);
    assert.notEqual(sessionOf(m), sessionOf(beforeLeave), 'the session rotated');
    await readable(bob1, room, m.id);
    // Carol can no longer fetch the room; give her devices the ciphertext.
    await carol1.e2ee.idle();
    for (const d of [carol1, carol2]) {
      const why = await unreadable(d, m);
      assert.ok(['waiting', 'withheld'].includes(why), why);
    }
  });

  it('rotates when a device is removed: it cannot read newer messages', async () => {
    const before = await alice1.send(room, marker('before-removal'));
    await readable(bob2, room, before.id);
    await bob1.http('DELETE', '/devices/BOB2', { password: pw });
    await waitFor("alice to see BOB2 gone", async () => {
      await alice1.e2ee.queryNow([bob1.user]);
      return !(await alice1.e2ee.devices(bob1.user)).some((d) => d.deviceId === 'BOB2');
    });
    const m = await alice1.send(room, marker('after-removal'));
    assert.notEqual(sessionOf(m), sessionOf(before), 'the session rotated');
    await readable(bob1, room, m.id);
    const why = await unreadable(bob2, m);
    assert.ok(['waiting', 'withheld'].includes(why), why);
  });

  it('a new member reads from their join, and earlier history only when the inviter shares it', async () => {
    dave = await register(nodes.c, 'dave', 'DAVE1');
    await dave.startCrypto(lib);
    await dave.e2ee.setUpCrossSigning();
    await alice1.http('POST', `/rooms/${room}/invite`, { userId: dave.user });
    const joinedAt = Date.now();
    await waitFor('dave to join', () => dave.http('POST', `/rooms/${room}/join`, {}).then(() => true), 30_000, 500);
    await dave.e2ee.acceptHistory(room, alice1.user);
    await waitFor('node A to see dave', async () => (await alice1.members(room)).includes(dave.user));
    sent.afterJoin = marker('after-join');
    const m = await alice1.send(room, sent.afterJoin);
    const got = await readable(dave, room, m.id, joinedAt);
    assert.equal(got.r.body, sent.afterJoin);

    const old = await waitFor('node C to have the old message', () => dave.message(room, sent.m1id));
    assert.equal(await unreadable(dave, old, joinedAt), 'before-join');

    // Alice opts in to sharing the room's history with dave.
    assert.ok((await alice1.e2ee.shareHistory(room, dave.user)) > 0);
    await waitFor('the history bundle to arrive', () => dave.e2ee.loadHistory(room, alice1.user));
    const res = await dave.e2ee.decrypt(old, { joinedAt });
    assert.ok(res.ok, `dave reads the shared history: ${res.text}`);
    assert.equal(res.body, sent.edit);
  });

  it("a user's new device restores the history from the key backup", async () => {
    const counts = await alice1.e2ee.backedUp();
    assert.ok(counts.total > 0 && counts.backedUp === counts.total, `backup caught up: ${JSON.stringify(counts)}`);
    const alice3 = await login(nodes.a, 'alice', 'ALICE3');
    await alice3.startCrypto(lib, { deviceSince: Date.now() });
    const old = await alice3.message(room, sent.m1id);
    assert.equal(await unreadable(alice3, old), 'before-device');
    const { imported } = await alice3.e2ee.restoreBackup({ recoveryKey });
    assert.ok(imported > 0);
    for (const [id, text] of [
      [sent.m1id, sent.edit],
    ]) {
      const r = await alice3.e2ee.decrypt(await alice3.message(room, id));
      assert.ok(r.ok, r.text);
      assert.equal(r.body, text);
    }
    // Bob's reply came from another user's session, backed up by alice's first device.
    const page = await alice3.http('GET', `/rooms/${room}/messages?limit=200`);
    const reply = page.messages.find((m) => m.replyTo === sent.m1id);
    const rr = await alice3.e2ee.decrypt(reply);
    assert.ok(rr.ok, rr.text);
    assert.equal(rr.body, sent.reply);
    // A wrong key is refused with a reason, never imported.
    await assert.rejects(alice3.e2ee.restoreBackup({ recoveryKey: recoveryKey.replace(/^..../, 'EsTc') }), /recovery key/);
  });

  it('restores with a passphrase, and exports and imports keys through a file', async () => {
    await bob1.e2ee.setUpBackup('a long backup passphrase');
    await bob1.e2ee.backedUp();
    const bob3 = await login(nodes.b, 'bob', 'BOB3');
    await bob3.startCrypto(lib);
    await assert.rejects(bob3.e2ee.restoreBackup({ passphrase: 'wrong passphrase' }), /does not open/);
    assert.ok((await bob3.e2ee.restoreBackup({ passphrase: 'a long backup passphrase' })).imported > 0);
    const r = await bob3.e2ee.decrypt(await bob3.message(room, sent.m1id));
    assert.equal(r.ok && r.body, sent.edit);

    const file = await alice1.e2ee.exportKeys('file passphrase', 1000);
    assert.match(file, /BEGIN MEGOLM SESSION DATA/);
    const alice4 = await login(nodes.a, 'alice', 'ALICE4');
    await alice4.startCrypto(lib);
    await assert.rejects(alice4.e2ee.importKeys(file, 'not it'));
    assert.ok((await alice4.e2ee.importKeys(file, 'file passphrase')).imported > 0);
    const r4 = await alice4.e2ee.decrypt(await alice4.message(room, sent.m1id));
    assert.equal(r4.ok && r4.body, sent.edit);
  });

  it('counts every "unable to decrypt" by its reason', () => {
    const c = utdCounts();
    console.log(`unable to decrypt, by reason: ${JSON.stringify(c)}`);
    assert.equal(c.failed ?? 0, 0, 'no unexplained failures');
    assert.equal(c.tampered ?? 0, 0, 'no tampering');
    assert.ok(c['before-join'] >= 1 && c['before-device'] >= 1, 'the expected explained failures happened');
  });

  it("leaves no plaintext in any node's files", async () => {
    // A control: a plaintext room's marker is found, so the scan can fail.
    publicRoom = (await alice1.http('POST', '/rooms', { name: `open-${RUN}`, visibility: 'public' })).id;
    const control = `CONTROL-${RUN}`;
    await alice1.http('POST', `/rooms/${publicRoom}/messages`, { body: control });
    await Promise.allSettled(devs.map((d) => d.close()));
    // SIGKILL, not a clean stop: everything written since start is then
    // still in Badger's write-ahead (.mem) files as written, where a scan
    // can see it; a clean close would flush it into Snappy-compressed
    // tables, where a scan for bytes could miss plaintext.
    for (const n of Object.values(nodes)) await n.stop('SIGKILL');
    const found = {};
    for (const [name, n] of Object.entries(nodes)) {
      for (const file of walk(n.dataDir)) {
        const buf = readFileSync(file);
        for (const m of [...markers, control]) if (buf.includes(m)) (found[m] ??= []).push(`${name}:${file}`);
      }
    }
    assert.ok(found[control]?.some((f) => f.startsWith('a:')), 'the control marker is found on node A');
    const leaked = markers.filter((m) => found[m]);
    assert.deepEqual(leaked.map((m) => `${m} in ${found[m].join(', ')}`), []);
  });
});

function* walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) yield* walk(p);
    else if (st.isFile()) yield p;
  }
}
