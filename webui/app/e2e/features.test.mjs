// Browser tests of what users of Slack, Discord and Element reach for
// first (issue #16), on one real node: formatting, emoji, unread landing,
// replies and editing, quiet timeline lines, room settings, links, people,
// dialogs, error sentences, long messages and the quick switcher.
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
  send,
  skipReason,
  startNode,
  tempDir,
  waitFor,
} from './harness.mjs';

const skip = skipReason();

/** inView reports whether an element is wholly inside the message log's viewport. */
async function inView(page, locator) {
  const log = await page.getByRole('log', { name: 'Messages', exact: true }).boundingBox();
  const box = await locator.boundingBox().catch(() => null);
  return !!log && !!box && box.y >= log.y - 1 && box.y + box.height <= log.y + log.height + 1;
}

describe('what users reach for first', { skip: skip || false, timeout: 420_000 }, () => {
  let node, browser, alice, bob, a, b, c, lobby;

  before(async () => {
    node = await startNode({ data: tempDir('features'), name: 'features' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    c = await register(node, 'carol', 'Carol');
    lobby = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'lobby', visibility: 'public' } });
    await rest(node, `/rooms/${lobby.id}/join`, { method: 'POST', token: b.token });
    alice = await newUser(browser, node.url, { permissions: ['clipboard-read', 'clipboard-write'] });
    bob = await newUser(browser, node.url);
    await logIn(alice.page, { username: 'alice' });
    await logIn(bob.page, { username: 'bob' });
    await openRoomById(alice.page, node, lobby.id);
    await openRoomById(bob.page, node, lobby.id);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('formats Markdown, and keeps raw HTML and script links as text', async () => {
    const body = [
      '**bold** _italic_ ~~struck~~ `inline code` <b>not bold</b>',
      '```',
      'const x = 1;',
      '```',
      '> a quote',
      '',
      '- one',
      '- two',
      '',
      '[a link](https://example.org/docs) and [bad](javascript:alert(1))',
    ].join('\n');
    await send(alice.page, body);
    const m = message(bob.page, 'a quote');
    await m.waitFor();
    const md = m.locator('[data-body] [data-md=on]');
    await md.waitFor();
    for (const [sel, text] of [
      ['strong', 'bold'],
      ['em', 'italic'],
      ['s', 'struck'],
      ['code', 'inline code'],
      ['pre code', 'const x = 1;'],
      ['blockquote', 'a quote'],
    ]) {
      assert.equal((await md.locator(sel).first().innerText()).trim(), text, sel);
    }
    assert.equal(await md.locator('ul > li').count(), 2);
    const links = md.getByRole('link');
    assert.equal(await links.count(), 1, 'only the https link is a link');
    assert.equal(await links.getAttribute('href'), 'https://example.org/docs');
    assert.equal(await links.getAttribute('rel'), 'noopener noreferrer');
    assert.match(await md.innerText(), /<b>not bold<\/b>/);
    assert.equal(await md.locator('b').count(), 0);
  });

  it('reacts with any emoji from the full picker, and inserts emoji in the composer', async () => {
    const page = bob.page;
    const m = message(page, 'a quote');
    await m.hover();
    await m.getByRole('button', { name: 'Add reaction' }).click();
    await m.getByRole('button', { name: 'More…' }).click();
    const picker = page.getByRole('dialog', { name: 'Add a reaction' });
    const search = picker.getByRole('combobox', { name: 'Search' });
    await search.waitFor({ timeout: 15_000 });
    await search.fill('avocado');
    await picker.getByRole('option', { name: /avocado/ }).first().click();
    await picker.waitFor({ state: 'hidden' });
    await message(alice.page, 'a quote').getByRole('button', { name: /^🥑 1, by Bob/ }).waitFor();

    await page.getByRole('button', { name: 'Insert emoji' }).click();
    const insert = page.getByRole('dialog', { name: 'Insert an emoji' });
    await insert.getByRole('combobox', { name: 'Search' }).fill('rocket');
    await insert.getByRole('option', { name: /rocket/ }).first().click();
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await waitFor('the emoji in the composer', async () => (await box.inputValue()).includes('🚀'));
    await box.fill('');
  });

  it('completes :shortcodes: to emoji', async () => {
    const page = bob.page;
    const box = page.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('');
    await box.pressSequentially('party :tad');
    const list = page.getByRole('listbox', { name: 'Emoji suggestions' });
    await list.getByRole('option', { name: /:tada:/ }).waitFor();
    await box.press('Enter');
    await waitFor('the completion', async () => (await box.inputValue()) === 'party 🎉 ' || (await box.inputValue()) === 'party 🎉');
    await box.pressSequentially(' :+1:');
    await waitFor('the finished shortcode to turn into an emoji', async () => (await box.inputValue()).includes('👍'));
    await box.press('Enter');
    await message(alice.page, 'party 🎉').waitFor();
  });

  it('lands on the first unread message under a "New messages" line, with a jump to the latest', async () => {
    const page = bob.page;
    await message(page, 'party 🎉').waitFor();
    // Bob has read everything so far.
    await waitFor('bob to have read the lobby', async () => {
      const newest = (await rest(node, `/rooms/${lobby.id}/messages?limit=1`, { token: b.token })).messages[0];
      const rs = await rest(node, `/rooms/${lobby.id}/receipts`, { token: b.token });
      return rs.receipts.some((r) => r.user === b.user.id && r.upTo === newest.id);
    });
    const dm = await rest(node, '/dm', { method: 'POST', token: b.token, body: { userId: c.user.id, encrypted: false } });
    await openRoomById(page, node, dm.id);
    for (let i = 0; i < 40; i++) {
      await rest(node, `/rooms/${lobby.id}/messages`, { method: 'POST', token: a.token, body: { body: `unread ${String(i).padStart(2, '0')}` } });
    }
    const entry = roomEntry(page, 'lobby, 40 unread');
    await entry.waitFor();
    await entry.click();
    const line = page.getByRole('separator', { name: 'New messages' });
    await line.waitFor();
    const first = message(page, 'unread 00');
    await first.waitFor();
    assert.ok(await inView(page, first), 'the first unread message is in view');
    assert.ok(!(await inView(page, message(page, 'unread 39'))), 'the newest is not: the view starts at the first unread');
    const jump = page.getByRole('button', { name: 'Jump to latest' });
    await jump.click();
    await waitFor('the newest message in view', () => inView(page, message(page, 'unread 39')));
    await jump.waitFor({ state: 'hidden' });
  });

  it('jumps to the original of a reply, loading history as needed, and highlights it', async () => {
    const room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'archive', visibility: 'public' } });
    await rest(node, `/rooms/${room.id}/join`, { method: 'POST', token: b.token });
    const first = await rest(node, `/rooms/${room.id}/messages`, { method: 'POST', token: a.token, body: { body: 'the very first words' } });
    for (let i = 0; i < 80; i++) {
      await rest(node, `/rooms/${room.id}/messages`, { method: 'POST', token: a.token, body: { body: `filler ${i}` } });
    }
    await rest(node, `/rooms/${room.id}/messages`, { method: 'POST', token: a.token, body: { body: 'answering the start', replyTo: first.id } });
    const page = bob.page;
    await openRoomById(page, node, room.id);
    const reply = message(page, 'answering the start');
    await reply.waitFor();
    const quote = reply.locator('blockquote');
    await quote.filter({ hasText: 'the very first words' }).waitFor(); // fetched though far back
    assert.equal(await page.locator(`[data-message-id="${first.id}"]`).count(), 0, 'the original is not loaded yet');
    await quote.getByRole('button').click();
    const original = page.locator(`[data-message-id="${first.id}"]`);
    await original.waitFor({ timeout: 20_000 });
    await waitFor('the original in view', () => inView(page, original));
    assert.equal(await original.getAttribute('data-highlighted'), 'true');
  });

  it('cancels a reply or an edit with Esc, and edits the last message with ↑', async () => {
    const page = alice.page;
    await openRoomById(page, node, lobby.id);
    await send(page, 'my last words here');
    const mine = message(page, 'my last words here');
    await waitFor('the ack', async () => (await mine.getAttribute('data-status')) !== 'pending');
    const box = page.getByRole('textbox', { name: 'Message', exact: true });

    await mine.hover();
    await mine.getByRole('button', { name: 'Reply', exact: true }).click();
    await page.getByText('Replying to').waitFor();
    await box.focus();
    await box.press('Escape');
    await page.getByText('Replying to').waitFor({ state: 'hidden' });

    await box.fill('');
    await box.press('ArrowUp');
    const edit = page.getByRole('textbox', { name: 'Edited text' });
    await edit.waitFor();
    assert.equal(await edit.inputValue(), 'my last words here');
    await edit.press('Escape');
    await edit.waitFor({ state: 'hidden' });
    await waitFor('focus back in the composer', () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Message'));

    await box.press('ArrowUp');
    await edit.fill('my last words, revised');
    await edit.press('Enter');
    await message(page, 'my last words, revised').filter({ hasText: '(edited)' }).waitFor();
  });

  it('renames a room and changes its topic, shown live and as quiet lines with joins, invites and leaves', async () => {
    const page = alice.page;
    const id = await createRoom(page, 'planning');
    await page.getByText('Alice created the room').waitFor();
    await rest(node, `/rooms/${id}/join`, { method: 'POST', token: b.token });
    await rest(node, `/rooms/${id}/invite`, { method: 'POST', token: a.token, body: { userId: c.user.id } });
    await rest(node, `/rooms/${id}/leave`, { method: 'POST', token: c.token });

    await page.getByRole('button', { name: 'Room menu' }).click();
    await page.getByRole('menuitem', { name: 'Room settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Room settings' });
    await dialog.getByLabel('Room name').fill('roadmap');
    await dialog.getByLabel('Topic').fill('What we build next');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('heading', { name: 'roadmap' }).waitFor();
    await page.getByText('What we build next').first().waitFor();
    await rest(node, `/rooms/${id}/leave`, { method: 'POST', token: b.token });

    const lines = page.locator('[data-timeline-event]');
    for (const text of [
      'Alice created the room',
      'Bob joined',
      'Alice invited Carol',
      'Carol left',
      // One change, one line.
      'Alice renamed the room to “roadmap” and changed the topic to “What we build next”',
      'Bob left',
    ]) {
      await lines.filter({ hasText: text }).waitFor({ timeout: 10_000 });
    }
    // They stay after a reload (they come from the node, not the page).
    await page.reload();
    await lines.filter({ hasText: 'Alice invited Carol' }).waitFor();

    // Bob, no admin, has no room settings; he sees the new name.
    await rest(node, `/rooms/${id}/join`, { method: 'POST', token: b.token });
    await roomEntry(bob.page, 'roadmap').click();
    await bob.page.getByRole('heading', { name: 'roadmap' }).waitFor();
    await bob.page.getByRole('button', { name: 'Room menu' }).click();
    assert.equal(await bob.page.getByRole('menuitem', { name: 'Room settings' }).count(), 0);
    await bob.page.keyboard.press('Escape');
  });

  it('marks private rooms with a lock and public ones with #, in sections for rooms and direct messages', async () => {
    const page = alice.page;
    await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'vault', visibility: 'private', encrypted: false } });
    await rest(node, '/dm', { method: 'POST', token: a.token, body: { userId: b.user.id, encrypted: false } });
    const nav = page.getByRole('navigation', { name: 'Rooms' });
    const rooms = nav.getByRole('region', { name: 'Rooms' });
    const dms = nav.getByRole('region', { name: 'Direct messages' });
    const row = (name) => rooms.getByRole('listitem').filter({ has: page.getByRole('link', { name, exact: true }) });
    await row('vault').locator('[data-room-icon=lock]').waitFor();
    // An end-to-end encrypted room (the node's default for private rooms) has a lock too.
    await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'sealed', visibility: 'private' } });
    await row('sealed').getByRole('img', { name: 'Encrypted room', includeHidden: true }).waitFor({ state: 'attached' });
    await row('lobby').locator('[data-room-icon=hash]').waitFor();
    await dms.getByRole('link', { name: 'Bob' }).waitFor();
    assert.equal(await rooms.getByRole('link', { name: 'Bob' }).count(), 0);
    await rooms.getByRole('link', { name: 'vault' }).click();
    await page.getByRole('heading', { name: 'vault' }).getByRole('img', { name: 'Private room' }).waitFor();

    // The choice explains itself when a room is made.
    await page.getByRole('button', { name: 'New room' }).click();
    const dialog = page.getByRole('dialog', { name: 'New room' });
    const privateChoice = dialog.getByRole('radio', { name: /Private/ });
    assert.match((await privateChoice.getAttribute('aria-describedby')) ?? '', /.+/);
    await dialog.getByText('Only people you invite can join and read it.').waitFor();
    await page.keyboard.press('Escape');
  });

  it('copies a room link that joins when pasted', async () => {
    const page = alice.page;
    const id = await createRoom(page, 'linked');
    await page.getByRole('button', { name: 'Room menu' }).click();
    await page.getByRole('menuitem', { name: 'Copy link' }).click();
    await page.getByRole('status').filter({ hasText: 'Link copied.' }).waitFor();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(link, `${node.url}/r/${id}`);
    await bob.page.getByRole('button', { name: 'Browse' }).click();
    await bob.page.getByLabel('Room ID or link').fill(link);
    await bob.page.getByRole('button', { name: 'Join by ID' }).click();
    await bob.page.waitForURL(`${node.url}/r/${id}`);
    await bob.page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
  });

  it('shows a profile card from the member list, with home node and a Message button', async () => {
    const page = bob.page;
    await openRoomById(page, node, lobby.id);
    await page.getByRole('button', { name: 'Members' }).click();
    const panel = page.getByRole('complementary', { name: 'Members' });
    const entry = panel.getByRole('button', { name: /^Alice/ });
    await entry.waitFor();
    assert.match(await entry.innerText(), /this node/);
    await entry.click();
    const card = page.getByRole('dialog', { name: 'Alice' });
    await card.getByText('Home node').waitFor();
    await card.locator(`[data-node]`).filter({ hasText: 'This node' }).waitFor();
    await card.getByText('Online').waitFor();
    await card.getByRole('button', { name: 'Message' }).click();
    await card.waitFor({ state: 'hidden' });
    await page.getByRole('heading', { name: 'Alice' }).waitFor();
    await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
  });

  it('asks before leaving, with its own dialog', async () => {
    const page = bob.page;
    await openRoomById(page, node, lobby.id);
    await page.getByRole('button', { name: 'Room menu' }).click();
    await page.getByRole('menuitem', { name: 'Leave room' }).click();
    const ask = page.getByRole('alertdialog', { name: 'Leave lobby?' });
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'hidden' });
    assert.equal(page.url(), `${node.url}/r/${lobby.id}`);
    await page.getByRole('button', { name: 'Room menu' }).click();
    await page.getByRole('menuitem', { name: 'Leave room' }).click();
    await ask.getByRole('button', { name: 'Leave' }).click();
    await page.waitForURL(`${node.url}/`);
    await roomEntry(page, /^lobby/, false).waitFor({ state: 'detached' });
    await rest(node, `/rooms/${lobby.id}/join`, { method: 'POST', token: b.token });
    assert.deepEqual(bob.problems, []);
  });

  it('explains errors in sentences, not the node\'s words', async () => {
    const u = await newUser(browser, node.url);
    const page = u.page;
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Display name').fill('Another Alice');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('alert').filter({ hasText: 'That username is taken. Choose another one.' }).waitFor();
    await u.context.close();

    await bob.page.getByRole('button', { name: 'Browse' }).click();
    await bob.page.getByLabel('Room ID or link').fill('rNoSuchRoomAnywhere');
    await bob.page.getByRole('button', { name: 'Join by ID' }).click();
    const alert = bob.page.getByRole('dialog', { name: 'Public rooms' }).getByRole('alert');
    await alert.filter({ hasText: 'No room with that ID was found' }).waitFor({ timeout: 20_000 });
    assert.doesNotMatch(await alert.innerText(), /no such room/);
    await bob.page.keyboard.press('Escape');
  });

  it('folds a long message behind "Show more"', async () => {
    const page = bob.page;
    await openRoomById(page, node, lobby.id);
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i + 1} of a long paste`).join('\n');
    await rest(node, `/rooms/${lobby.id}/messages`, { method: 'POST', token: a.token, body: { body: lines } });
    const m = message(page, 'line 1 of a long paste');
    await m.waitFor();
    const more = m.getByRole('button', { name: 'Show more' });
    await more.waitFor();
    const body = m.locator('[data-body] > div').first();
    const [h, full] = await body.evaluate((el) => [el.clientHeight, el.scrollHeight]);
    assert.ok(h < full / 2, `folded: ${h} of ${full} px`);
    await more.click();
    await m.getByRole('button', { name: 'Show less' }).waitFor();
    assert.ok((await body.evaluate((el) => el.clientHeight)) >= full - 1);
  });

  it('jumps anywhere with Ctrl+K', async () => {
    const page = alice.page;
    await page.goto(`${node.url}/settings`);
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.keyboard.press('Control+k');
    const dialog = page.getByRole('dialog', { name: 'Jump to' });
    const input = dialog.getByRole('combobox', { name: 'Room or person' });
    await input.fill('lob');
    await dialog.getByRole('option', { name: /lobby/ }).waitFor();
    await input.press('Enter');
    await page.waitForURL(`${node.url}/r/${lobby.id}`);
    await page.keyboard.press('Control+k');
    await input.fill('Carol');
    await dialog.getByRole('option', { name: /Carol/ }).waitFor();
    await input.press('Enter');
    await page.getByRole('heading', { name: 'Carol' }).waitFor();
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });
});
