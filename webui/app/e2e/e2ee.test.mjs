// Browser test of end-to-end encryption across two real nodes: Alice on
// node A and Bob on node B start an encrypted DM and talk, verify each
// other by comparing emoji, Alice sets up recovery and reloads, then
// signs in on a second browser profile (a new device), where the old
// messages say why they cannot be read until she enters her recovery key.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, launchBrowser, logIn, message, newUser, send, shoot, signUp, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();
const PASSWORD = 'correct horse battery';

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
const RUN = Math.random().toString(36).slice(2, 8);

describe('end-to-end encrypted DM in the browser', { skip: skip || false, timeout: 300_000 }, () => {
  let a, b, browser, alice, bob, alice2;
  const aliceName = `alice${RUN}`;
  const bobName = `bob${RUN}`;
  let bobId;
  let recoveryKey;

  before(async () => {
    a = await startNode({ data: tempDir('e2ee-a'), name: 'node-a' });
    const dial = a.addrs.find((x) => x.includes('/127.0.0.1/')) ?? a.addrs[0];
    b = await startNode({ data: tempDir('e2ee-b'), name: 'node-b', peers: [dial] });
    browser = await launchBrowser();
    alice = await newUser(browser, a.url);
    bob = await newUser(browser, b.url);
  });

  after(async () => {
    await browser?.close();
    await b?.stop();
    await a?.stop();
    cleanupTemp();
  });

  async function openSecurity(page) {
    await page.goto(new URL('/settings', page.url()).href);
    await page.getByRole('heading', { name: 'Security' }).waitFor({ timeout: 30_000 });
    const setUp = page.getByRole('button', { name: 'Set up encryption' });
    if (await setUp.isVisible().catch(() => false)) await setUp.click();
    await page.getByRole('heading', { name: 'Your devices' }).waitFor({ timeout: 60_000 });
  }

  it('starts an encrypted DM across nodes and exchanges messages', async () => {
    await signUp(alice.page, { username: aliceName, displayName: 'Alice' });
    await signUp(bob.page, { username: bobName, displayName: 'Bob' });
    await bob.page.goto(`${b.url}/settings`);
    bobId = (await bob.page.locator('code', { hasText: `${bobName}@` }).first().innerText()).trim();
    // Both devices publish their keys before the first message: a device
    // whose keys no one has yet gets no room key for what is sent before
    // (docs/e2ee.md, "before-device"). Without this the first message was
    // unreadable to Bob in about half the runs, depending on whether his
    // engine had loaded by then.
    await openSecurity(alice.page);
    await openSecurity(bob.page);

    await bob.page.goto(`${b.url}/`);

    // The DM is opened through the API: the UI's user search lists the
    // users a node knows, and a profile reaches another node only by
    // gossip, on no schedule a test can wait for. (The session this makes
    // never uploads keys, so it is no device as far as encryption goes.)
    const login = await post(a.url, '/auth/login', { username: aliceName, password: PASSWORD });
    const dm = await post(a.url, '/dm', { userId: bobId }, login.accessToken);
    assert.equal(dm.encrypted, true, 'a DM is end-to-end encrypted by default');
    await post(a.url, '/auth/logout', undefined, login.accessToken);
    const toBob = alice.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /bob/i });
    await toBob.first().click({ timeout: 30_000 });
    await alice.page.waitForURL(/\/r\//);
    await send(alice.page, 'hello Bob, this is end-to-end encrypted');
    await message(alice.page, 'hello Bob, this is end-to-end encrypted').waitFor({ timeout: 60_000 });

    const entry = bob.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /alice/i });
    await entry.first().waitFor({ timeout: 60_000 });
    await entry.first().click();
    await message(bob.page, 'hello Bob, this is end-to-end encrypted').waitFor({ timeout: 60_000 });
    await send(bob.page, 'hi Alice, reading you on node B');
    await message(alice.page, 'hi Alice, reading you on node B').waitFor({ timeout: 60_000 });
    await shoot(alice.page, 'e2ee-dm');
  });

  it('finds a decrypted message by search, in this browser', async () => {
    const page = bob.page;
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Search messages' });
    await dialog.waitFor();
    await dialog.getByRole('searchbox', { name: 'Search text' }).fill('encrypted');
    const hit = dialog.getByRole('list', { name: 'Search results' }).getByRole('listitem').filter({ hasText: 'end-to-end encrypted' });
    await hit.first().waitFor({ timeout: 30_000 });
    await hit.first().getByText('encrypted, found in this browser').waitFor();
    await page.keyboard.press('Escape');
    // (That the node never indexes an encrypted room is search's own
    // test, TestSearchNeverIndexesEncryptedRooms: a login here would add
    // a device to bob's list in the middle of this story.)
  });

  it('verifies each other by comparing emoji', async () => {
    await openSecurity(alice.page);
    await alice.page.getByLabel('User ID').fill(bobId);
    await alice.page.getByRole('button', { name: 'Show devices' }).click();
    const verifyBtn = alice.page.getByRole('button', { name: /^Verify / }).first();
    await verifyBtn.waitFor({ timeout: 30_000 });
    await verifyBtn.click();

    const bobDialog = bob.page.getByRole('dialog', { name: 'Verify by emoji' });
    await bobDialog.getByRole('button', { name: 'Accept' }).click({ timeout: 30_000 });
    const emojiOf = async (page) => {
      const list = page.getByRole('list', { name: 'Emoji to compare' });
      await list.waitFor({ timeout: 30_000 });
      return list.locator('li').allInnerTexts();
    };
    const fromAlice = await emojiOf(alice.page);
    const fromBob = await emojiOf(bob.page);
    assert.equal(fromAlice.length, 7);
    assert.deepEqual(fromBob, fromAlice, 'both browsers show the same seven emoji');
    await shoot(bob.page, 'e2ee-verify-emoji');
    await alice.page.getByRole('button', { name: 'They match' }).click();
    await bob.page.getByRole('button', { name: 'They match' }).click();
    await alice.page.getByRole('status').filter({ hasText: 'Verified' }).waitFor({ timeout: 30_000 }).catch(async (err) => {
      const ph = async (p) => p.locator('[data-verification]').getAttribute('data-verification').catch(() => 'none');
      throw new Error(`${err.message}; phases: alice=${await ph(alice.page)} bob=${await ph(bob.page)}; ${[...alice.problems, ...bob.problems].join('; ')}`);
    });
    await bob.page.getByRole('status').filter({ hasText: 'Verified' }).waitFor({ timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Done' }).click();
    await bob.page.getByRole('button', { name: 'Done' }).click();
    await alice.page.getByRole('button', { name: 'Show devices' }).click();
    await alice.page.locator('[data-user-verified=true]').waitFor({ timeout: 30_000 });
  });

  it('sets up recovery, and reads the history again after a reload', async () => {
    await alice.page.getByRole('button', { name: 'Set up recovery' }).click();
    const key = alice.page.locator('[data-recovery-key]');
    await key.waitFor({ timeout: 30_000 });
    recoveryKey = (await key.innerText()).trim();
    assert.match(recoveryKey, /^E[sS]\w{2}( \w{1,4}){5,}$/);
    await alice.page.getByRole('button', { name: 'I saved my recovery key' }).click();
    // Uploading the first backup is the engine's slowest step: under load
    // it takes longer than the default wait.
    await alice.page.getByText('Key backup is on').waitFor({ timeout: 60_000 });

    await alice.page.goto(`${a.url}/`);
    await alice.page.reload();
    await alice.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /bob/i }).first().click();
    await message(alice.page, 'hi Alice, reading you on node B').waitFor({ timeout: 60_000 });
    await message(alice.page, 'hello Bob, this is end-to-end encrypted').waitFor({ timeout: 60_000 });
  });

  it('a second browser profile reads the history with the recovery key', async () => {
    alice2 = await newUser(browser, a.url);
    await logIn(alice2.page, { username: aliceName });
    await alice2.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /bob/i }).first().click();
    // The new device has no key for the old messages and says why.
    const why = alice2.page.locator('[data-e2ee=before-device]');
    await why.first().waitFor({ timeout: 60_000 });
    assert.match(await why.first().innerText(), /before this device signed in/);
    assert.equal(await message(alice2.page, 'hello Bob, this is end-to-end encrypted').count(), 0);

    await openSecurity(alice2.page);
    await alice2.page.getByLabel('Recovery key or passphrase').fill(recoveryKey);
    await alice2.page.getByRole('button', { name: 'Restore' }).click();
    await alice2.page.getByRole('status').filter({ hasText: /Restored [1-9]\d* message keys/ }).waitFor({ timeout: 60_000 });
    await alice2.page.goto(`${a.url}/`);
    await alice2.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /bob/i }).first().click();
    await message(alice2.page, 'hello Bob, this is end-to-end encrypted').waitFor({ timeout: 60_000 });
    await message(alice2.page, 'hi Alice, reading you on node B').waitFor();

    assert.deepEqual([...alice.problems, ...bob.problems, ...alice2.problems], []);
  });
});
