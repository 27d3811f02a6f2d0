import { useEffect, useId, useRef, type ReactNode } from 'react';

/** Modal is a dialog that traps nothing but focus on open and closes on Escape. */
export function Modal({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  const id = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>('input, textarea, select, button:not([data-close])');
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, [onClose]);
  return (
    <div className="modal modal-open" role="dialog" aria-modal="true" aria-labelledby={id}>
      <div className="modal-box" ref={box}>
        <div className="flex items-center justify-between mb-3">
          <h2 id={id} className="text-lg font-bold">
            {title}
          </h2>
          <button type="button" data-close className="btn btn-sm btn-ghost btn-circle" aria-label="Close" onClick={onClose}>
            ✕
          </button>
        </div>
        {children}
      </div>
      <div className="modal-backdrop" onClick={onClose} />
    </div>
  );
}
