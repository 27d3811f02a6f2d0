// Browser test of media across two real nodes (API.md §6, docs/ui.md
// "Media"): Alice on node A pastes an image into a room, Bob on node B
// sees it (node B fetches the file from A over libp2p, and Bob's <img>
// authenticates with the media cookie); Bob drops an image on the room
// and Alice sees it; a file over node A's limit gets a sentence, not a
// silent failure; an avatar set in Settings shows in place of initials,
// on both nodes; in an encrypted DM the image is encrypted in the
// browser, the node holds only ciphertext, and the other person decrypts it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { cleanupTemp, createRoom, joinById, launchBrowser, message, newUser, send, shoot, signUp, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();
const PASSWORD = 'correct horse battery';
const RUN = Math.random().toString(36).slice(2, 8);

// --- a tiny PNG encoder, so each test image is real and distinct --------

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** png makes a w×h RGB PNG in one colour with a diagonal stripe. */
function png(w, h, [r, g, b]) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      const stripe = Math.abs(x - y) < 3;
      raw[o] = stripe ? 255 - r : r;
      raw[o + 1] = stripe ? 255 - g : g;
      raw[o + 2] = stripe ? 255 - b : b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** pasteImage pastes a PNG into the composer the way a clipboard does. */
async function pasteImage(page, bytes, name) {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.focus();
  await box.evaluate(
    (el, { b64, name }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], name, { type: 'image/png' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    },
    { b64: bytes.toString('base64'), name },
  );
}

/** dropImage drags a PNG from outside the browser onto the room. */
async function dropImage(page, bytes, name) {
  const dt = await page.evaluateHandle(
    ({ b64, name }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], name, { type: 'image/png' }));
      return dt;
    },
    { b64: bytes.toString('base64'), name },
  );
  const zone = page.locator('[data-dropzone]');
  await zone.dispatchEvent('dragenter', { dataTransfer: dt });
  await zone.dispatchEvent('dragover', { dataTransfer: dt });
  await page.getByText('Drop files to attach them').waitFor();
  await zone.dispatchEvent('drop', { dataTransfer: dt });
}

/** loaded waits until an <img> has decoded real pixels (not a broken image). */
async function loaded(img, what) {
  await img.waitFor({ timeout: 60_000 });
  await waitFor(what, () => img.evaluate((el) => el.complete && el.naturalWidth > 0), 60_000, 200);
}

/** setUpEncryption opens Settings, Security and waits until this device is set up (as e2ee.test.mjs does). */
async function setUpEncryption(page) {
  await page.goto(new URL('/settings', page.url()).href);
  await page.getByRole('heading', { name: 'Security' }).waitFor({ timeout: 30_000 });
  const setUp = page.getByRole('button', { name: 'Set up encryption' });
  if (await setUp.isVisible().catch(() => false)) await setUp.click();
  await page.getByRole('heading', { name: 'Your devices' }).waitFor({ timeout: 60_000 });
}

/** shows waits for a message to show on page; on a timeout it says what both people saw. */
async function shows(page, text, people) {
  const m = message(page, text);
  await m.waitFor({ timeout: 90_000 }).catch(async (err) => {
    const seen = [];
    for (const p of people) {
      seen.push((await p.page.getByRole('log', { name: 'Messages', exact: true }).innerText().catch(() => '?')).slice(-1500));
      seen.push(`console: ${p.consoleErrors.join('\n')}`);
    }
    throw new Error(`${err.message}\n${seen.join('\n---\n')}`);
  });
  return m;
}

async function post(base, path, body, token) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

describe('media in the browser across two nodes', { skip: skip || false, timeout: 300_000 }, () => {
  let a, b, browser, alice, bob, roomId, bobId;
  const aliceName = `alice${RUN}`;
  const bobName = `bob${RUN}`;

  before(async () => {
    // Node A accepts uploads of at most 64 KiB, so the test can show the 413 sentence.
    a = await startNode({ data: tempDir('media-a'), name: 'node-a', extraArgs: ['--max-upload', '64KiB'] });
    const dial = a.addrs.find((x) => x.includes('/127.0.0.1/')) ?? a.addrs[0];
    b = await startNode({ data: tempDir('media-b'), name: 'node-b', peers: [dial] });
    browser = await launchBrowser();
    alice = await newUser(browser, a.url);
    bob = await newUser(browser, b.url);
    await signUp(alice.page, { username: aliceName, displayName: 'Alice' });
    await signUp(bob.page, { username: bobName, displayName: 'Bob' });
    await bob.page.goto(`${b.url}/settings`);
    bobId = (await bob.page.locator('code', { hasText: `${bobName}@` }).first().innerText()).trim();
    await bob.page.goto(b.url);
    roomId = await createRoom(alice.page, 'pictures');
    await send(alice.page, 'welcome to pictures');
    await waitFor(
      'bob to join the room on node B',
      async () => {
        try {
          await joinById(bob.page, roomId);
          return true;
        } catch {
          await bob.page.keyboard.press('Escape');
          await bob.page.goto(b.url);
          return false;
        }
      },
      60_000,
      1000,
    );
    await message(bob.page, 'welcome to pictures').waitFor({ timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    await b?.stop();
    await a?.stop();
    cleanupTemp();
  });

  it('a pasted image reaches the user on the other node, as a thumbnail that opens the full image', async () => {
    await pasteImage(alice.page, png(400, 300, [200, 40, 40]), 'pasted.png');
    await alice.page.locator('[data-upload=done]').waitFor({ timeout: 30_000 });
    // A message with only a file: the body stays empty.
    await alice.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    const log = (p) => p.getByRole('log', { name: 'Messages', exact: true });
    const mine = log(alice.page).locator('[data-message-id]:not([data-status=pending]) img[alt="pasted.png"]');
    await loaded(mine, "Alice's own thumbnail to load");

    const theirs = log(bob.page).locator('img[alt="pasted.png"]');
    await loaded(theirs, "the image to load on node B");
    // The box is reserved from the Media's dimensions (400×300 → 320×240).
    const box = await theirs.evaluate((el) => [el.getAttribute('width'), el.getAttribute('height')]);
    assert.deepEqual(box, ['320', '240']);
    assert.match(await theirs.getAttribute('src'), /\/thumbnail\?w=\d+&h=\d+/);

    await log(bob.page).getByRole('button', { name: 'Open image pasted.png' }).click();
    const dialog = bob.page.getByRole('dialog', { name: 'pasted.png' });
    const full = dialog.locator('img');
    await loaded(full, 'the full image to open');
    assert.equal(await full.evaluate((el) => el.naturalWidth), 400);
    await shoot(bob.page, 'media-image');
    await dialog.getByRole('button', { name: 'Close' }).click();
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  it('an image dropped on the room reaches the other node with its text', async () => {
    await dropImage(bob.page, png(120, 200, [30, 90, 220]), 'dropped.png');
    await bob.page.locator('[data-upload=done]').waitFor({ timeout: 30_000 });
    await send(bob.page, 'a dropped picture');
    const m = message(alice.page, 'a dropped picture');
    await m.waitFor({ timeout: 60_000 });
    await loaded(m.locator('img[alt="dropped.png"]'), 'the dropped image to load on node A');
    assert.deepEqual(await m.locator('img[alt="dropped.png"]').evaluate((el) => [el.width, el.height]), [120, 200]);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  it('a file over the node limit is refused with a sentence, and nothing is sent', async () => {
    const big = Buffer.alloc(100 * 1024, 7);
    await alice.page.locator('input[type=file][multiple]').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: big });
    const failed = alice.page.locator('[data-upload=failed]');
    await failed.waitFor({ timeout: 30_000 });
    assert.equal((await failed.getByRole('alert').innerText()).trim(), 'This file is larger than this node accepts.');
    await alice.page.getByRole('button', { name: 'Remove big.bin' }).click();
    await failed.waitFor({ state: 'detached' });
    // A small file goes out as a download chip with its name and size.
    await alice.page.locator('input[type=file][multiple]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('plain notes\n') });
    await alice.page.locator('[data-upload=done]').waitFor({ timeout: 30_000 });
    await send(alice.page, 'the notes');
    const chip = message(bob.page, 'the notes').getByRole('link', { name: /Download notes\.txt, 12 B/ });
    await chip.waitFor({ timeout: 60_000 });
    const href = await chip.getAttribute('href');
    // The download works with the browser's media cookie alone.
    const got = await bob.page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.equal(got, 'plain notes\n');
  });

  it('an avatar set in Settings shows instead of initials, on both nodes', async () => {
    await alice.page.goto(`${a.url}/settings`);
    await alice.page.getByLabel('Avatar picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png(96, 96, [20, 160, 60]) });
    await alice.page.getByRole('status').filter({ hasText: 'Avatar saved.' }).waitFor({ timeout: 30_000 });
    const mine = alice.page.getByRole('navigation', { name: 'Rooms' }).locator('img[data-avatar]').first();
    await loaded(mine, "Alice's avatar in her sidebar");
    assert.match(await mine.getAttribute('src'), /\/thumbnail\?w=64&h=64/);
    const avatarId = await mine.getAttribute('data-avatar');

    // Bob, on node B, sees it next to Alice's messages once his node has her profile.
    await waitFor(
      "Alice's avatar to show on node B",
      async () => {
        await bob.page.goto(`${b.url}/r/${encodeURIComponent(roomId)}`);
        const img = message(bob.page, 'welcome to pictures').locator(`img[data-avatar="${avatarId}"]`);
        await img.waitFor({ timeout: 5_000 });
        return img.evaluate((el) => el.complete && el.naturalWidth > 0);
      },
      90_000,
      2000,
    );
    await shoot(bob.page, 'media-avatar');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  it('in an encrypted DM the image is encrypted in the browser and decrypted by the other person', async () => {
    // Both people are on node A here: what this test proves is the file's
    // path (encrypted before upload, key inside the Megolm message,
    // decrypted in the other browser); the delivery of room keys across
    // nodes is e2ee.test.mjs's subject.
    const carol = await newUser(browser, a.url);
    const carolName = `carol${RUN}`;
    await signUp(carol.page, { username: carolName, displayName: 'Carol' });
    await carol.page.goto(`${a.url}/settings`);
    const carolId = (await carol.page.locator('code', { hasText: `${carolName}@` }).first().innerText()).trim();
    // Each device sets up encryption (keys published, device signed by its
    // owner) before anyone encrypts: a device not yet signed gets no keys.
    await setUpEncryption(alice.page);
    await setUpEncryption(carol.page);
    await carol.page.goto(a.url);
    const login = await post(a.url, '/auth/login', { username: aliceName, password: PASSWORD });
    const dm = await post(a.url, '/dm', { userId: carolId }, login.accessToken);
    assert.equal(dm.encrypted, true);
    await post(a.url, '/auth/logout', undefined, login.accessToken);
    await alice.page.goto(`${a.url}/r/${encodeURIComponent(dm.id)}`);
    await alice.page.getByRole('log', { name: 'Messages' }).waitFor();
    // Both devices publish their keys before the file is sent: Carol
    // writes first and Alice reads her, so each can encrypt for the other.
    await carol.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /alice/i }).first().click({ timeout: 60_000 });
    await carol.page.waitForURL((u) => u.pathname === `/r/${encodeURIComponent(dm.id)}`);
    await send(carol.page, 'carol is here');
    await shows(alice.page, 'carol is here', [alice, carol]);

    await pasteImage(alice.page, png(64, 48, [250, 200, 0]), 'secret.png');
    await alice.page.locator('[data-upload=done]').waitFor({ timeout: 60_000 });
    await send(alice.page, 'an encrypted picture');
    const m = await shows(carol.page, 'an encrypted picture', [alice, carol]);
    const img = m.locator('[data-encrypted] img[alt="secret.png"]');
    await loaded(img, 'the decrypted image in the other browser');
    assert.match(await img.getAttribute('src'), /^blob:/);
    assert.equal(await img.evaluate((el) => el.naturalWidth), 64);

    // The node holds ciphertext only: no name, no image type, no thumbnail.
    const id = await m.locator('[data-media-id]').first().getAttribute('data-media-id');
    const stored = await carol.page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, type: r.headers.get('content-type'), bytes: new Uint8Array(await r.arrayBuffer()).slice(0, 8).join(',') };
    }, `/api/v1/media/${id}`);
    assert.equal(stored.status, 200);
    assert.notEqual(stored.bytes, '137,80,78,71,13,10,26,10', 'the stored bytes are not the PNG');
    assert.doesNotMatch(stored.type ?? '', /image/);
    const thumb = await carol.page.evaluate(async (u) => (await fetch(u)).status, `/api/v1/media/${id}/thumbnail?w=64&h=64`);
    assert.notEqual(thumb, 200);
    await shoot(carol.page, 'media-encrypted');
    assert.deepEqual([...alice.problems, ...carol.problems], []);
    await carol.context.close();
  });
});
