// The crypto screens load with the engine's chunk, not the first page.
import { lazy, Suspense } from 'react';
import { useStore } from '../../store';

const SecurityPanel = lazy(() => import('./SecurityPanel').then((m) => ({ default: m.SecurityPanel })));
const VerificationDialog = lazy(() => import('./VerificationDialog').then((m) => ({ default: m.VerificationDialog })));

export function LazySecurityPanel({ me }: { me: string }) {
  return (
    <Suspense fallback={<p className="text-sm opacity-70">Loading security settings…</p>}>
      <SecurityPanel me={me} />
    </Suspense>
  );
}

/** VerificationHost shows the emoji verification dialog while one is under way. */
export function VerificationHost() {
  const open = useStore((s) => !!s.crypto.verification);
  if (!open) return null;
  return (
    <Suspense fallback={null}>
      <VerificationDialog />
    </Suspense>
  );
}
