// Accessibility: axe-core (WCAG 2.1 A/AA and best practices) on every
// screen and dialog, light and dark, desktop and phone; no serious or
// critical violation may remain. Also: the main actions work from the
// keyboard alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  axe,
  cleanupTemp,
  DESKTOP,
  launchBrowser,
  logIn,
  message,
  newUser,
  openRoomById,
  PHONE_TOUCH,
  register,
  rest,
  skipReason,
  startNode,
  tempDir,
} from './harness.mjs';

const skip = skipReason();

describe('accessibility', { skip: skip || false, timeout: 300_000 }, () => {
  let node, browser, roomId, rootId;
  const found = [];

  /** check runs axe and keeps what it finds, named by screen. */
  async function check(page, screen) {
    for (const v of await axe(page)) found.push(`${screen}: ${v}`);
  }

  before(async () => {
    node = await startNode({ data: tempDir('a11y'), name: 'a11y' });
    browser = await launchBrowser();
    const a = await register(node, 'alice', 'Alice');
    const b = await register(node, 'bob', 'Bob');
    const room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'lobby', topic: 'Say hello', visibility: 'public' } });
    roomId = room.id;
    await rest(node, `/rooms/${roomId}/join`, { method: 'POST', token: b.token });
    const post = (t, body, extra = {}) => rest(node, `/rooms/${roomId}/messages`, { method: 'POST', token: t, body: { body, ...extra } });
    const root = await post(a.token, 'Welcome! **Markdown** works, `code` too.\n\n> a quote\n\n- one\n- two');
    rootId = root.id;
    await post(b.token, 'a reply in a thread', { thread: root.id });
    const m = await post(b.token, 'with a reaction and https://example.org/a-link');
    await rest(node, `/rooms/${roomId}/messages/${m.id}/reactions/${encodeURIComponent('👍')}`, { method: 'PUT', token: a.token });
    await post(a.token, 'quoting it', { replyTo: m.id });
    await rest(node, `/rooms/${roomId}`, { method: 'PATCH', token: a.token, body: { topic: 'Say hello, and more' } });
    await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'vault', visibility: 'private', encrypted: false } });
    await rest(node, '/dm', { method: 'POST', token: a.token, body: { userId: b.user.id, encrypted: false } });
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  for (const colorScheme of ['light', 'dark']) {
    it(`has no serious violations on the desktop, ${colorScheme}`, async () => {
      const u = await newUser(browser, node.url, { viewport: DESKTOP, colorScheme });
      const page = u.page;
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      await check(page, 'login');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByLabel('Display name').waitFor();
      await check(page, 'sign-up');
      await page.goto(`${node.url}/node`);
      await page.locator('[data-node-id]').waitFor();
      await check(page, 'node page (signed out)');
      await page.goto(node.url);
      await logIn(page, { username: 'alice' });
      await check(page, 'home');

      await openRoomById(page, node, roomId);
      await message(page, 'quoting it').waitFor();
      await page.locator('[data-timeline-event]').first().waitFor();
      await check(page, 'room');
      await message(page, 'quoting it').hover();
      await check(page, 'room, message actions');

      await page.getByRole('button', { name: 'Members' }).click();
      await page.getByRole('complementary', { name: 'Members' }).locator('[data-member]').first().waitFor();
      await check(page, 'members panel');
      await page.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: /^Bob/ }).click();
      await page.getByRole('dialog', { name: 'Bob' }).waitFor();
      await check(page, 'profile card');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Close members' }).click();

      await page.goto(`${node.url}/r/${encodeURIComponent(roomId)}?thread=${encodeURIComponent(rootId)}`);
      await page.getByRole('complementary', { name: 'Thread' }).locator('[data-message-id]', { hasText: 'a reply in a thread' }).waitFor();
      await check(page, 'thread panel');
      await page.getByRole('button', { name: 'Close thread' }).click();

      const dialogs = [
        ['new room', () => page.getByRole('button', { name: 'New room' }).click(), 'New room'],
        ['directory', () => page.getByRole('button', { name: 'Browse' }).click(), 'Public rooms'],
        ['new message', () => page.getByRole('button', { name: 'New message' }).click(), 'New direct message'],
        ['invite', () => page.getByRole('button', { name: 'Invite' }).click(), 'Invite to lobby'],
        [
          'room settings',
          async () => {
            await page.getByRole('button', { name: 'Room menu' }).click();
            await check(page, 'room menu');
            await page.getByRole('menuitem', { name: 'Room settings' }).click();
          },
          'Room settings',
        ],
        ['emoji picker', () => page.getByRole('button', { name: 'Insert emoji' }).click(), 'Insert an emoji'],
        ['quick switcher', () => page.keyboard.press('Control+k'), 'Jump to'],
        [
          'leave confirmation',
          async () => {
            await page.getByRole('button', { name: 'Room menu' }).click();
            await page.getByRole('menuitem', { name: 'Leave room' }).click();
          },
          'Leave lobby?',
        ],
      ];
      for (const [name, open, title] of dialogs) {
        await open();
        const d = page.getByRole(name === 'leave confirmation' ? 'alertdialog' : 'dialog', { name: title });
        await d.waitFor();
        if (name === 'emoji picker') await d.getByRole('combobox', { name: 'Search' }).waitFor({ timeout: 15_000 });
        if (name === 'directory') await d.locator('[data-room-id]').first().waitFor();
        await check(page, `${name} dialog`);
        await page.keyboard.press('Escape');
        await d.waitFor({ state: 'hidden' });
      }

      await page.goto(`${node.url}/settings`);
      await page.getByRole('heading', { name: 'Settings' }).waitFor();
      await check(page, 'settings');
      await page.goto(`${node.url}/r/doesnotexist`);
      await page.getByRole('heading', { name: 'Room not found' }).waitFor();
      await check(page, 'room not found');
      // alice is the node's first account, so its admin: every tab of the
      // admin page (issue #15).
      await page.goto(`${node.url}/admin`);
      await page.getByRole('heading', { name: 'Node administration' }).waitFor();
      const tabs = [
        ['Users', (p) => p.locator('tr[data-user="bob"]')],
        ['Reports', (p) => p.getByText('No reports to handle.')],
        ['Invite tokens', (p) => p.getByRole('button', { name: 'Create invite token' })],
        ['Federation', (p) => p.getByRole('button', { name: 'Block node' })],
        ['Rooms', (p) => p.getByText('lobby', { exact: true })],
        ['Audit log', (p) => p.getByRole('columnheader', { name: 'What' })],
      ];
      for (const [label, ready] of tabs) {
        await page.getByRole('tab', { name: label }).click();
        await ready(page.getByRole('tabpanel', { name: label })).first().waitFor();
        await check(page, `admin page, ${label}`);
      }
      assert.deepEqual(u.problems, []);
      await u.context.close();
      assert.deepEqual(found.splice(0), []);
    });

    it(`has no serious violations on a phone, ${colorScheme}`, async () => {
      const u = await newUser(browser, node.url, { ...PHONE_TOUCH, colorScheme });
      const page = u.page;
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      await check(page, 'phone login');
      await logIn(page, { username: 'bob' });
      await check(page, 'phone room list');
      await openRoomById(page, node, roomId);
      await message(page, 'quoting it').waitFor();
      await check(page, 'phone room');
      await message(page, 'quoting it').locator('[data-body]').tap();
      await check(page, 'phone room, message actions');
      assert.deepEqual(u.problems, []);
      await u.context.close();
      assert.deepEqual(found.splice(0), []);
    });
  }

  it('works from the keyboard alone', async () => {
    const u = await newUser(browser, node.url);
    const page = u.page;
    await logIn(page, { username: 'bob' });
    await openRoomById(page, node, roomId);
    const target = message(page, 'quoting it');
    await target.waitFor();
    // Tab from the composer backwards into the newest message's actions.
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await box.focus();
    let reached = false;
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Shift+Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Add reaction');
    }
    assert.ok(reached, 'the message actions are reachable with Tab');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // the first quick reaction, 👍
    await target.getByRole('button', { name: /^👍 1/ }).waitFor();
    // A dialog takes focus and gives it back.
    await box.focus();
    await page.keyboard.press('Control+k');
    const switcher = page.getByRole('dialog', { name: 'Jump to' });
    await switcher.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Room or person');
    await page.keyboard.press('Escape');
    await switcher.waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Message');
    assert.deepEqual(u.problems, []);
    await u.context.close();
  });
});
