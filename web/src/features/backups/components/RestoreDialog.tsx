// The dialog that restores into a NEW workload, from one backup (optionally recovering to a
// later moment) or to a point in time (the server picks the newest backup before it). The
// source is never touched. Server field errors land next to their fields; a refusal (409:
// the backup failed verification, none finished before the moment, …; 503: the node is not
// connected) is shown in the dialog.
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Dialog } from '../../../shared/components/Dialog';
import { Field } from '../../../shared/components/Field';
import { formatTime } from '../../../shared/lib/format';
import type { Backup, RestoreRequest } from '../api/backupsApi';
import { defaultRestoreForm, toLocalInput, validateRestore, type RestoreForm } from './restoreForm';

const FORM_FIELDS = ['name', 'target_time'];

export function RestoreDialog({ source, backup, earliest = null, takenNames, onClose, onRestore }: {
  source: string;
  /** The backup chosen in the list, or null to restore to a point in time. */
  backup: Backup | null;
  /** For a point in time: when the oldest restorable backup finished (earliestRestorable). */
  earliest?: string | null;
  /** Names of the user's workloads, so the suggested name is free. */
  takenNames: readonly string[];
  onClose: () => void;
  /** Sends the request; resolves once the server accepted it (the caller navigates away). */
  onRestore: (r: RestoreRequest) => Promise<unknown>;
}) {
  const [form, setForm] = useState<RestoreForm>(() => defaultRestoreForm(source, takenNames, !backup));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof RestoreForm>(k: K, v: RestoreForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const { errors: local, request } = validateRestore(form, backup, new Date(), earliest);
    setErrors(local);
    setFormError('');
    if (!request) return;
    setBusy(true);
    try {
      await onRestore(request);
    } catch (err) {
      const fields = err instanceof ApiError ? err.fieldErrors() : {};
      setErrors(fields);
      // A field this form does not show (backup_id) and any refusal go above the buttons.
      const other = Object.entries(fields).filter(([f]) => !FORM_FIELDS.includes(f)).map(([f, m]) => `${f}: ${m}`);
      const shown = Object.keys(fields).length > other.length;
      setFormError(other.length ? other.join(' ') : shown ? '' : err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  }

  const title = backup ? `Restore backup of ${source}` : `Restore ${source} to a point in time`;
  const now = toLocalInput(new Date());
  const from = backup ? backup.started_at : earliest;
  const min = from ? toLocalInput(new Date(from)) : undefined;
  return (
    <Dialog title={title} open onClose={onClose}>
      <form noValidate onSubmit={submit} aria-label={title} className="flex flex-col gap-3">
        <p className="text-sm text-slate-700">
          {backup
            ? <>Restores the backup taken {formatTime(backup.started_at)} into a <strong>new</strong> workload.</>
            : <>Restores {source} as it was at the moment you choose into a <strong>new</strong> workload, from the newest
              backup that finished before it, replaying the archived WAL up to that moment.</>}{' '}
          <strong>{source} itself is never changed.</strong> The new workload runs on the same node, has the same
          role and database, and gets <strong>new credentials</strong> (shown on its page).
        </p>
        <Field label="New workload name" value={form.name} error={errors.name} autoComplete="off"
          hint="Lower-case letters, digits and hyphens." onChange={(e) => set('name', e.target.value)} />
        {backup && (
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={form.toTime} onChange={(e) => set('toTime', e.target.checked)} />
            Recover to a later moment
          </label>
        )}
        {form.toTime && (
          <Field label={backup ? 'Recover to' : 'Moment'} type="datetime-local" step={1} value={form.time} min={min} max={now}
            error={errors.target_time} onChange={(e) => set('time', e.target.value)}
            hint={`Your local time; sent as UTC. ${backup
              ? 'Replays the WAL archived since this backup up to that moment.'
              : `Not in the future${earliest ? `, not before ${formatTime(earliest)} (the oldest backup)` : ''}.`} The archive must reach it, or the restore fails.`} />
        )}
        {formError && <p role="alert" className="text-sm text-red-600">{formError}</p>}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={busy}>{busy ? 'Restoring…' : 'Restore into new workload'}</Button>
        </div>
      </form>
    </Dialog>
  );
}
