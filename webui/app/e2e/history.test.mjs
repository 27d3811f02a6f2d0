// A room with 10,000 messages: the list stays virtualised (a bounded number
// of rows in the DOM) and scrolling up pages older history in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, launchBrowser, logIn, newUser, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();
const TOTAL = 10_000;

async function api(node, path, { method = 'GET', body, token } = {}) {
  const res = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

describe('a long history', { skip: skip || false, timeout: 300_000 }, () => {
  let node, browser, roomId;

  before(async () => {
    // The per-user rate limit would make seeding take minutes.
    node = await startNode({ data: tempDir('history'), name: 'history', extraArgs: ['--user-rate=-1'] });
    const s = await api(node, '/auth/register', { method: 'POST', body: { username: 'carol', password: 'correct horse battery', displayName: 'Carol' } });
    const room = await api(node, '/rooms', { method: 'POST', token: s.accessToken, body: { name: 'archive', visibility: 'public' } });
    roomId = room.id;
    let next = 0;
    const worker = async () => {
      // Bodies sort in send order; each worker posts one at a time.
      while (next < TOTAL) {
        const i = next++;
        await api(node, `/rooms/${roomId}/messages`, { method: 'POST', token: s.accessToken, body: { body: `msg ${String(i).padStart(5, '0')}` } });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('renders a bounded window and pages back on scroll', async () => {
    const u = await newUser(browser, node.url);
    await logIn(u.page, { username: 'carol' });
    await u.page.goto(`${node.url}/r/${encodeURIComponent(roomId)}`);
    const log = u.page.getByRole('log', { name: 'Messages', exact: true });
    const rows = log.locator('[data-message-id]');
    await log.getByText(`msg ${String(TOTAL - 1).padStart(5, '0')}`).waitFor();
    assert.ok((await rows.count()) < 150, `only visible rows are in the DOM, got ${await rows.count()}`);

    const loaded = () => u.page.evaluate(() => document.querySelector('[role=log] [data-virtuoso-scroller]')?.scrollHeight ?? 0);
    const before = await loaded();
    for (let i = 0; i < 4; i++) {
      await log.hover();
      await u.page.evaluate(() => {
        const s = document.querySelector('[role=log] [data-virtuoso-scroller]');
        if (s) s.scrollTop = 0;
      });
      await u.page.waitForTimeout(400);
    }
    await waitFor('older pages to load', async () => (await loaded()) > before * 2, 20_000);
    assert.ok((await rows.count()) < 150, `still a bounded window, got ${await rows.count()}`);
    assert.deepEqual(u.problems, []);
    await u.context.close();
  });
});
