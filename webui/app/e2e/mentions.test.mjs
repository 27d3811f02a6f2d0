// Browser test of mentions (API.md §9, issue #17) on one real node: the
// composer completes "@bo" to Bob, the message lists him, Bob's sidebar
// and tab title count the mention while he reads another room, and in the
// room the mention is highlighted, as is the message that mentions him.
// The count comes from the node: it is the same after a reload.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { axe, cleanupTemp, launchBrowser, logIn, message, newUser, openRoomById, register, rest, roomRow, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();

describe('mentions', { skip: skip || false, timeout: 240_000 }, () => {
  let node, browser, alice, bob, a, b, lobby, other;

  before(async () => {
    node = await startNode({ data: tempDir('mentions'), name: 'mentions' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    lobby = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'lobby', visibility: 'public' } });
    other = await rest(node, '/rooms', { method: 'POST', token: b.token, body: { name: 'elsewhere', visibility: 'public' } });
    await rest(node, `/rooms/${lobby.id}/join`, { method: 'POST', token: b.token });
    alice = await newUser(browser, node.url);
    bob = await newUser(browser, node.url);
    await logIn(alice.page, { username: 'alice' });
    await logIn(bob.page, { username: 'bob' });
    await openRoomById(alice.page, node, lobby.id);
    await openRoomById(bob.page, node, other.id);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('completes @ names, counts the mention in the sidebar and title, and highlights it', async () => {
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.click();
    await box.pressSequentially('look here @bo');
    const list = alice.page.getByRole('listbox', { name: 'People to mention' });
    await list.getByRole('option', { name: /Bob/ }).waitFor({ timeout: 10_000 });
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'look here @bob ');
    await box.pressSequentially('the plan is ready');
    await box.press('Enter');
    await message(alice.page, 'the plan is ready').waitFor({ timeout: 15_000 });

    // The node stored the mention: history lists Bob.
    const page = await rest(node, `/rooms/${lobby.id}/messages?limit=1`, { token: b.token });
    assert.deepEqual(page.messages[0].mentions, [b.user.id], 'the send listed Bob as mentioned');

    // Bob reads another room: the lobby's row shows the mention, and so
    // does the tab title.
    const row = roomRow(bob.page, /^lobby/, false);
    await row.locator('[data-mentions="1"]').waitFor({ timeout: 15_000 });
    await waitFor('the title to count the mention', async () => (await bob.page.title()) === '(1, @1) Hearth');
    const icon = await bob.page.locator('link[rel="icon"]').getAttribute('href');
    assert.match(icon ?? '', /^data:image\/svg\+xml,/, 'the favicon carries a badge');

    // After a reload the count is the node's, not the page's memory.
    await bob.page.reload();
    await row.locator('[data-mentions="1"]').waitFor({ timeout: 15_000 });

    // In the room: the mention is a chip, the message stands out.
    await openRoomById(bob.page, node, lobby.id);
    const m = message(bob.page, 'the plan is ready');
    await m.waitFor({ timeout: 15_000 });
    assert.equal(await m.getAttribute('data-mentions-me'), 'true');
    const chip = m.locator('.mention-me', { hasText: '@bob' });
    await chip.waitFor({ timeout: 5_000 });
    // Opening the room read it: the counts are gone.
    await waitFor('the mention badge to go', async () => (await row.locator('[data-mentions]').count()) === 0);
    await waitFor('the title to settle', async () => (await bob.page.title()) === 'Hearth');
    const problems = await axe(bob.page);
    assert.deepEqual(problems, [], 'no serious accessibility problems with a highlighted mention');
  });

  it('@room mentions everyone, and is offered in the completion', async () => {
    await openRoomById(bob.page, node, other.id);
    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.click();
    await box.pressSequentially('@ro');
    await alice.page.getByRole('listbox', { name: 'People to mention' }).getByRole('option', { name: /@room/ }).click();
    await box.pressSequentially('standup in five');
    await box.press('Enter');
    await message(alice.page, 'standup in five').waitFor({ timeout: 15_000 });
    const page = await rest(node, `/rooms/${lobby.id}/messages?limit=1`, { token: b.token });
    assert.equal(page.messages[0].mentionsRoom, true);
    await roomRow(bob.page, /^lobby/, false).locator('[data-mentions="1"]').waitFor({ timeout: 15_000 });
  });
});
