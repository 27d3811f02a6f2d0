import { useEffect } from 'react';
import { Outlet, useLocation } from 'react-router';
import { ConnectionBanner } from '../components/ConnectionBanner';
import { socket } from '../api/app';
import { useShallow, useStore } from '../store';
import { Sidebar } from './Sidebar';

/**
 * Shell lays out the sidebar and the current screen. On phone-sized screens
 * only one of them shows: the sidebar on the home route, the screen elsewhere.
 */
export function Shell() {
  const home = useLocation().pathname === '/';
  const c = useStore(
    useShallow((s) => ({ status: s.connection.status, retryAt: s.connection.retryAt, everReady: s.connection.everReady })),
  );
  const unread = useStore((s) => Object.values(s.rooms.byId).reduce((n, r) => n + (r.unread ?? 0), 0));
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Hearth` : 'Hearth';
  }, [unread]);
  return (
    <div className="flex h-full overflow-hidden">
      <Sidebar className={home ? 'flex w-full md:w-72' : 'hidden md:flex md:w-72'} />
      <main className={`${home ? 'hidden md:flex' : 'flex'} flex-1 min-w-0 flex-col`}>
        <ConnectionBanner {...c} onRetry={() => socket.retryNow()} />
        <Outlet />
      </main>
    </div>
  );
}
