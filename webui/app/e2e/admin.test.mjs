// Browser tests of node administration (issue #15): sign-up by invite
// token, a closed node's sign-up screen, and the node admin page listing
// and resolving a user's report, with real nodes and `hearth admin`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { cleanupTemp, HEARTH_BIN, launchBrowser, newUser, shoot, skipReason, startNode, tempDir } from './harness.mjs';

const skip = skipReason();

/** hearthAdmin runs `hearth admin --data DIR args...` and returns its output. */
function hearthAdmin(data, ...args) {
  return execFileSync(HEARTH_BIN, ['admin', '--data', data, ...args], { encoding: 'utf8' });
}

describe('node administration', { skip: skip || false, timeout: 240_000 }, () => {
  let node, closedNode, browser;
  const data = skip ? '' : tempDir('admin');
  const closedData = skip ? '' : tempDir('closed');

  before(async () => {
    node = await startNode({ data, name: 'admin', extraArgs: ['--registration', 'token'] });
    closedNode = await startNode({ data: closedData, name: 'closed', extraArgs: ['--registration', 'closed'] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    await closedNode?.stop();
    cleanupTemp();
  });

  it('says so when sign-up is closed', async () => {
    const { page, problems } = await newUser(browser, `${closedNode.url}/signup`);
    await page.getByText('Sign-up is closed on this node').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign up' }).isDisabled(), true);
    assert.equal(await page.getByLabel('Invite token').count(), 0);
    assert.deepEqual(problems, []);
  });

  it('signs up with an invite token, and refuses a wrong one', async () => {
    const token = hearthAdmin(data, 'invites', 'create', '--uses', '2').split('\n')[0].trim();
    const { page, problems } = await newUser(browser, node.url);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Display name').fill('Alice');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByLabel('Invite token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('alert').filter({ hasText: 'invite token is not valid' }).waitFor();
    await page.getByLabel('Invite token').fill(token);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    // An invite link fills the token in.
    const bob = await newUser(browser, `${node.url}/signup?token=${encodeURIComponent(token)}`);
    assert.equal(await bob.page.getByLabel('Invite token').inputValue(), token);
    await bob.page.getByLabel('Username').fill('bob');
    await bob.page.getByLabel('Password').fill('correct horse battery');
    await bob.page.getByRole('button', { name: 'Sign up' }).click();
    await bob.page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    await bob.context.close();
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('lists a user report on the admin page, and resolves it', async () => {
    // bob reports alice through the API, as a client would.
    const login = await fetch(`${node.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'correct horse battery' }),
    }).then((r) => r.json());
    const res = await fetch(`${node.url}/api/v1/reports`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.accessToken}` },
      body: JSON.stringify({ user: `alice@${node.id}`, reason: 'posts spam links' }),
    });
    assert.equal(res.status, 201);

    // alice is the node's first account, so its admin.
    const { page, problems } = await newUser(browser, node.url);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    await page.goto(`${node.url}/settings`);
    await page.getByRole('link', { name: 'Node administration' }).click();
    await page.getByRole('heading', { name: 'Node administration' }).waitFor();
    await page.getByRole('tab', { name: 'Reports' }).click();
    const report = page.locator('[data-report-id]', { hasText: 'posts spam links' });
    await report.waitFor();
    assert.match(await report.innerText(), /bob@/);
    await shoot(page, 'admin-reports');
    await report.getByLabel('Note').fill('warned them');
    await report.getByRole('button', { name: 'Resolve' }).click();
    await page.getByRole('status').filter({ hasText: 'Report resolved' }).waitFor();
    await page.getByText('No reports to handle.').waitFor();

    // The other tabs show the users and the audit log of what was done.
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.locator('tr[data-user="bob"]').waitFor();
    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'report.resolve' }).waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('shows the page to node admins only', async () => {
    const { page } = await newUser(browser, node.url);
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    await page.goto(`${node.url}/settings`);
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Node administration' }).count(), 0);
    await page.goto(`${node.url}/admin`);
    await page.getByText("Only this node's admins can see this page.").waitFor();
    await page.context().close();
  });
});
