import { createRoot } from 'react-dom/client';
import { StrictMode } from 'react';
import './index.css';
import { App } from './App';
import { applyTheme, readThemePref } from './features/theme';
import { boot } from './api/app';

// Set the theme before the first paint (no inline script is allowed by the CSP).
applyTheme(readThemePref());
void boot();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
