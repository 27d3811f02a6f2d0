// Browser tests on a phone: a touch screen of 390×844 (hasTouch, isMobile).
// Issue #16, bug 1: message actions appeared only on hover, which a touch
// screen does not have; a tap or a long press must open them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  axe,
  cleanupTemp,
  launchBrowser,
  logIn,
  message,
  newUser,
  PHONE_TOUCH,
  register,
  rest,
  roomEntry,
  skipReason,
  startNode,
  tempDir,
  waitFor,
} from './harness.mjs';

const skip = skipReason();

/** shown reports whether a message's action toolbar is visible and takes taps. */
async function shown(toolbar) {
  return toolbar.evaluate((el) => getComputedStyle(el).opacity !== '0' && getComputedStyle(el).pointerEvents !== 'none');
}

describe('on a phone (touch, 390×844)', { skip: skip || false, timeout: 240_000 }, () => {
  let node, browser, phone, a, b, roomId;

  before(async () => {
    node = await startNode({ data: tempDir('phone'), name: 'phone' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    const room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'pocket', visibility: 'public' } });
    roomId = room.id;
    await rest(node, `/rooms/${roomId}/join`, { method: 'POST', token: b.token });
    await rest(node, `/rooms/${roomId}/messages`, { method: 'POST', token: a.token, body: { body: 'tap me for actions' } });
    await rest(node, `/rooms/${roomId}/messages`, { method: 'POST', token: b.token, body: { body: 'my own words' } });
    phone = await newUser(browser, node.url, PHONE_TOUCH);
    await logIn(phone.page, { username: 'bob' });
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('shows the room list, then the room', async () => {
    const page = phone.page;
    assert.equal(await page.evaluate(() => matchMedia('(hover: none)').matches), true, 'the page sees a touch screen');
    await roomEntry(page, /^pocket/, false).tap();
    await message(page, 'tap me for actions').waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Rooms' }).isVisible(), false, 'the list gives way to the room');
  });

  it('bug 1: a tap opens the message actions, and they work', async () => {
    const page = phone.page;
    const msg = message(page, 'tap me for actions');
    const toolbar = msg.getByRole('toolbar', { name: 'Message actions' });
    assert.equal(await shown(toolbar), false, 'actions show before any tap');
    await msg.locator('[data-body]').tap();
    await waitFor('the actions after a tap', () => shown(toolbar), 5_000);
    await toolbar.getByRole('button', { name: 'Add reaction' }).tap();
    await toolbar.getByRole('button', { name: 'React 👍' }).tap();
    await msg.getByRole('button', { name: /^👍 1/ }).waitFor();

    await msg.locator('[data-body]').tap();
    if (!(await shown(toolbar))) await msg.locator('[data-body]').tap();
    await waitFor('the actions again', () => shown(toolbar), 5_000);
    await toolbar.getByRole('button', { name: 'Reply', exact: true }).tap();
    await page.getByText('Replying to').waitFor();
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await box.tap();
    await box.fill('answered from a phone');
    await page.getByRole('button', { name: 'Send' }).tap();
    await message(page, 'answered from a phone').locator('blockquote', { hasText: 'tap me for actions' }).waitFor();
  });

  it('bug 1: a long press opens the actions too, and the full emoji picker works by touch', async () => {
    const page = phone.page;
    const mine = message(page, 'my own words');
    const toolbar = mine.getByRole('toolbar', { name: 'Message actions' });
    // A long press is a contextmenu event on a touch screen.
    await mine.locator('[data-body]').dispatchEvent('contextmenu');
    await waitFor('the actions after a long press', () => shown(toolbar), 5_000);
    await toolbar.getByRole('button', { name: 'Edit' }).waitFor();
    await toolbar.getByRole('button', { name: 'Add reaction' }).tap();
    await toolbar.getByRole('button', { name: 'More…' }).tap();
    const picker = page.getByRole('dialog', { name: 'Add a reaction' });
    const search = picker.getByRole('combobox', { name: 'Search' });
    await search.waitFor({ timeout: 15_000 });
    await search.fill('party popper');
    await picker.getByRole('option', { name: /party popper/ }).first().tap();
    await picker.waitFor({ state: 'hidden' });
    await mine.getByRole('button', { name: /^🎉 1/ }).waitFor();
  });

  it('has no serious accessibility problems on the phone', async () => {
    const found = await axe(phone.page);
    assert.deepEqual(found, []);
    assert.deepEqual(phone.problems, []);
  });
});
