import { lazy, Suspense, useEffect, useState } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { ConnectionBanner } from '../components/ConnectionBanner';
import { socket } from '../api/app';
import { OPEN_ROOM } from '../api/notify';
import { useShallow, useStore } from '../store';
import { DialogsProvider } from './dialogs';
import { showAttention, totals } from './attention';
import { Sidebar } from './Sidebar';
import { VerificationHost } from '../crypto/ui/lazy';

const QuickSwitcher = lazy(() => import('./QuickSwitcher').then((m) => ({ default: m.QuickSwitcher })));
const SearchPanel = lazy(() => import('./SearchPanel').then((m) => ({ default: m.SearchPanel })));

/**
 * Shell lays out the sidebar and the current screen. On phone-sized screens
 * only one of them shows: the sidebar on the home route, the screen elsewhere.
 * Ctrl/Cmd+K opens the quick switcher from anywhere, Ctrl/Cmd+Shift+F
 * the message search.
 */
export default function Shell() {
  const home = useLocation().pathname === '/';
  const c = useStore(
    useShallow((s) => ({ status: s.connection.status, retryAt: s.connection.retryAt, everReady: s.connection.everReady })),
  );
  const counts = useStore(useShallow((s) => totals(Object.values(s.rooms.byId))));
  const [switcher, setSwitcher] = useState(false);
  const [search, setSearch] = useState(false);
  const navigate = useNavigate();
  useEffect(() => {
    // A click on a desktop or push notification opens its room.
    const open = (e: Event) => {
      const id = (e as CustomEvent<string>).detail;
      if (typeof id === 'string' && id) void navigate(`/r/${encodeURIComponent(id)}`);
    };
    window.addEventListener(OPEN_ROOM, open);
    return () => window.removeEventListener(OPEN_ROOM, open);
  }, [navigate]);
  useEffect(() => {
    showAttention(document, counts);
  }, [counts]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSwitcher(true);
      } else if ((e.ctrlKey || e.metaKey) && e.shiftKey && !e.altKey && e.key.toLowerCase() === 'f') {
        e.preventDefault();
        setSearch(true);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <DialogsProvider>
      <div className="flex h-full overflow-hidden">
        <Sidebar className={home ? 'flex w-full md:w-72' : 'hidden md:flex md:w-72'} onSearch={() => setSearch(true)} />
        <main className={`${home ? 'hidden md:flex' : 'flex'} flex-1 min-w-0 flex-col`}>
          <ConnectionBanner {...c} onRetry={() => socket.retryNow()} />
          <Outlet />
        </main>
      </div>
      <VerificationHost />
      {switcher && (
        <Suspense fallback={null}>
          <QuickSwitcher onClose={() => setSwitcher(false)} />
        </Suspense>
      )}
      {search && (
        <Suspense fallback={null}>
          <SearchPanel onClose={() => setSearch(false)} />
        </Suspense>
      )}
    </DialogsProvider>
  );
}
