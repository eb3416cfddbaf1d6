import { useEffect, useRef, type ReactNode } from 'react';

/**
 * A modal dialog on the native <dialog>: the browser traps focus and closes it on Escape.
 * Focus moves to the first field when it opens and back to the opener when it closes.
 */
export function Dialog({ title, open, onClose, children }: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d || !open) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal?.();
    d.querySelector<HTMLElement>('input, select, textarea, button:not([data-close])')?.focus();
    return () => {
      if (d.open) d.close?.();
      opener?.focus?.();
    };
  }, [open]);
  if (!open) return null;
  return (
    <dialog
      ref={ref}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className="m-auto w-full max-w-xl rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40"
    >
      <div className="flex items-center justify-between border-b border-slate-200 px-5 py-3">
        <h2 id="dialog-title" className="text-lg font-semibold">
          {title}
        </h2>
        <button data-close type="button" aria-label="Close" onClick={onClose} className="rounded px-2 text-xl text-slate-500 hover:text-slate-800">
          ×
        </button>
      </div>
      <div className="px-5 py-4">{children}</div>
    </dialog>
  );
}
