import { useId, type SelectHTMLAttributes } from 'react';

/** A labelled <select> with its error, the counterpart of Field for a choice among options. */
export function SelectField({
  label,
  error,
  hint,
  options,
  className = '',
  ...select
}: SelectHTMLAttributes<HTMLSelectElement> & {
  label: string;
  error?: string;
  hint?: string;
  options: { value: string; label: string }[];
}) {
  const id = useId();
  const noteId = `${id}-note`;
  return (
    <div className={`flex flex-col gap-1 ${className}`}>
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <select
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? noteId : undefined}
        className={`rounded-md border bg-white px-2 py-1.5 text-sm focus:outline-none focus:ring-2 focus:ring-indigo-500 ${error ? 'border-red-500' : 'border-slate-300'}`}
        {...select}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>{o.label}</option>
        ))}
      </select>
      {error ? (
        <p id={noteId} role="alert" className="text-xs text-red-600">{error}</p>
      ) : hint ? (
        <p id={noteId} className="text-xs text-slate-500">{hint}</p>
      ) : null}
    </div>
  );
}
