// Browser test of notifications (issue #17, docs/notifications.md) on one
// real node: Settings turns do-not-disturb on at the node; the room
// header's menu mutes a room at the node; a tab in the background shows a
// desktop notification for a mention and none once the room is muted;
// the push switch installs the service worker at /sw.js, which shows a
// delivered push ("New message" for an encrypted room's) as a
// notification.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, launchBrowser, logIn, newUser, openRoomById, register, rest, roomEntry, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();

describe('notifications', { skip: skip || false, timeout: 240_000 }, () => {
  let node, browser, bob, a, b, lobby, other;

  before(async () => {
    node = await startNode({ data: tempDir('notifications'), name: 'notifications' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    lobby = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'lobby', visibility: 'public', encrypted: false } });
    other = await rest(node, '/rooms', { method: 'POST', token: b.token, body: { name: 'elsewhere', visibility: 'public', encrypted: false } });
    await rest(node, `/rooms/${lobby.id}/join`, { method: 'POST', token: b.token });
    bob = await newUser(browser, node.url, { permissions: ['notifications'] });
    await logIn(bob.page, { username: 'bob' });
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('turns do-not-disturb on and off at the node from Settings', async () => {
    const page = bob.page;
    await page.goto(`${node.url}/settings`);
    const dnd = page.getByRole('checkbox', { name: 'Do not disturb' });
    await waitFor('the settings to load', () => dnd.isEnabled());
    await page.getByLabel('Do not disturb for').selectOption('1h');
    await dnd.check();
    await page.getByRole('status').filter({ hasText: 'Do not disturb is on.' }).waitFor();
    let s = await rest(node, '/notifications', { token: b.token });
    assert.equal(s.dnd, true);
    assert.ok(s.dndUntil > Date.now() + 50 * 60_000 && s.dndUntil <= Date.now() + 60 * 60_000, `dndUntil ${s.dndUntil} is an hour ahead`);
    await page.getByText(/^until /).waitFor();
    await dnd.uncheck();
    await page.getByRole('status').filter({ hasText: 'Do not disturb is off.' }).waitFor();
    s = await rest(node, '/notifications', { token: b.token });
    assert.equal(s.dnd, false);
  });

  it('shows a desktop notification for a mention while the tab is hidden, and none once the room is muted', async () => {
    const page = bob.page;
    await page.goto(`${node.url}/settings`);
    await page.getByRole('checkbox', { name: /Desktop notifications/ }).check();
    await page.getByRole('status').filter({ hasText: 'Desktop notifications are on' }).waitFor();
    await openRoomById(page, node, other.id);
    // The tab goes to the background (the page cannot be hidden headless,
    // so the document says it is) and the Notification API is watched:
    // each notification the app makes is still made by the browser's own.
    // The room changes below go through the sidebar, never a reload.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      const Real = window.Notification;
      window.__shown = [];
      window.Notification = class extends Real {
        constructor(title, opts) {
          super(title, opts);
          window.__shown.push({ title, body: opts?.body ?? '' });
        }
      };
    });
    const shown = () => page.evaluate(() => window.__shown);
    await rest(node, `/rooms/${lobby.id}/messages`, { method: 'POST', token: a.token, body: { body: 'bob, the plan', mentions: [b.user.id] } });
    await waitFor('a desktop notification of the mention', async () => (await shown()).some((n) => n.body === 'bob, the plan'));
    assert.deepEqual((await shown()).find((n) => n.body === 'bob, the plan'), { title: 'Alice in lobby', body: 'bob, the plan' });
    await rest(node, `/rooms/${lobby.id}/messages`, { method: 'POST', token: a.token, body: { body: 'no mention here' } });

    // Mute the lobby from its header menu: the node keeps the level.
    await page.evaluate(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' }));
    await roomEntry(page, /^lobby/, false).click();
    await page.getByRole('button', { name: 'Notifications: Mentions only' }).click();
    await page.getByRole('menuitemradio', { name: 'Mute' }).click();
    await page.getByRole('button', { name: 'Notifications: Mute' }).waitFor();
    const level = await rest(node, `/rooms/${lobby.id}/notifications`, { token: b.token });
    assert.deepEqual(level, { room: lobby.id, level: 'mute', default: false });

    await roomEntry(page, /^elsewhere/, false).click();
    await page.evaluate(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' }));
    await rest(node, `/rooms/${lobby.id}/messages`, { method: 'POST', token: a.token, body: { body: 'muted mention', mentions: [b.user.id] } });
    // A DM notifies by default: once it shows, the muted mention had its chance.
    const dm = await rest(node, '/dm', { method: 'POST', token: a.token, body: { userId: b.user.id, encrypted: false } });
    await rest(node, `/rooms/${dm.id}/messages`, { method: 'POST', token: a.token, body: { body: 'a direct word' } });
    await waitFor('a desktop notification of the DM', async () => (await shown()).some((n) => n.body === 'a direct word'));
    const bodies = (await shown()).map((n) => n.body);
    assert.ok(!bodies.includes('muted mention'), `a muted room notified: ${bodies}`);
    assert.ok(!bodies.includes('no mention here'), `a non-mention notified at the mentions level: ${bodies}`);
    await page.evaluate(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' }));
  });

  it('installs the service worker, which shows pushes ("New message" for an encrypted room)', async () => {
    const page = bob.page;
    await page.goto(`${node.url}/settings`);
    const toggle = page.getByRole('checkbox', { name: /Push notifications on this device/ });
    await waitFor('the push switch', () => toggle.isEnabled());
    const cdp = await bob.context.newCDPSession(page);
    const regs = new Map();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      for (const r of e.registrations) if (!r.isDeleted) regs.set(r.scopeURL, r.registrationId);
    });
    await cdp.send('ServiceWorker.enable');
    await toggle.click();
    // Headless Chromium has no push service to subscribe at, so the switch
    // may report an error; the worker is installed before subscribing.
    await page.getByRole('status').or(page.getByRole('alert')).first().waitFor({ timeout: 20_000 });
    const script = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return reg.active?.scriptURL;
    });
    assert.equal(script, `${node.url}/sw.js`);
    const registrationId = await waitFor('the registration over the DevTools protocol', () => regs.get(`${node.url}/`));
    const notes = () =>
      page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, room: n.data?.room })));
    const deliver = (payload) => cdp.send('ServiceWorker.deliverPushMessage', { origin: node.url, registrationId, data: JSON.stringify(payload) });

    await deliver({ room: lobby.id, roomName: 'lobby', sender: a.user.id, senderName: 'Alice', body: 'pushed words', message: 'm1' });
    await waitFor('the pushed notification', async () => (await notes()).some((n) => n.body === 'pushed words'));
    assert.deepEqual((await notes()).find((n) => n.body === 'pushed words'), { title: 'Alice in lobby', body: 'pushed words', room: lobby.id });

    await deliver({ room: lobby.id, message: 'm2', encrypted: true });
    await waitFor('the encrypted room notification', async () => (await notes()).some((n) => n.title === 'New message')).catch(async (err) => {
      throw new Error(`${err.message}; shown: ${JSON.stringify(await notes())}`);
    });
    assert.deepEqual((await notes()).find((n) => n.title === 'New message'), { title: 'New message', body: '', room: lobby.id });
    assert.deepEqual(bob.problems, []);
  });
});
