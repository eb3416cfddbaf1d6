// The restore dialog: from one backup (optionally recovering to a later moment) or to a point in
// time (the server picks the newest backup before it), either into a NEW workload (the default;
// the source is not touched) or, when chosen and confirmed by typing the source's name, in
// place: over the source's own data, keeping its name, endpoint and credentials, its current
// data removed once the restored workload is ready. Server field errors land next to their
// fields; a refusal (409: the backup failed verification, none finished before the moment, a
// backup or an earlier restore of it still runs, …; 503: the node is not connected) is shown in
// the dialog.
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Dialog } from '../../../shared/components/Dialog';
import { Field } from '../../../shared/components/Field';
import { formatTime } from '../../../shared/lib/format';
import type { Backup, RestoreRequest } from '../api/backupsApi';
import { confirmsSource, defaultRestoreForm, toLocalInput, validateRestore, type RestoreForm } from './restoreForm';

export function RestoreDialog({ source, backup, earliest = null, takenNames, onClose, onRestore }: {
  source: string;
  /** The backup chosen in the list, or null to restore to a point in time. */
  backup: Backup | null;
  /** For a point in time: when the oldest restorable backup finished (earliestRestorable). */
  earliest?: string | null;
  /** Names of the user's workloads, so the suggested name is free. */
  takenNames: readonly string[];
  onClose: () => void;
  /** Sends the request; resolves once the server accepted it (the caller navigates or closes). */
  onRestore: (r: RestoreRequest) => Promise<unknown>;
}) {
  const [form, setForm] = useState<RestoreForm>(() => defaultRestoreForm(source, takenNames, !backup));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof RestoreForm>(k: K, v: RestoreForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  // The fields shown; other server field errors (backup_id, or name in place) go above the buttons.
  const formFields = [form.inPlace ? 'confirm' : 'name', 'target_time'];
  function choose(inPlace: boolean) {
    // Switching clears what was said about the other choice, and asks for the name again.
    setForm((f) => ({ ...f, inPlace, confirm: '' }));
    setErrors({});
    setFormError('');
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const { errors: local, request } = validateRestore(form, backup, new Date(), earliest, source);
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
      const other = Object.entries(fields).filter(([f]) => !formFields.includes(f)).map(([f, m]) => `${f}: ${m}`);
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
        <fieldset className="flex flex-col gap-1 text-sm">
          <legend className="mb-1 font-medium text-slate-700">Restore</legend>
          <label className="flex items-center gap-2">
            <input type="radio" name="restore-into" checked={!form.inPlace} onChange={() => choose(false)} />
            Into a new workload
          </label>
          <label className="flex items-center gap-2">
            <input type="radio" name="restore-into" checked={form.inPlace} onChange={() => choose(true)} />
            Replace this workload's data (in place)
          </label>
        </fieldset>
        {form.inPlace ? (
          <div data-testid="in-place-warning" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
            <p>
              <strong>All of {source}'s data is replaced</strong> by {backup
                ? <>the backup taken {formatTime(backup.started_at)}{form.toTime ? ', recovered to the moment you choose' : ''}</>
                : <>its data as it was at the moment you choose (from the newest backup that finished before it)</>}:
              anything written since is lost.
            </p>
            <p className="mt-1">
              {source} keeps its <strong>name, endpoint and credentials</strong>; it restarts on the restored data and is
              unavailable until it is running again. Its <strong>current data is removed</strong> once the restore has run
              and {source} is ready on the restored data; it cannot be brought back except from a backup.
            </p>
          </div>
        ) : (
          <p className="text-sm text-slate-700">
            {backup
              ? <>Restores the backup taken {formatTime(backup.started_at)} into a <strong>new</strong> workload.</>
              : <>Restores {source} as it was at the moment you choose into a <strong>new</strong> workload, from the newest
                backup that finished before it, replaying the archived WAL up to that moment.</>}{' '}
            <strong>{source} itself is never changed.</strong> The new workload runs on the same node, has the same
            role and database, and gets <strong>new credentials</strong> (shown on its page).
          </p>
        )}
        {form.inPlace ? (
          <Field label={`Type ${source} to confirm`} value={form.confirm} error={errors.confirm} autoComplete="off"
            spellCheck={false} onChange={(e) => set('confirm', e.target.value)} />
        ) : (
          <Field label="New workload name" value={form.name} error={errors.name} autoComplete="off"
            hint="Lower-case letters, digits and hyphens." onChange={(e) => set('name', e.target.value)} />
        )}
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
          {form.inPlace
            ? <Button type="submit" variant="danger" disabled={busy || !confirmsSource(form, source)}>
              {busy ? 'Restoring…' : `Replace data of ${source}`}
            </Button>
            : <Button type="submit" variant="primary" disabled={busy}>{busy ? 'Restoring…' : 'Restore into new workload'}</Button>}
        </div>
      </form>
    </Dialog>
  );
}
