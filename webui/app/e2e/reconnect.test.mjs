// Browser tests of the reconnecting banner (issue #16, bug 8): it must not
// hide the newest message, and once the node is back the page reconnects
// within seconds, not at the end of a long backoff.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, launchBrowser, logIn, message, newUser, openRoomById, register, rest, send, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();

describe('reconnecting', { skip: skip || false, timeout: 240_000 }, () => {
  let node, browser, u, roomId;
  const data = skip ? '' : tempDir('reconnect');

  before(async () => {
    node = await startNode({ data, name: 'reconnect' });
    const a = await register(node, 'carol', 'Carol');
    const room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'busy', visibility: 'public' } });
    roomId = room.id;
    for (let i = 0; i < 40; i++) {
      await rest(node, `/rooms/${roomId}/messages`, { method: 'POST', token: a.token, body: { body: `filler ${i}` } });
    }
    browser = await launchBrowser();
    u = await newUser(browser, node.url);
    await logIn(u.page, { username: 'carol' });
    await openRoomById(u.page, node, roomId);
    await message(u.page, 'filler 39').waitFor();
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('bug 8: the banner does not hide the newest message', async () => {
    const page = u.page;
    const log = page.getByRole('log', { name: 'Messages' });
    const newest = message(page, 'filler 39');
    const fullyInside = async () => {
      const [l, m] = [await log.boundingBox(), await newest.boundingBox()];
      return !!l && !!m && m.y >= l.y && m.y + m.height <= l.y + l.height + 1;
    };
    assert.ok(await fullyInside(), 'the newest message is in view before the drop');
    await node.stop();
    await page.getByRole('status').filter({ hasText: /Connection lost|Reconnecting/ }).waitFor({ timeout: 15_000 });
    await waitFor('the newest message back in full view under the banner', fullyInside, 5_000);
  });

  it('bug 8: a node that is back is used within seconds, not at the end of the backoff', async () => {
    const page = u.page;
    const banner = page.getByRole('status').filter({ hasText: /Connection lost|Reconnecting/ });
    // Let the backoff grow until the next attempt is at least 12 s away.
    await waitFor(
      'a backoff of 12 s or more',
      async () => {
        const text = (await banner.innerText().catch(() => '')) || '';
        const m = text.match(/Reconnecting in (\d+)s/);
        return m && Number(m[1]) >= 12;
      },
      90_000,
      250,
    );
    node = await startNode({ data, http: node.http, name: 'reconnect' });
    // A probe every few seconds finds the node: the banner goes well before
    // the backoff would have ended (it had 12 s or more to run, less the
    // node's start).
    await banner.waitFor({ state: 'hidden', timeout: 7_000 });
    await send(page, 'back so soon');
    await waitFor('the send to be stored', async () => (await page.locator('[data-status=pending]').count()) === 0, 15_000);
    assert.deepEqual(u.problems, []);
  });
});
