// The backup policy form of one PostgreSQL workload: target, schedule (on demand, an interval
// or a cron expression in UTC), retention, verification. Client-side checks first, then the
// server's field errors next to their fields and any other problem (a 409, a 503, an error on a
// field the form does not show) under the form. Starts from `policy`, or defaults when there is none.
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Field } from '../../../shared/components/Field';
import { SelectField } from '../../../shared/components/SelectField';
import { formatTime } from '../../../shared/lib/format';
import type { BackupPolicy, BackupPolicyRequest, BackupTarget } from '../api/backupsApi';
import { defaultPolicyForm, describeInterval, EXAMPLE_CRON, formFromPolicy, validatePolicy, type PolicyForm } from './policyForm';

const FIELDS = ['target_id', 'interval_seconds', 'cron', 'keep_count', 'keep_days'];

/** formatTime shows the browser's local time; a cron runs in UTC, so its next run is given in UTC too ("02:30 UTC"). */
function utcClock(iso: string): string {
  return `${new Date(iso).toISOString().slice(11, 16)} UTC`;
}

/** The policy in one line: how often, and when next. */
function PolicySummary({ policy }: { policy: BackupPolicy }): ReactNode {
  const next = policy.next_run_at;
  if (policy.cron)
    return <>Backed up on cron <code className="rounded bg-slate-100 px-1 font-mono">{policy.cron}</code> (UTC)
      {next ? `; next ${formatTime(next)} (${utcClock(next)})` : ''}.</>;
  return `Backed up ${describeInterval(policy.interval_seconds)}${next ? `; next ${formatTime(next)}` : ''}.`;
}

/** Continuous WAL archiving as the database's node last said: what point-in-time restores can reach. */
function ArchivingLine({ policy }: { policy: BackupPolicy }): ReactNode {
  const a = policy.archiving;
  if (!a || a.state === 'unknown') return null;
  if (a.state === 'archiving')
    return <p className="text-xs text-emerald-700" data-testid="policy-archiving">Continuous WAL archiving runs: a point-in-time restore reaches to within about 30 s.</p>;
  return <p role="alert" className="text-xs text-red-600" data-testid="policy-archiving">
    Continuous WAL archiving is failing{a.changed_at ? ` since ${formatTime(a.changed_at)}` : ''}: {a.message}</p>;
}

export function PolicyEditor({ policy, targets, onSave, onRemove }: {
  policy: BackupPolicy | null;
  targets: BackupTarget[];
  onSave: (r: BackupPolicyRequest) => Promise<unknown>;
  onRemove: () => Promise<unknown>;
}) {
  const [form, setForm] = useState<PolicyForm>(() => (policy ? formFromPolicy(policy) : defaultPolicyForm(targets[0]?.id)));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const cronHint = useId();
  const cronError = useId();
  const set = <K extends keyof PolicyForm>(k: K, v: PolicyForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setSaved('');
  };

  async function run(what: () => Promise<unknown>, done: string) {
    setFormError('');
    setSaved('');
    setBusy(true);
    try {
      await what();
      setSaved(done);
    } catch (err) {
      if (err instanceof ApiError && err.problem.errors?.length) {
        const fields = err.fieldErrors();
        setErrors(fields);
        const elsewhere = Object.entries(fields).filter(([k]) => !FIELDS.includes(k));
        if (elsewhere.length) setFormError(elsewhere.map(([k, m]) => `${k}: ${m}`).join('; '));
      } else setFormError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const { errors: local, request } = validatePolicy(form);
    setErrors(local);
    if (request) void run(() => onSave(request), 'Policy saved.');
  }

  const targetOptions = [
    ...(form.targetId ? [] : [{ value: '', label: 'Choose a target' }]),
    ...targets.map((t) => ({ value: t.id, label: `${t.name} (${t.bucket})` })),
  ];
  return (
    <form noValidate onSubmit={submit} aria-label="Backup policy" className="flex flex-col gap-3 rounded-lg border border-slate-200 p-4">
      <div className="flex flex-wrap items-baseline gap-2">
        <h3 className="text-sm font-semibold">Policy</h3>
        <p className="text-xs text-slate-500" data-testid="policy-summary">
          {policy ? <PolicySummary policy={policy} /> : 'Not backed up yet: choose a target and save.'}
        </p>
      </div>
      {policy && <ArchivingLine policy={policy} />}
      <SelectField className="max-w-md" label="Target" value={form.targetId} options={targetOptions} error={errors.target_id}
        onChange={(e) => set('targetId', e.target.value)} />
      <fieldset className="flex flex-col gap-1">
        <legend className="text-sm font-medium text-slate-700">Schedule</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="schedule" checked={form.schedule === 'none'} onChange={() => set('schedule', 'none')} />
          On demand only
        </label>
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <label className="flex items-center gap-2">
            <input type="radio" name="schedule" checked={form.schedule === 'interval'} onChange={() => set('schedule', 'interval')} />
            Every
          </label>
          <input aria-label="Interval" inputMode="numeric" value={form.every} disabled={form.schedule !== 'interval'}
            aria-invalid={errors.interval_seconds ? true : undefined}
            onChange={(e) => set('every', e.target.value)}
            className={`w-20 rounded-md border px-2 py-1 text-sm disabled:bg-slate-100 ${errors.interval_seconds ? 'border-red-500' : 'border-slate-300'}`} />
          <select aria-label="Interval unit" value={form.unit} disabled={form.schedule !== 'interval'}
            onChange={(e) => set('unit', e.target.value as PolicyForm['unit'])}
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm disabled:bg-slate-100">
            <option value="minutes">minutes</option>
            <option value="hours">hours</option>
            <option value="days">days</option>
          </select>
        </div>
        {errors.interval_seconds && <p role="alert" className="text-xs text-red-600">{errors.interval_seconds}</p>}
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <label className="flex items-center gap-2">
            <input type="radio" name="schedule" checked={form.schedule === 'cron'} onChange={() => set('schedule', 'cron')} />
            On a cron schedule (UTC)
          </label>
          <input aria-label="Cron expression" value={form.cron} disabled={form.schedule !== 'cron'} spellCheck={false}
            aria-invalid={errors.cron ? true : undefined} aria-describedby={errors.cron ? cronError : cronHint}
            onChange={(e) => set('cron', e.target.value)}
            className={`w-40 rounded-md border px-2 py-1 font-mono text-sm disabled:bg-slate-100 ${errors.cron ? 'border-red-500' : 'border-slate-300'}`} />
        </div>
        {errors.cron
          ? <p id={cronError} role="alert" className="text-xs text-red-600">{errors.cron}</p>
          : <p id={cronHint} className="text-xs text-slate-500">
              Minute hour day-of-month month day-of-week, in UTC: <code className="font-mono">{EXAMPLE_CRON}</code> is
              daily at 02:30 UTC, <code className="font-mono">0 */6 * * *</code> every 6 hours; or @hourly, @daily,
              @weekly, @monthly.
            </p>}
      </fieldset>
      <div className="flex flex-wrap gap-3">
        <Field className="w-48" label="Keep the last" inputMode="numeric" value={form.keepCount} error={errors.keep_count}
          hint="backups; 0 keeps all" onChange={(e) => set('keepCount', e.target.value)} />
        <Field className="w-48" label="Keep for days" inputMode="numeric" value={form.keepDays} error={errors.keep_days}
          hint="0: no age limit" onChange={(e) => set('keepDays', e.target.value)} />
      </div>
      <p className="text-xs text-slate-500">The newest successful backup is never deleted for its age.</p>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={form.verify} onChange={(e) => set('verify', e.target.checked)} />
        Verify each backup by restoring it into a throw-away database
      </label>
      {formError && <p role="alert" className="text-sm text-red-600">{formError}</p>}
      {saved && <p role="status" className="text-sm text-green-700">{saved}</p>}
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={busy || !targets.length}>{policy ? 'Save policy' : 'Set policy'}</Button>
        {policy && (
          <Button onClick={() => void run(onRemove, 'Policy removed: no more scheduled backups; existing ones stay.')} disabled={busy}>
            Remove policy
          </Button>
        )}
      </div>
    </form>
  );
}
