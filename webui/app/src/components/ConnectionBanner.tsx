import { useEffect, useState } from 'react';
import type { ConnStatus } from '../store/connection';

/** ConnectionBanner tells the user the live connection is down and when it retries. */
export function ConnectionBanner({
  status,
  retryAt,
  everReady,
  onRetry,
}: {
  status: ConnStatus;
  retryAt: number | null;
  everReady: boolean;
  onRetry(): void;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (status === 'online') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [status]);
  if (status === 'online' || status === 'idle') return null;
  if (!everReady && status === 'connecting') return null;
  const secs = retryAt ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : 0;
  return (
    <div role="status" className="alert alert-warning rounded-none py-2 text-sm flex justify-between" data-connection={status}>
      <span>
        {status === 'connecting'
          ? 'Reconnecting…'
          : `Connection lost. ${secs > 0 ? `Reconnecting in ${secs}s.` : 'Reconnecting…'} Messages you send now go out when it is back.`}
      </span>
      {status === 'offline' && (
        <button type="button" className="btn btn-xs" onClick={onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}
