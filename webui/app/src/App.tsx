import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { ErrorBoundary } from './components/ErrorBoundary';
import { ThemeProvider } from './features/theme';
import { AuthScreen } from './features/AuthScreen';
import { Shell } from './features/Shell';
import { Home } from './features/Home';
import { RoomView } from './features/RoomView';
import { SettingsPage } from './features/SettingsPage';
import { NodePage } from './features/NodePage';
import { useSession } from './features/session';

function Routed() {
  const session = useSession();
  if (session.status === 'loading') {
    return (
      <div className="flex h-full items-center justify-center" role="status">
        <span className="loading loading-spinner loading-lg" aria-label="Loading" />
      </div>
    );
  }
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
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<Home />} />
        <Route path="r/:roomId" element={<RoomView />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="node" element={<NodePage />} />
      </Route>
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
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
