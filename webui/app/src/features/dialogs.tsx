// The app's own dialogs that any screen may open: a confirmation (instead
// of the browser's confirm()), the emoji picker, and a person's profile
// card. They are slow-changing UI state, so they live in React context, not
// the store; each opener gets a promise or a callback.
import { createContext, lazy, Suspense, useCallback, useContext, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { Modal } from '../components/Modal';
import { ProfileCard } from './ProfileCard';
import { useTheme } from './theme';

const Picker = lazy(() => import('../emoji/Picker'));

export interface ConfirmOptions {
  title: string;
  body: string;
  confirm: string;
  danger?: boolean;
}

interface Dialogs {
  confirm(o: ConfirmOptions): Promise<boolean>;
  /** pickEmoji opens the full picker; it resolves with an emoji, or null when closed. */
  pickEmoji(title: string): Promise<string | null>;
  openProfile(userId: string): void;
}

const Ctx = createContext<Dialogs | null>(null);

type Open =
  | { kind: 'confirm'; o: ConfirmOptions; done(v: boolean): void }
  | { kind: 'emoji'; title: string; done(v: string | null): void }
  | { kind: 'profile'; user: string }
  | null;

export function DialogsProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState<Open>(null);
  const current = useRef<Open>(null);
  current.current = open;
  const navigate = useNavigate();
  const { theme } = useTheme();
  const bodyId = useId();

  // Opening a dialog settles the one before it, so no promise hangs.
  const replace = useCallback((next: Open) => {
    const prev = current.current;
    if (prev?.kind === 'confirm') prev.done(false);
    if (prev?.kind === 'emoji') prev.done(null);
    setOpen(next);
  }, []);

  const value = useMemo<Dialogs>(
    () => ({
      confirm: (o) => new Promise((done) => replace({ kind: 'confirm', o, done })),
      pickEmoji: (title) => new Promise((done) => replace({ kind: 'emoji', title, done })),
      openProfile: (user) => replace({ kind: 'profile', user }),
    }),
    [replace],
  );

  const finish = <T,>(done: (v: T) => void, v: T) => {
    setOpen(null);
    done(v);
  };

  return (
    <Ctx.Provider value={value}>
      {children}
      {open?.kind === 'confirm' && (
        <Modal title={open.o.title} role="alertdialog" describedBy={bodyId} onClose={() => finish(open.done, false)}>
          <p id={bodyId}>{open.o.body}</p>
          <div className="modal-action">
            <button type="button" className="btn btn-ghost" data-autofocus onClick={() => finish(open.done, false)}>
              Cancel
            </button>
            <button type="button" className={`btn ${open.o.danger ? 'btn-error' : 'btn-primary'}`} onClick={() => finish(open.done, true)}>
              {open.o.confirm}
            </button>
          </div>
        </Modal>
      )}
      {open?.kind === 'emoji' && (
        <Modal title={open.title} bare onClose={() => finish(open.done, null)}>
          <Suspense
            fallback={
              <div className="flex justify-center p-8">
                <span className="loading loading-spinner" aria-label="Loading emoji" />
              </div>
            }
          >
            <Picker label={open.title} dark={theme === 'dark'} onPick={(e) => finish(open.done, e)} />
          </Suspense>
        </Modal>
      )}
      {open?.kind === 'profile' && (
        <ProfileCard
          user={open.user}
          onClose={() => setOpen(null)}
          onOpenRoom={(id) => {
            setOpen(null);
            navigate(`/r/${encodeURIComponent(id)}`);
          }}
        />
      )}
    </Ctx.Provider>
  );
}

export function useDialogs(): Dialogs {
  const v = useContext(Ctx);
  if (!v) throw new Error('useDialogs outside DialogsProvider');
  return v;
}
