import { lazy, Suspense } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { ErrorBoundary } from './components/ErrorBoundary';
import { ThemeProvider } from './features/theme';
import { AuthScreen } from './features/AuthScreen';
import { NodePage } from './features/NodePage';
import { useSession } from './features/session';

// The signed-in app is a chunk of its own: the login screen loads only
// what it needs. main.tsx starts fetching it early when a session is likely.
export const loadShell = () => import('./features/signedIn');
const Shell = lazy(loadShell);
const Home = lazy(() => loadShell().then((m) => ({ default: m.Home })));
const RoomView = lazy(() => loadShell().then((m) => ({ default: m.RoomView })));
const SettingsPage = lazy(() => loadShell().then((m) => ({ default: m.SettingsPage })));
const AdminPage = lazy(() => loadShell().then((m) => ({ default: m.AdminPage })));

function Spinner() {
  return (
    <div className="flex h-full items-center justify-center" role="status">
      <span className="loading loading-spinner loading-lg" aria-label="Loading" />
    </div>
  );
}

function Routed() {
  const session = useSession();
  if (session.status === 'loading') return <Spinner />;
  if (session.status === 'anon') {
    return (
      <Routes>
        <Route path="/signup" element={<AuthScreen mode="signup" />} />
        <Route path="/node" element={<NodePage standalone />} />
        <Route path="*" element={<AuthScreen mode="login" />} />
      </Routes>
    );
  }
  return (
    <Suspense fallback={<Spinner />}>
      <Routes>
        <Route element={<Shell />}>
          <Route index element={<Home />} />
          <Route path="r/:roomId" element={<RoomView />} />
          <Route path="settings" element={<SettingsPage />} />
          <Route path="node" element={<NodePage />} />
          <Route path="admin" element={<AdminPage />} />
        </Route>
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
    </Suspense>
  );
}

export function App() {
  return (
    <ErrorBoundary>
      <ThemeProvider>
        <BrowserRouter>
          <Routed />
        </BrowserRouter>
      </ThemeProvider>
    </ErrorBoundary>
  );
}
