import { describe, expect, it, vi } from 'vitest';
import { Api, ApiError } from './rest';
import { describeCode, describeError } from './errors';

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const session = (token: string) => ({ user: { id: 'me@n', username: 'me', displayName: 'Me', node: 'n' }, accessToken: token, refreshToken: 'r', expiresIn: 900 });

describe('Api', () => {
  it('turns error bodies into ApiError', async () => {
    const f = vi.fn(async () => json(409, { error: { code: 'conflict', message: 'username taken' } }));
    const api = new Api({ fetch: f as unknown as typeof fetch });
    const err = await api.register('me', 'password1').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'conflict', message: 'username taken' });
  });

  it('sends an invite token with a sign-up, and none when there is none', async () => {
    const bodies: unknown[] = [];
    const f = vi.fn(async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(init.body as string));
      return json(201, session('t'));
    });
    const api = new Api({ fetch: f as unknown as typeof fetch });
    await api.register('me', 'password1', 'Me', 'invite-123');
    await api.register('me2', 'password1');
    expect(bodies[0]).toEqual({ username: 'me', password: 'password1', displayName: 'Me', token: 'invite-123' });
    expect(bodies[1]).toEqual({ username: 'me2', password: 'password1' });
  });

  it('reports Retry-After on 429', async () => {
    const f = vi.fn(async () => json(429, { error: { code: 'rate_limited', message: 'too many attempts' } }, { 'Retry-After': '30' }));
    const api = new Api({ fetch: f as unknown as typeof fetch });
    const err = await api.login('me', 'x').catch((e) => e);
    expect(describeError(err, 'login')).toBe('Too many attempts to log in. Wait a little and try again. (You can try again in 30 s.)');
  });

  it('refreshes with the cookie, sends the bearer token and schedules the next refresh', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const calls: { url: string; init: RequestInit }[] = [];
    let n = 0;
    const f = vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      if (url.endsWith('/auth/refresh')) return json(200, session(`t${++n}`));
      return json(200, { rooms: [] });
    });
    const api = new Api({ fetch: f as unknown as typeof fetch, setTimer: (fn, ms) => timers.push({ fn, ms }) });
    const seen: (string | null)[] = [];
    api.onSession((s) => seen.push(s?.accessToken ?? null));
    await Promise.all([api.refresh(), api.refresh()]);
    expect(calls.length).toBe(1);
    expect(calls[0].init.body).toBe('{}');
    expect(calls[0].init.credentials).toBe('same-origin');
    expect(timers[0].ms).toBe(840_000);
    await api.rooms();
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBe('Bearer t1');
    timers[0].fn();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual(['t1', 't2']);
  });

  it('retries once with a fresh token after a 401', async () => {
    let refreshed = false;
    const f = vi.fn(async (url: string, init: RequestInit) => {
      if (url.endsWith('/auth/login')) return json(200, session('old'));
      if (url.endsWith('/auth/refresh')) {
        refreshed = true;
        return json(200, session('new'));
      }
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === 'Bearer new' ? json(200, { users: [] }) : json(401, { error: { code: 'unauthenticated', message: 'expired' } });
    });
    const api = new Api({ fetch: f as unknown as typeof fetch, setTimer: () => 0 });
    await api.login('me', 'pw');
    expect(await api.searchUsers('x')).toEqual([]);
    expect(refreshed).toBe(true);
  });

  it('signs out when the refresh cookie is refused', async () => {
    const f = vi.fn(async () => json(401, { error: { code: 'unauthenticated', message: 'no session' } }));
    const api = new Api({ fetch: f as unknown as typeof fetch });
    const seen: unknown[] = [];
    api.onSession((s) => seen.push(s));
    await expect(api.refresh()).rejects.toBeInstanceOf(ApiError);
    expect(seen).toEqual([null]);
    expect(api.accessToken()).toBeNull();
  });

  it('explains error codes in the words of the action, never the node\'s', () => {
    const nodeSays = new ApiError(404, 'not_found', 'no such room');
    expect(describeError(nodeSays, 'joinRoom')).toBe('No room with that ID was found on this node or the nodes it knows.');
    expect(describeError(nodeSays, 'openRoom')).toBe('There is no room at this address, or it was removed.');
    expect(describeError(nodeSays)).toBe('That no longer exists, or you cannot see it.');
    // A 403 at sign-up is the token's on a node that asks for one, and the
    // whole node's otherwise; at login it is a locked account.
    const refused = new ApiError(403, 'forbidden', 'this invite token is not valid');
    expect(describeError(refused, 'signupToken')).toMatch(/^This invite token is not valid/);
    expect(describeError(refused, 'signup')).toBe('This node does not accept new accounts.');
    expect(describeError(refused, 'login')).toBe("This account is locked. Ask the node's admins.");
    expect(describeError(new ApiError(401, 'unauthenticated', 'invalid username or password'), 'login')).toBe('Wrong username or password.');
    expect(describeError(new TypeError('Failed to fetch'))).toBe('Cannot reach the node. Check your connection.');
    expect(describeError(new ApiError(418, 'http_418', "I'm a teapot"))).toBe('Something went wrong (error 418). Try again.');
    expect(describeError(new Error('boom'))).toMatch(/^Something went wrong on the node/);
    expect(describeCode('too_large', 'send')).toBe('This message is too long (16 KiB at most).');
    expect(describeCode('brand_new_code')).toMatch(/^Something went wrong on the node/);
  });
});
