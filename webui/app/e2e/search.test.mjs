// Browser test of message search (issue #17) on one real node: an edited
// message is found by its new text, not its old one, with the hit
// highlighted, and a result opens the message in its room, in context,
// loading history as far back as it takes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, launchBrowser, logIn, newUser, register, rest, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();

describe('message search', { skip: skip || false, timeout: 240_000 }, () => {
  let node, browser, alice, a, b, room, target;

  before(async () => {
    node = await startNode({ data: tempDir('search'), name: 'search' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'planning', visibility: 'public' } });
    await rest(node, `/rooms/${room.id}/join`, { method: 'POST', token: b.token });
    target = await rest(node, `/rooms/${room.id}/messages`, {
      method: 'POST',
      token: b.token,
      body: { body: 'the launch party is on tuesday' },
    });
    // Far enough back that opening the room does not load it.
    for (let i = 0; i < 70; i++) {
      await rest(node, `/rooms/${room.id}/messages`, { method: 'POST', token: a.token, body: { body: `status line ${i}` } });
    }
    await rest(node, `/rooms/${room.id}/messages/${target.id}`, {
      method: 'PATCH',
      token: b.token,
      body: { body: 'the launch party moved to thursday' },
    });
    alice = await newUser(browser, node.url);
    await logIn(alice.page, { username: 'alice' });
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  /** search opens the search panel and runs a query; it returns the results list. */
  async function search(page, text) {
    const dialog = page.getByRole('dialog', { name: 'Search messages' });
    if (!(await dialog.isVisible())) {
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await dialog.waitFor();
    }
    await dialog.getByRole('searchbox', { name: 'Search text' }).fill(text);
    return dialog.getByRole('list', { name: 'Search results' });
  }

  it('finds an edited message by its new text only and opens it in context', async () => {
    const page = alice.page;
    // The node indexes a moment after the edit: poll.
    let results;
    await waitFor('the edited message found by its new text', async () => {
      results = await search(page, 'thursday');
      return (await results.locator(`[data-result-id="${target.id}"]`).count()) === 1;
    });
    const hit = results.locator(`[data-result-id="${target.id}"]`);
    assert.equal((await hit.locator('mark').first().textContent())?.toLowerCase(), 'thursday');
    assert.match(await hit.textContent(), /planning/);
    await waitFor("the sender's name", async () => /Bob/.test(await hit.textContent()));

    results = await search(page, 'tuesday');
    await results.getByText('No messages match.').waitFor();
    assert.equal(await results.locator('[data-result-id]').count(), 0, 'the old text finds nothing');

    // A filter narrows it: not from Alice.
    results = await search(page, 'thursday');
    await results.locator(`[data-result-id="${target.id}"]`).waitFor();
    await page.getByRole('dialog', { name: 'Search messages' }).getByRole('combobox', { name: 'From' }).selectOption({ label: 'Alice' });
    await results.getByText('No messages match.').waitFor();
    await page.getByRole('dialog', { name: 'Search messages' }).getByRole('combobox', { name: 'From' }).selectOption({ label: 'Anyone' });

    await results.locator(`[data-result-id="${target.id}"]`).getByRole('button').click();
    await page.getByRole('dialog', { name: 'Search messages' }).waitFor({ state: 'hidden' });
    const original = page.locator(`[data-message-id="${target.id}"]`);
    await original.waitFor({ timeout: 20_000 });
    assert.match(await original.textContent(), /moved to thursday/);
    await waitFor('the message highlighted', async () => (await original.getAttribute('data-highlighted')) === 'true');
    assert.match(page.url(), new RegExp(`/r/${encodeURIComponent(room.id)}`));
  });

  it('says what is wrong with a query the node refuses', async () => {
    const page = alice.page;
    await search(page, 'ab*');
    await page.getByRole('dialog', { name: 'Search messages' }).getByRole('alert').filter({ hasText: /prefix/ }).waitFor();
    await page.keyboard.press('Escape');
  });

  it('says search is off on a node started with --search=false', async () => {
    const off = await startNode({ data: tempDir('search-off'), name: 'search-off', extraArgs: ['--search=false'] });
    try {
      await register(off, 'carol', 'Carol');
      const carol = await newUser(browser, off.url);
      await logIn(carol.page, { username: 'carol' });
      await search(carol.page, 'anything');
      await carol.page.getByRole('dialog', { name: 'Search messages' }).getByRole('alert').filter({ hasText: 'Search is turned off on this node.' }).waitFor();
      await carol.context?.close();
    } finally {
      await off.stop();
    }
  });
});
