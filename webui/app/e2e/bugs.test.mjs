// Browser tests of the bugs a new user hit (issue #16), one test each, on
// one real node. Each failed against the UI before its fix. The phone's
// message actions are in phone.test.mjs, the reconnecting banner in
// reconnect.test.mjs and the directory's delay in federation.test.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  cleanupTemp,
  createRoom,
  launchBrowser,
  logIn,
  message,
  newUser,
  openRoomById,
  register,
  rest,
  roomEntry,
  roomRow,
  send,
  skipReason,
  startNode,
  tempDir,
  waitFor,
} from './harness.mjs';

const skip = skipReason();

/** settle waits until the page has no requests in flight, before checking that something did not happen. */
const settle = (page) => page.waitForLoadState('networkidle');

describe('issue 16 bugs', { skip: skip || false, timeout: 300_000 }, () => {
  let node, browser, alice, bob, a, b;

  before(async () => {
    node = await startNode({ data: tempDir('bugs'), name: 'bugs' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    alice = await newUser(browser, node.url);
    bob = await newUser(browser, node.url);
    await logIn(alice.page, { username: 'alice' });
    await logIn(bob.page, { username: 'bob' });
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('bug 9: a fresh login page logs no 401', async () => {
    const u = await newUser(browser, node.url);
    await u.page.getByRole('button', { name: 'Log in' }).waitFor();
    await settle(u.page);
    assert.deepEqual(u.consoleErrors.filter((e) => /401|Unauthorized/i.test(e)), []);
    // After logging in and out, the next load asks nothing either.
    await logIn(u.page, { username: 'bob' });
    await u.page.getByRole('button', { name: 'Log out' }).click();
    await u.page.getByRole('button', { name: 'Log in' }).waitFor();
    await u.page.reload();
    await u.page.getByRole('button', { name: 'Log in' }).waitFor();
    await settle(u.page);
    assert.deepEqual(u.consoleErrors.filter((e) => /401|Unauthorized/i.test(e)), []);
    assert.deepEqual(u.problems, []);
    await u.context.close();
  });

  it('bug 2: a composer error stays with its room', async () => {
    const page = alice.page;
    const first = await createRoom(page, 'first-room');
    await createRoom(page, 'second-room');
    await roomEntry(page, 'first-room').click();
    await page.waitForURL(new RegExp(first));
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('x'.repeat(17 * 1024));
    await box.press('Enter');
    const tooLong = page.getByText('This message is too long');
    await tooLong.waitFor();
    await roomEntry(page, 'second-room').click();
    await page.getByRole('heading', { name: 'second-room' }).waitFor();
    assert.equal(await tooLong.count(), 0, 'the error followed to another room');
    await createRoom(page, 'third-room');
    assert.equal(await tooLong.count(), 0, 'the error followed to a new room');
    await openRoomById(page, node, first);
    await page.getByRole('textbox', { name: 'Message', exact: true }).fill('');
  });

  it('bug 3: an unknown room address says so, with a way back', async () => {
    const page = bob.page;
    await page.goto(`${node.url}/r/doesnotexist`);
    await page.getByRole('heading', { name: 'Room not found' }).waitFor();
    await settle(page);
    assert.equal(await page.getByText('Loading…').count(), 0);
    assert.equal(await page.getByText('no such room').count(), 0, 'the raw server message shows');
    assert.equal(await page.locator('.loading').count(), 0, 'a spinner still turns');
    await page.getByRole('link', { name: 'Back to your rooms' }).click();
    await page.waitForURL(`${node.url}/`);
  });

  it('bug 4: an invitation offers Join and Decline, and no error', async () => {
    const room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'hideout', visibility: 'private', encrypted: false } });
    await rest(node, `/rooms/${room.id}/invite`, { method: 'POST', token: a.token, body: { userId: b.user.id } });
    const page = bob.page;
    const entry = roomEntry(page, /^hideout/, false);
    await entry.waitFor();
    await entry.click();
    await page.getByRole('button', { name: 'Join room' }).waitFor();
    await settle(page);
    assert.equal(await page.getByRole('alert').count(), 0, await page.getByRole('alert').allInnerTexts().then((t) => t.join(' | ')));
    await page.getByRole('button', { name: 'Decline' }).click();
    await page.waitForURL(`${node.url}/`);
    await entry.waitFor({ state: 'detached' });
    const after = await rest(node, `/rooms/${room.id}`, { token: a.token });
    assert.ok(!(after.invited ?? []).includes(b.user.id), 'the invite still stands on the node');
  });

  it('bug 5: a reaction in another room does not mark it unread', async () => {
    const here = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'here', visibility: 'public' } });
    const there = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'there', visibility: 'public' } });
    for (const r of [here, there]) await rest(node, `/rooms/${r.id}/join`, { method: 'POST', token: b.token });
    const target = await rest(node, `/rooms/${there.id}/messages`, { method: 'POST', token: a.token, body: { body: 'react to me' } });
    const page = bob.page;
    // Bob reads "there", then reloads in "here": "there" is read, and its history is not loaded.
    await openRoomById(page, node, there.id);
    await message(page, 'react to me').waitFor();
    await waitFor('bob to have read "there"', async () => {
      const rs = await rest(node, `/rooms/${there.id}/receipts`, { token: b.token });
      return rs.receipts.some((r) => r.user === b.user.id && r.upTo === target.id);
    });
    await openRoomById(page, node, here.id);
    await page.reload();
    await page.getByRole('log', { name: 'Messages' }).waitFor();
    await roomEntry(page, 'there').waitFor();
    await rest(node, `/rooms/${there.id}/messages/${target.id}/reactions/${encodeURIComponent('🎉')}`, { method: 'PUT', token: a.token });
    // A message after the reaction: once Bob sees it, he has had the reaction's frame.
    await rest(node, `/rooms/${here.id}/messages`, { method: 'POST', token: a.token, body: { body: 'after the reaction' } });
    await message(page, 'after the reaction').waitFor();
    // The entry's name would say ", 1 unread".
    assert.equal(await roomEntry(page, 'there').count(), 1, await roomEntry(page, /^there/, false).innerText());
  });

  it('bug 6: right-to-left text is laid out right to left', async () => {
    const page = alice.page;
    const room = await createRoom(page, 'rtl');
    const hebrew = 'שלום לכולם, מה שלומכם?';
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill(hebrew);
    assert.equal(await box.evaluate((el) => getComputedStyle(el).direction), 'rtl', 'the composer');
    await box.press('Enter');
    const body = message(page, hebrew).locator('[data-body]');
    await body.waitFor();
    assert.equal(await body.evaluate((el) => getComputedStyle(el).direction), 'rtl', 'the message body');
    const preview = roomRow(page, 'rtl').locator('bdi', { hasText: hebrew });
    assert.equal(await preview.evaluate((el) => getComputedStyle(el).direction), 'rtl', 'the sidebar preview');
    assert.ok(room);
  });

  it('bug 7: counts, empty states and previews read well', async () => {
    // "1 member", not "1 members", in the directory.
    await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'solitary', visibility: 'public' } });
    const page = bob.page;
    await page.getByRole('button', { name: 'Browse' }).click();
    const dialog = page.getByRole('dialog', { name: 'Public rooms' });
    const row = dialog.locator('li', { hasText: 'solitary' });
    await row.waitFor();
    assert.match(await row.innerText(), /\b1 member\b/);
    assert.doesNotMatch(await row.innerText(), /1 members/);
    await dialog.getByRole('button', { name: 'Close' }).click();

    // A DM's empty state names the conversation.
    const dm = await rest(node, '/dm', { method: 'POST', token: a.token, body: { userId: b.user.id, encrypted: false } });
    await openRoomById(alice.page, node, dm.id);
    await alice.page.getByText('This is the beginning of your conversation with Bob.').waitFor();

    // Deleting one's last message leaves "Message deleted", not "You: message deleted".
    const m = await rest(node, `/rooms/${dm.id}/messages`, { method: 'POST', token: a.token, body: { body: 'oops, wrong window' } });
    await message(alice.page, 'oops, wrong window').waitFor();
    await rest(node, `/rooms/${dm.id}/messages/${m.id}`, { method: 'DELETE', token: a.token });
    const entry = roomRow(alice.page, 'Bob');
    await entry.getByText('Message deleted').waitFor();
    assert.doesNotMatch(await entry.innerText(), /You: message deleted/i);
  });

  it('bug 9: a hover timestamp stays on one line', async () => {
    const page = alice.page;
    await createRoom(page, 'times');
    await send(page, 'first of two');
    await message(page, 'first of two').waitFor();
    await send(page, 'second of two');
    const second = message(page, 'second of two');
    await second.waitFor();
    await second.hover();
    const time = second.locator('time').first();
    await time.waitFor();
    const lines = await time.evaluate((el) => {
      const r = document.createRange();
      r.selectNodeContents(el);
      return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
    });
    assert.equal(lines, 1, `"${await time.innerText()}" wraps onto ${lines} lines`);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });
});
