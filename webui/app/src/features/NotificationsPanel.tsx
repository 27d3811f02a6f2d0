import { useEffect, useState } from 'react';
import { api } from '../api/app';
import { describeError } from '../api/errors';
import { ApiError } from '../api/rest';
import { desktopEnabled, disablePush, enablePush, notificationsSupported, pushEnabled, pushSupported, setDesktop } from '../api/notify';
import { silenced, store, useShallow, useStore } from '../store';

type Span = 'off' | '1h' | '8h' | 'tomorrow';

/** dndEnd is when a do-not-disturb started now for span ends (ms); undefined for until turned off. */
export function dndEnd(span: Span, now: Date): number | undefined {
  switch (span) {
    case '1h':
      return now.getTime() + 3_600_000;
    case '8h':
      return now.getTime() + 8 * 3_600_000;
    case 'tomorrow': {
      const t = new Date(now);
      t.setDate(t.getDate() + 1);
      t.setHours(8, 0, 0, 0);
      return t.getTime();
    }
    default:
      return undefined;
  }
}

/**
 * NotificationsPanel is Settings' notification card: do not disturb (kept
 * by the node, for every device), desktop notifications of this tab while
 * it is in the background, and Web Push on this device
 * (docs/notifications.md).
 */
export function NotificationsPanel() {
  const n = useStore(useShallow((s) => ({ loaded: s.notify.loaded, dnd: s.notify.dnd, until: s.notify.dndUntil })));
  const quiet = n.dnd && silenced(store.get().notify, Date.now());
  const [span, setSpan] = useState<Span>('off');
  const [desktop, setDesktopOn] = useState(desktopEnabled());
  const [push, setPush] = useState<boolean | null>(null); // null: unknown or unavailable
  const [pushOffered, setPushOffered] = useState(false);
  const [busy, setBusy] = useState(false);
  // A switch shows the state asked for while the node or browser answers.
  const [wantDnd, setWantDnd] = useState<boolean | null>(null);
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});

  useEffect(() => {
    if (!pushSupported()) return;
    let live = true;
    api
      .vapidKey()
      .then(async (key) => {
        if (!live || !key) return;
        setPushOffered(true);
        setPush(await pushEnabled());
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);

  const run = async (fn: () => Promise<string>) => {
    setBusy(true);
    setMsg({});
    try {
      setMsg({ ok: await fn() });
    } catch (e) {
      setMsg({ error: e instanceof ApiError || !(e instanceof Error) ? describeError(e, 'notifications') : e.message });
    } finally {
      setBusy(false);
    }
  };
  const toggleDnd = (on: boolean) => {
    setWantDnd(on);
    return run(async () => {
      try {
        store.get().setNotifySettings(await api.setDoNotDisturb(on, on ? dndEnd(span, new Date()) : undefined));
      } finally {
        setWantDnd(null);
      }
      return on ? 'Do not disturb is on.' : 'Do not disturb is off.';
    });
  };
  const toggleDesktop = (on: boolean) => {
    setDesktopOn(on);
    return run(async () => {
      let now = false;
      try {
        now = await setDesktop(on);
      } finally {
        setDesktopOn(desktopEnabled());
      }
      return now ? 'Desktop notifications are on for this browser.' : 'Desktop notifications are off.';
    });
  };
  const togglePush = (on: boolean) =>
    run(async () => {
      setPush(on);
      try {
        if (on) await enablePush();
        else await disablePush();
      } finally {
        setPush(await pushEnabled().catch(() => false));
      }
      return on ? 'Push notifications are on for this device.' : 'Push notifications are off for this device.';
    });

  return (
    <fieldset className="card bg-base-200">
      <div className="card-body gap-3">
        <legend className="card-title text-lg">Notifications</legend>
        <p className="text-sm opacity-80">
          Each room&apos;s level (all messages, mentions only, or mute) is in its header. Direct messages notify of every
          message, other rooms of mentions, unless you choose otherwise.
        </p>
        <div className="flex items-center gap-2 flex-wrap">
          <label className="flex items-center gap-2">
            <input
              type="checkbox"
              className="toggle toggle-sm"
              checked={wantDnd ?? quiet}
              disabled={busy || !n.loaded}
              onChange={(e) => void toggleDnd(e.target.checked)}
            />
            Do not disturb
          </label>
          {!quiet && (
            <label className="flex items-center gap-2 text-sm">
              <span className="opacity-80">for</span>
              <select className="select select-bordered select-xs" value={span} onChange={(e) => setSpan(e.target.value as Span)} aria-label="Do not disturb for">
                <option value="off">until I turn it off</option>
                <option value="1h">1 hour</option>
                <option value="8h">8 hours</option>
                <option value="tomorrow">until tomorrow 08:00</option>
              </select>
            </label>
          )}
          {quiet && n.until && (
            <span className="text-sm opacity-80">until {new Date(n.until).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })}</span>
          )}
        </div>
        {notificationsSupported() && (
          <label className="flex items-center gap-2">
            <input type="checkbox" className="toggle toggle-sm" checked={desktop} disabled={busy} onChange={(e) => void toggleDesktop(e.target.checked)} />
            Desktop notifications while this tab is in the background
          </label>
        )}
        {pushOffered && (
          <label className="flex items-center gap-2">
            <input type="checkbox" className="toggle toggle-sm" checked={!!push} disabled={busy || push === null} onChange={(e) => void togglePush(e.target.checked)} />
            Push notifications on this device (when no tab is open)
          </label>
        )}
        {msg.error && (
          <p role="alert" className="text-danger text-sm">
            {msg.error}
          </p>
        )}
        {msg.ok && (
          <p role="status" className="text-success text-sm">
            {msg.ok}
          </p>
        )}
      </div>
    </fieldset>
  );
}
