// harness.mjs starts real `hearth serve` processes and a headless Chromium
// for the browser tests. The binary comes from $HEARTH_BIN; the browser is
// Debian's /usr/bin/chromium (override with $CHROMIUM), never a download.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HEARTH_BIN = process.env.HEARTH_BIN ? resolve(process.env.HEARTH_BIN) : '';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Screenshots go to docs/screenshots only when asked (`make screenshots`
// sets HEARTH_SCREENSHOTS); a plain test run writes them to a temp dir so
// that it leaves the work tree as it found it.
export const SCREENSHOTS = process.env.HEARTH_SCREENSHOTS
  ? resolve(process.env.HEARTH_SCREENSHOTS)
  : join(tmpdir(), 'hearth-e2e-screenshots');

/** skipReason says why the browser tests cannot run here, or '' when they can. */
// With HEARTH_E2E_REQUIRED=1 (as `make test` sets it) a missing binary or
// browser is an error rather than a skip, so CI cannot pass by running
// nothing.
export function skipReason() {
  let why = '';
  if (!HEARTH_BIN) why = 'HEARTH_BIN is not set (build with: go build -o /tmp/hearth ./cmd/hearth)';
  else if (!existsSync(HEARTH_BIN)) why = `HEARTH_BIN ${HEARTH_BIN} does not exist`;
  else if (!existsSync(CHROMIUM)) why = `no Chromium at ${CHROMIUM}`;
  if (why && process.env.HEARTH_E2E_REQUIRED === '1') throw new Error(`browser tests required but cannot run: ${why}`);
  return why;
}

/** waitFor polls fn until it returns a truthy value or the time runs out. */
export async function waitFor(what, fn, timeoutMs = 15_000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// The ready line names the HTTP address; accept slog text (http=host:port),
// slog JSON ("http":"host:port") and plain URLs.
const HTTP_RE = [
  /"http(?:Addr)?"\s*:\s*"(?:https?:\/\/)?([0-9.]+:\d+)"/i,
  /\bhttp(?:Addr)?=\"?(?:https?:\/\/)?([0-9.]+:\d+)/i,
  /https?:\/\/(127\.0\.0\.1:\d+)/i,
];

export function parseHttpAddr(line) {
  for (const re of HTTP_RE) {
    const m = line.match(re);
    if (m && !m[1].endsWith(':0')) return m[1];
  }
  return null;
}

let tmpRoot;
export function tempDir(name) {
  tmpRoot ??= mkdtempSync(join(tmpdir(), 'hearth-e2e-'));
  const d = join(tmpRoot, name);
  mkdirSync(d, { recursive: true });
  return d;
}
export function cleanupTemp() {
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = undefined;
}

/**
 * startNode runs `hearth serve` and resolves once it answers /readyz, with
 * its URL, node ID and libp2p addresses. Pass http to reuse a port (restart).
 */
export async function startNode({ data, http = '127.0.0.1:0', peers = [], name, extraArgs = [] } = {}) {
  if (process.env.E2E_LOG && !extraArgs.includes('--log-level')) extraArgs = [...extraArgs, '--log-level', 'debug'];
  const args = ['serve', '--data', data, '--http', http, '--p2p', '/ip4/127.0.0.1/tcp/0', '--mdns=false', ...extraArgs];
  for (const p of peers) args.push('--peer', p);
  if (name) args.push('--name', name);
  const proc = spawn(HEARTH_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  let addr = null;
  let exited = null;
  proc.on('exit', (code, sig) => (exited = { code, sig }));
  for (const s of [proc.stdout, proc.stderr]) {
    let buf = '';
    s.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        log.push(line);
        if (process.env.E2E_LOG) appendFileSync(process.env.E2E_LOG, `[node ${name ?? ''}] ${line}\n`);
        else if (process.env.E2E_VERBOSE) console.error(`[${name ?? 'node'}] ${line}`);
        addr ??= parseHttpAddr(line);
      }
    });
  }
  if (http !== '127.0.0.1:0') addr = http;
  try {
    await waitFor('the node to log its HTTP address', () => {
      if (exited) throw new Error(`hearth exited ${JSON.stringify(exited)}:\n${log.join('\n')}`);
      return addr;
    }, 30_000);
    const url = `http://${addr}`;
    await waitFor('/readyz', async () => {
      if (exited) throw new Error(`hearth exited ${JSON.stringify(exited)}:\n${log.join('\n')}`);
      return (await fetch(`${url}/readyz`)).ok;
    }, 30_000);
    const info = await (await fetch(`${url}/api/v1/node`)).json();
    return {
      url,
      http: addr,
      id: info.id,
      addrs: info.addrs ?? [],
      proc,
      log,
      async stop(signal = 'SIGTERM') {
        if (exited) return;
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill(signal);
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
        if (!exited) {
          proc.kill('SIGKILL');
          await done;
        }
      },
    };
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
/** A phone as the browser sees it: small, touch, mobile viewport. */
export const PHONE_TOUCH = { viewport: PHONE, hasTouch: true, isMobile: true };

/**
 * newUser opens a browser context for one person and fails the test on any
 * JavaScript dialog (an alert would mean a message body ran as code, and the
 * app asks with its own dialogs, never the browser's confirm()) or uncaught
 * page error. consoleErrors collects what the page logs as errors.
 */
export async function newUser(browser, url, { viewport = DESKTOP, colorScheme = 'light', hasTouch, isMobile, permissions } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, hasTouch, isMobile, locale: 'en-US', permissions });
  const page = await context.newPage();
  const problems = [];
  const consoleErrors = [];
  page.on('dialog', async (d) => {
    problems.push(`unexpected browser ${d.type()} dialog: ${d.message()}`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    consoleErrors.push(m.text());
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  await page.goto(url);
  return { context, page, problems, consoleErrors };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe runs axe-core (WCAG 2.x A and AA rules) on the page as it is and
 * returns the serious and critical violations, one line each. It is run
 * through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axe(page) {
  // A dialog or theme still fading in shows colours it will not keep
  // (a half-transparent modal measured 3.5:1 for text that settles at
  // AA): judge what the page settles on.
  // Endless ones (spinners) are left alone.
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => Number.isFinite(a.effect?.getComputedTiming().endTime ?? Infinity))
        .map((a) => a.finished.catch(() => undefined)),
    ),
  );
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary?.split('\n').slice(0, 2).join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join('\n    ')}`);
}

export async function signUp(page, { username, password = 'correct horse battery', displayName }) {
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName ?? username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
}

export async function logIn(page, { username, password = 'correct horse battery' }) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
}

export async function createRoom(page, name, topic = '') {
  await page.getByRole('button', { name: 'New room' }).click();
  await page.getByLabel('Room name').fill(name);
  if (topic) await page.getByLabel('Topic').fill(topic);
  const before = page.url();
  await page.getByRole('button', { name: 'Create room' }).click();
  // From one room to the new one: wait for the address to change, not
  // just to name a room.
  await page.waitForURL((u) => u.pathname.startsWith('/r/') && u.href !== before);
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/r/')[1]);
  await page.locator(`[role=log][data-room="${id}"]`).waitFor();
  return id;
}

export async function joinById(page, roomId) {
  await page.getByRole('button', { name: 'Browse' }).click();
  await page.getByLabel('Room ID').fill(roomId);
  await page.getByRole('button', { name: 'Join by ID' }).click();
  await page.waitForURL((u) => u.pathname === `/r/${encodeURIComponent(roomId)}`, { timeout: 10_000 });
  await page.locator(`[role=log][data-room="${roomId}"]`).waitFor();
}

export async function send(page, body) {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(body);
  await box.press('Enter');
}

/** message finds a message element in the open room's log by its text. */
export function message(page, text) {
  return page.getByRole('log', { name: 'Messages', exact: true }).locator('[data-message-id]', { hasText: text });
}

export async function shoot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** rest calls the node's HTTP API directly (to set a scene quickly). */
export async function rest(node, path, { method = 'GET', body, token } = {}) {
  const res = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** register makes an account over the API; it returns the user and an access token. */
export async function register(node, username, displayName = username) {
  const s = await rest(node, '/auth/register', { method: 'POST', body: { username, password: 'correct horse battery', displayName } });
  return { user: s.user, token: s.accessToken };
}

/** roomEntry finds a room's entry in the sidebar by its accessible name. */
export function roomEntry(page, name, exact = true) {
  return page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name, exact });
}

/** roomRow is a room's whole row in the sidebar (its link holds only the title). */
export function roomRow(page, name, exact = true) {
  // The inner locator of has: is relative to each list item.
  return page.getByRole('navigation', { name: 'Rooms' }).getByRole('listitem').filter({ has: page.getByRole('link', { name, exact }) });
}

/** openRoom goes to a room by ID and waits for its timeline. */
export async function openRoomById(page, node, roomId) {
  await page.goto(`${node.url}/r/${encodeURIComponent(roomId)}`);
  await page.getByRole('log', { name: 'Messages' }).waitFor();
}
