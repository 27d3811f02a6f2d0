// Theme is slow-changing app-wide state, so it lives in React Context.
// The preference is remembered in localStorage; "system" follows the OS.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

export type ThemePref = 'system' | 'light' | 'dark';
const KEY = 'hearth-theme';

export function readThemePref(): ThemePref {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    /* storage disabled */
  }
  return 'system';
}

function systemDark(): boolean {
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches;
}

export function applyTheme(pref: ThemePref): 'light' | 'dark' {
  const theme = pref === 'dark' || (pref === 'system' && systemDark()) ? 'dark' : 'light';
  document.documentElement.dataset.theme = theme;
  return theme;
}

interface ThemeValue {
  pref: ThemePref;
  theme: 'light' | 'dark';
  setPref(p: ThemePref): void;
}

const ThemeContext = createContext<ThemeValue | null>(null);

export function ThemeProvider({ children }: { children: ReactNode }) {
  const [pref, setPrefState] = useState<ThemePref>(readThemePref);
  const [theme, setTheme] = useState<'light' | 'dark'>(() => applyTheme(pref));

  useEffect(() => {
    setTheme(applyTheme(pref));
    if (pref !== 'system' || typeof matchMedia === 'undefined') return;
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const on = () => setTheme(applyTheme('system'));
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, [pref]);

  const value = useMemo<ThemeValue>(
    () => ({
      pref,
      theme,
      setPref: (p) => {
        try {
          localStorage.setItem(KEY, p);
        } catch {
          /* storage disabled: the choice lasts this page */
        }
        setPrefState(p);
      },
    }),
    [pref, theme],
  );
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

export function useTheme(): ThemeValue {
  const v = useContext(ThemeContext);
  if (!v) throw new Error('useTheme outside ThemeProvider');
  return v;
}
