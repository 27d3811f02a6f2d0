import { createRoot } from 'react-dom/client';
import { StrictMode } from 'react';
import './index.css';
import { App, loadShell } from './App';
import { applyTheme, readThemePref } from './features/theme';
import { boot, mayHaveSession, onSignedIn } from './api/app';
import { loadMarkdown } from './components/RichText';

// Set the theme before the first paint (no inline script is allowed by the CSP).
applyTheme(readThemePref());
// A returning user fetches the signed-in screens while the session refreshes,
// not after; and once signed in, the Markdown renderer.
if (mayHaveSession()) void loadShell();
onSignedIn(() => {
  void loadShell();
  void loadMarkdown();
});
void boot();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
