// notify.ts: what the browser does about notifications, outside React:
// desktop notifications while the tab is hidden (the Notification API),
// and Web Push for when no tab is open (a service worker, /sw.js, and a
// push subscription registered with the node). Docs:
// docs/notifications.md.
import { api, ApiError } from './rest';
import type { Message, Room, ServerFrame } from './types';
import { displayName, notifies, store } from '../store';

const DESKTOP_KEY = 'hearth-desktop-notifications';
const PUSH_KEY = 'hearth-push-subscription';
/** OPEN_ROOM is the window event (and service-worker message) that asks the UI to open a room. */
export const OPEN_ROOM = 'hearth:open-room';

function storageGet(k: string): string | null {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}

function storageSet(k: string, v: string | null): void {
  try {
    if (v === null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
}

export function notificationsSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

export function pushSupported(): boolean {
  return notificationsSupported() && 'serviceWorker' in navigator && 'PushManager' in window;
}

/** desktopEnabled reports whether this browser shows desktop notifications for a hidden tab. */
export function desktopEnabled(): boolean {
  return notificationsSupported() && Notification.permission === 'granted' && storageGet(DESKTOP_KEY) === '1';
}

/**
 * setDesktop turns desktop notifications on or off for this browser;
 * turning them on asks the browser's permission, so call it from a click.
 * It resolves to whether they are on.
 */
export async function setDesktop(on: boolean): Promise<boolean> {
  if (!on || !notificationsSupported()) {
    storageSet(DESKTOP_KEY, null);
    return false;
  }
  const perm = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  if (perm !== 'granted') throw new Error('This browser blocks notifications for this site; allow them in its site settings.');
  storageSet(DESKTOP_KEY, '1');
  return true;
}

/** loadNotifySettings reads the user's settings from the node into the store. */
export async function loadNotifySettings(): Promise<void> {
  store.get().setNotifySettings(await api.notifySettings());
}

/** notificationText is a notification's title and body for a message. */
export function notificationText(m: Message, room: Pick<Room, 'kind' | 'name'> | undefined, sender: string): { title: string; body: string } {
  const encrypted = !!m.encrypted && !m.body;
  const title = !room || room.kind === 'dm' ? sender : `${sender} in ${room.name || 'a room'}`;
  let body = m.body;
  if (encrypted) body = 'New message';
  else if (!body && m.attachments?.length) body = 'Sent a file';
  return { title, body: body.length > 140 ? `${body.slice(0, 139)}…` : body };
}

/**
 * desktopNotify shows a desktop notification for a message frame when the
 * tab is hidden and the room's setting selects the message; a click brings
 * the tab forward and opens the room.
 */
export async function desktopNotify(f: ServerFrame, hidden: boolean, now: number): Promise<Notification | null> {
  if (f.type !== 'message' || !hidden || !desktopEnabled()) return null;
  const st = store.get();
  const me = st.session.user?.id;
  const room = st.rooms.byId[f.message.room];
  if (!me || !room || !notifies(st.notify, me, f.message, room, now)) return null;
  const sender = f.message.sender;
  if (!st.presence.users[sender]) {
    // Name the sender as the app does: their profile, fetched if it is
    // not known yet (a room never opened in this tab).
    await Promise.race([
      api.user(sender).then((u) => store.get().addUsers([u]), () => undefined),
      new Promise((r) => setTimeout(r, 1500)),
    ]);
  }
  const { title, body } = notificationText(f.message, room, displayName(store.get().presence, sender));
  const n = new Notification(title, { body, tag: f.message.id, icon: '/favicon.svg', data: { room: room.id } });
  n.onclick = () => {
    window.focus();
    window.dispatchEvent(new CustomEvent(OPEN_ROOM, { detail: room.id }));
    n.close();
  };
  return n;
}

function keyBytes(b64url: string): Uint8Array<ArrayBuffer> {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function sameKey(sub: PushSubscription, key: string): boolean {
  const have = sub.options.applicationServerKey;
  if (!have) return false;
  const a = new Uint8Array(have);
  const b = keyBytes(key);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** registerWorker installs the service worker that shows pushes (/sw.js, for the whole UI). */
export function registerWorker(): Promise<ServiceWorkerRegistration> {
  return navigator.serviceWorker.register('/sw.js', { scope: '/' });
}

/** pushEnabled reports whether this browser has push on for the signed-in user. */
export async function pushEnabled(): Promise<boolean> {
  if (!pushSupported() || !storageGet(PUSH_KEY)) return false;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return !!(await reg?.pushManager.getSubscription());
}

/**
 * enablePush turns Web Push on for this browser: it asks the permission
 * (call it from a click), installs the service worker, subscribes with the
 * node's VAPID key and registers the subscription with the node.
 */
export async function enablePush(): Promise<void> {
  if (!pushSupported()) throw new Error('This browser cannot receive push notifications.');
  const key = await api.vapidKey();
  if (!key) throw new Error('This node does not send push notifications.');
  const perm = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  if (perm !== 'granted') throw new Error('This browser blocks notifications for this site; allow them in its site settings.');
  const reg = await registerWorker();
  await navigator.serviceWorker.ready;
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub, key)) {
    // Made with another key (the node's was replaced): useless now.
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  const view = await api.addPushSubscription(sub.toJSON());
  storageSet(PUSH_KEY, view.id);
}

/** disablePush removes this browser's subscription from the node and from the push service. */
export async function disablePush(): Promise<void> {
  const id = storageGet(PUSH_KEY);
  storageSet(PUSH_KEY, null);
  if (id) {
    await api.deletePushSubscription(id).catch((err: unknown) => {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    });
  }
  if (!pushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration('/');
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
}

/**
 * wireNotifications: pushes stop with the session (this browser may be
 * someone else's next), and a notification click from the service worker
 * opens its room.
 */
export function wireNotifications(): void {
  api.beforeLogout(async () => {
    if (storageGet(PUSH_KEY)) await disablePush();
  });
  if (typeof navigator !== 'undefined' && 'serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', (e: MessageEvent) => {
      const d = e.data as { type?: string; room?: string } | null;
      if (d?.type === 'open-room' && typeof d.room === 'string') {
        window.dispatchEvent(new CustomEvent(OPEN_ROOM, { detail: d.room }));
      }
    });
  }
}
