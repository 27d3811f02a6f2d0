// Browser tests of room moderation (issue #15, API.md §8) on one real node:
// the members panel's menu gives roles, removes and bans; a moderator
// deletes another member's message; an announcement room shows members
// why they cannot post; the timeline says what moderators did.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, launchBrowser, logIn, message, newUser, openRoomById, register, rest, send, skipReason, startNode, tempDir, waitFor } from './harness.mjs';

const skip = skipReason();

describe('room moderation', { skip: skip || false, timeout: 300_000 }, () => {
  let node, browser, alice, bob, a, b, c, room;

  before(async () => {
    node = await startNode({ data: tempDir('moderation'), name: 'moderation' });
    browser = await launchBrowser();
    a = await register(node, 'alice', 'Alice');
    b = await register(node, 'bob', 'Bob');
    c = await register(node, 'carol', 'Carol');
    room = await rest(node, '/rooms', { method: 'POST', token: a.token, body: { name: 'town', visibility: 'public' } });
    await rest(node, `/rooms/${room.id}/join`, { method: 'POST', token: b.token });
    await rest(node, `/rooms/${room.id}/join`, { method: 'POST', token: c.token });
    alice = await newUser(browser, node.url);
    bob = await newUser(browser, node.url);
    await logIn(alice.page, { username: 'alice' });
    await logIn(bob.page, { username: 'bob' });
    await openRoomById(alice.page, node, room.id);
    await openRoomById(bob.page, node, room.id);
  });

  after(async () => {
    for (const u of [alice, bob]) assert.deepEqual(u?.problems ?? [], []);
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  const panel = (page) => page.getByRole('complementary', { name: 'Members' });
  const row = (page, id) => panel(page).locator(`[data-member="${id}"]`);

  it('an owner makes a member moderator from the members panel', async () => {
    // A member has no moderation menu.
    await bob.page.getByRole('button', { name: 'Members' }).click();
    await row(bob.page, c.user.id).waitFor();
    assert.equal(await panel(bob.page).getByRole('button', { name: /^Moderate/ }).count(), 0);

    await alice.page.getByRole('button', { name: 'Members' }).click();
    await panel(alice.page).getByRole('button', { name: 'Moderate Bob' }).click();
    await alice.page.getByRole('menuitem', { name: 'Make moderator' }).click();
    await waitFor('bob shown as moderator', async () => (await row(alice.page, b.user.id).getAttribute('data-role')) === 'moderator');
    await waitFor("bob's own view of his role", async () => (await row(bob.page, b.user.id).getAttribute('data-role')) === 'moderator');
    await row(bob.page, b.user.id).getByText('Moderator').waitFor();
    // The owner is above bob: he may not moderate her; carol is below him.
    assert.equal(await panel(bob.page).getByRole('button', { name: 'Moderate Alice' }).count(), 0);
    await panel(bob.page).getByRole('button', { name: 'Moderate Carol' }).waitFor();
    await alice.page.getByText('Alice made Bob a moderator').waitFor();
  });

  it("a moderator deletes a member's message", async () => {
    const m = await rest(node, `/rooms/${room.id}/messages`, { method: 'POST', token: c.token, body: { body: 'buy cheap watches' } });
    const spam = message(bob.page, 'buy cheap watches');
    await spam.waitFor();
    await spam.hover();
    await spam.getByRole('button', { name: 'Delete' }).click();
    const ask = bob.page.getByRole('alertdialog', { name: 'Delete this message by Carol?' });
    await ask.getByRole('button', { name: 'Delete' }).click();
    await waitFor('the message deleted for alice', async () => (await message(alice.page, 'buy cheap watches').count()) === 0);
    const got = await rest(node, `/rooms/${room.id}/messages/${m.id}`, { token: a.token });
    assert.equal(got.deleted, true);
    // No Delete on the owner's messages for a moderator.
    await send(alice.page, 'house rules');
    const rules = message(bob.page, 'house rules');
    await rules.waitFor();
    await rules.hover();
    assert.equal(await rules.getByRole('button', { name: 'Delete' }).count(), 0);
  });

  it('a moderator bans a member, who cannot come back', async () => {
    await panel(bob.page).getByRole('button', { name: 'Moderate Carol' }).click();
    await bob.page.getByRole('menuitem', { name: 'Ban' }).click();
    await bob.page.getByRole('alertdialog', { name: 'Ban Carol?' }).getByRole('button', { name: 'Ban' }).click();
    await waitFor('carol gone from the members', async () => (await row(alice.page, c.user.id).count()) === 0);
    await alice.page.getByText('Bob banned Carol').waitFor();
    await assert.rejects(rest(node, `/rooms/${room.id}/join`, { method: 'POST', token: c.token }), /403/);
  });

  it('an announcement room tells members who may post', async () => {
    await rest(node, `/rooms/${room.id}/roles/${encodeURIComponent(b.user.id)}`, { method: 'PUT', token: a.token, body: { role: 'member' } });
    await rest(node, `/rooms/${room.id}`, { method: 'PATCH', token: a.token, body: { postingRole: 'moderator' } });
    await bob.page.getByText('Only moderators and above may post in this room.').waitFor();
    assert.equal(await bob.page.getByRole('textbox', { name: 'Message' }).count(), 0);
    await alice.page.getByRole('textbox', { name: 'Message' }).waitFor();
    await alice.page.getByText('Alice changed who may do what: only moderators and above may post').waitFor();
  });
});
