// Stored XSS through every user-controlled string the UI shows: a display
// name, a room name and topic, and a message body, all made of markup. In a
// real browser they must show as text, create no elements and run nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, createRoom, joinById, launchBrowser, message, newUser, send, signUp, skipReason, startNode, tempDir } from './harness.mjs';

const skip = skipReason();

describe('hostile strings render as text', { skip: skip || false, timeout: 180_000 }, () => {
  let node, browser, mallory, victim;

  before(async () => {
    node = await startNode({ data: tempDir('xss'), name: 'xss' });
    browser = await launchBrowser();
    mallory = await newUser(browser, node.url);
    victim = await newUser(browser, node.url);
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    cleanupTemp();
  });

  it('in display names, room names, topics and bodies', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const roomName = '<svg onload=alert(2)>';
    const topic = '<script>alert(3)</script>';
    await signUp(mallory.page, { username: 'mallory', displayName: name });
    await signUp(victim.page, { username: 'victim', displayName: 'Victim' });
    const roomId = await createRoom(mallory.page, roomName, topic);
    await send(mallory.page, '<iframe src="javascript:alert(4)"></iframe>');
    await joinById(victim.page, roomId);

    const body = message(victim.page, '<iframe');
    await body.waitFor();
    const page = victim.page;
    // The strings are on screen as characters...
    await page.getByText(name).first().waitFor();
    await page.getByText(roomName).first().waitFor();
    await page.getByText(topic).first().waitFor();
    // ...and none of them became an element.
    for (const sel of ['img[src=x]', 'svg[onload]', 'iframe', 'script:not([src])']) {
      assert.equal(await page.locator(`body ${sel}`).count(), 0, `${sel} was created from user text`);
    }
    assert.deepEqual([...mallory.problems, ...victim.problems], []);
  });
});
