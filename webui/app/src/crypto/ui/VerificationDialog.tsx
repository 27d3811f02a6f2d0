// The emoji verification, whichever side asked: accept, compare the seven
// emoji, say whether they match.
import { Modal } from '../../components/Modal';
import { useStore } from '../../store';
import { verificationStep } from '../browser';

export function VerificationDialog() {
  const v = useStore((s) => s.crypto.verification);
  if (!v) return null;
  const step = (s: Parameters<typeof verificationStep>[0]) => () => void verificationStep(s).catch(() => undefined);
  const who = `${v.otherUser}${v.otherDevice ? ` (device ${v.otherDevice})` : ''}`;
  return (
    <Modal title="Verify by emoji" onClose={step(v.phase === 'done' || v.phase === 'cancelled' ? 'dismiss' : 'cancel')}>
      <div className="flex flex-col gap-3" data-verification={v.phase}>
        {v.phase === 'requested' && v.incoming && (
          <>
            <p>{who} wants to verify with you by comparing emoji.</p>
            <div className="flex gap-2">
              <button type="button" className="btn btn-primary btn-sm" onClick={step('accept')}>
                Accept
              </button>
              <button type="button" className="btn btn-ghost btn-sm" onClick={step('cancel')}>
                Decline
              </button>
            </div>
          </>
        )}
        {(v.phase === 'requested' && !v.incoming) || v.phase === 'ready' || v.phase === 'started' ? (
          <p>Waiting for {who}…</p>
        ) : null}
        {(v.phase === 'emoji' || v.phase === 'confirmed') && v.emoji && (
          <>
            <p>Check that {who} shows the same emoji, in the same order.</p>
            <ol className="grid grid-cols-4 sm:grid-cols-7 gap-2 text-center" aria-label="Emoji to compare">
              {v.emoji.map((e, i) => (
                <li key={i} className="flex flex-col items-center">
                  <span className="text-3xl" aria-hidden="true">
                    {e.symbol}
                  </span>
                  <span className="text-xs">{e.description}</span>
                </li>
              ))}
            </ol>
            {v.phase === 'emoji' ? (
              <div className="flex gap-2">
                <button type="button" className="btn btn-primary btn-sm" onClick={step('match')}>
                  They match
                </button>
                <button type="button" className="btn btn-error btn-outline btn-sm" onClick={step('mismatch')}>
                  They don't match
                </button>
              </div>
            ) : (
              <p>Waiting for {who} to confirm…</p>
            )}
          </>
        )}
        {v.phase === 'done' && (
          <>
            <p role="status" className="text-success">
              Verified {who}.
            </p>
            <button type="button" className="btn btn-sm" onClick={step('dismiss')}>
              Done
            </button>
          </>
        )}
        {v.phase === 'cancelled' && (
          <>
            <p role="alert" className="text-error">
              The verification was cancelled. Nothing was marked as verified.
            </p>
            <button type="button" className="btn btn-sm" onClick={step('dismiss')}>
              Close
            </button>
          </>
        )}
      </div>
    </Modal>
  );
}
