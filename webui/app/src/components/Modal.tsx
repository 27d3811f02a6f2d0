import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * Modal is a native modal <dialog>: the page behind it is inert (focus
 * cannot leave it, screen readers see only it), Escape closes it, focus
 * goes to its first field (or the element marked data-autofocus) when it
 * opens and back to where it was when it closes.
 */
export function Modal({
  title,
  onClose,
  children,
  role = 'dialog',
  describedBy,
  wide,
  bare,
}: {
  title: string;
  onClose(): void;
  children: ReactNode;
  /** alertdialog for confirmations. */
  role?: 'dialog' | 'alertdialog';
  describedBy?: string;
  wide?: boolean;
  /** no padding (the emoji picker fills the box). */
  bare?: boolean;
}) {
  const id = useId();
  const ref = useRef<HTMLDialogElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const prev = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    const first =
      d.querySelector<HTMLElement>('[data-autofocus]') ??
      d.querySelector<HTMLElement>('input:not([type=hidden]), textarea, select, button:not([data-close])');
    first?.focus();
    const onCancel = (e: Event) => {
      e.preventDefault(); // React decides when the dialog goes
      close.current();
    };
    d.addEventListener('cancel', onCancel);
    return () => {
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
      if (prev?.isConnected) prev.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} className="modal modal-bottom sm:modal-middle" role={role} aria-labelledby={id} aria-describedby={describedBy}>
      <div className={`modal-box ${wide ? 'sm:max-w-xl' : ''} ${bare ? 'p-0' : ''}`}>
        <div className={`flex items-center justify-between ${bare ? 'px-4 pt-3 pb-2' : 'mb-3'}`}>
          <h2 id={id} className="text-lg font-bold">
            {title}
          </h2>
          <button type="button" data-close className="btn btn-sm btn-ghost btn-circle" aria-label="Close" onClick={() => close.current()}>
            ✕
          </button>
        </div>
        {children}
      </div>
      <div className="modal-backdrop" onClick={() => close.current()} aria-hidden="true" />
    </dialog>
  );
}
