// Hearth's service worker: it shows the Web Push notifications the node
// sends while no tab is open (docs/notifications.md) and opens the room
// on a click. The payload is JSON: {room, roomName, sender, senderName,
// body, message, files} or, for an end-to-end encrypted room, only
// {room, message, encrypted: true}, shown as "New message".
/* eslint-env serviceworker */

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

/** text is a notification's title and options for a push payload. */
function text(p) {
  if (!p || typeof p !== 'object' || typeof p.room !== 'string') {
    return { title: 'Hearth', body: 'New message' };
  }
  if (p.encrypted) return { title: 'New message', body: '' };
  const who = typeof p.senderName === 'string' && p.senderName ? p.senderName : 'Someone';
  const title = typeof p.roomName === 'string' && p.roomName ? `${who} in ${p.roomName}` : who;
  let body = typeof p.body === 'string' ? p.body : '';
  if (!body && p.files) body = 'Sent a file';
  return { title, body };
}

self.addEventListener('push', (e) => {
  let p = null;
  try {
    p = e.data ? e.data.json() : null;
  } catch {
    p = null;
  }
  const { title, body } = text(p);
  const room = p && typeof p.room === 'string' ? p.room : '';
  e.waitUntil(
    self.registration.showNotification(title, {
      body,
      tag: p && typeof p.message === 'string' ? p.message : undefined,
      icon: '/favicon.svg',
      data: { room },
    }),
  );
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const room = (e.notification.data && e.notification.data.room) || '';
  const url = room ? `/r/${encodeURIComponent(room)}` : '/';
  // A tab already open is brought forward and opens the room itself;
  // otherwise a new one opens at the room.
  e.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((list) => {
      for (const c of list) {
        if (new URL(c.url).origin === self.location.origin && 'focus' in c) {
          c.postMessage({ type: 'open-room', room });
          return c.focus();
        }
      }
      return self.clients.openWindow(url);
    }),
  );
});
