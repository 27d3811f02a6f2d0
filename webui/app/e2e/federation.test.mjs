// Browser test across two real nodes: node B dials node A; a person on each
// joins the same public room by its ID and they talk.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, createRoom, joinById, launchBrowser, message, newUser, send, signUp, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

/** listed reports whether node B's directory, as Bob's browser shows it, lists a room. */
async function listed(page, name) {
  await page.getByRole('button', { name: 'Browse' }).click();
  const dialog = page.getByRole('dialog', { name: 'Public rooms' });
  await dialog.locator('ul, p').first().waitFor();
  await page.waitForLoadState('networkidle');
  const found = (await dialog.locator('li', { hasText: name }).count()) > 0;
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'hidden' });
  return found;
}

const skip = skipReason();

describe('two federated nodes', { skip: skip || false, timeout: 240_000 }, () => {
  let a, b, browser, alice, bob;

  before(async () => {
    a = await startNode({ data: tempDir('fed-a'), name: 'node-a' });
    const dial = a.addrs.find((x) => x.includes('/127.0.0.1/')) ?? a.addrs[0];
    assert.ok(dial, 'node A reports a libp2p address');
    b = await startNode({ data: tempDir('fed-b'), name: 'node-b', peers: [dial] });
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

  it('carries a conversation between users on different nodes', async () => {
    await signUp(alice.page, { username: 'alice', displayName: 'Alice on A' });
    await signUp(bob.page, { username: 'bob', displayName: 'Bob on B' });
    const roomId = await createRoom(alice.page, 'across');
    await send(alice.page, 'first, before bob joined');

    // The room reaches node B by gossip; retry the join until B knows it.
    let lastError = '';
    await waitFor(
      `bob to join the room on node B (last error: ${lastError || 'none'})`,
      async () => {
        try {
          await joinById(bob.page, roomId);
          return true;
        } catch (err) {
          lastError = (await bob.page.getByRole('alert').allInnerTexts().catch(() => [])).join(' ') || err.message;
          await bob.page.keyboard.press('Escape');
          await bob.page.goto(b.url);
          return false;
        }
      },
      60_000,
      1000,
    ).catch((err) => {
      throw new Error(`${err.message}; node B said: ${lastError}`);
    });
    await send(bob.page, 'hello from node B');
    await message(alice.page, 'hello from node B').waitFor({ timeout: 30_000 });
    await send(alice.page, 'hello back from node A');
    await message(bob.page, 'hello back from node A').waitFor({ timeout: 30_000 });
    assert.equal(await message(bob.page, 'hello back from node A').count(), 1);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  it('lists a new public room in the other node\'s directory within seconds (issue 16, bug 9)', async () => {
    // The first room shows when B next hears of A's rooms; the second one,
    // made right after, must not wait for the periodic announcement (30 s).
    await createRoom(alice.page, 'first-listed');
    await waitFor('B to list the first room', () => listed(bob.page, 'first-listed'), 45_000, 500);
    await createRoom(alice.page, 'second-listed');
    await waitFor('B to list the second room within 10 s', () => listed(bob.page, 'second-listed'), 10_000, 500);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });
});
