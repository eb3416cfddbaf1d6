// The backup policy form of one PostgreSQL workload: target, schedule, retention, verification.
// Client-side checks first, then the server's field errors next to their fields and any other
// problem (a 409, a 503) under the form. Starts from `policy`, or defaults when there is none.
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Field } from '../../../shared/components/Field';
import { SelectField } from '../../../shared/components/SelectField';
import { formatTime } from '../../../shared/lib/format';
import type { BackupPolicy, BackupPolicyRequest, BackupTarget } from '../api/backupsApi';
import { defaultPolicyForm, describeInterval, formFromPolicy, validatePolicy, type PolicyForm } from './policyForm';

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
      if (err instanceof ApiError && err.problem.errors?.length) setErrors(err.fieldErrors());
      else setFormError(err instanceof Error ? err.message : String(err));
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
          {policy
            ? `Backed up ${describeInterval(policy.interval_seconds)}${policy.next_run_at ? `; next ${formatTime(policy.next_run_at)}` : ''}.`
            : 'Not backed up yet: choose a target and save.'}
        </p>
      </div>
      <SelectField className="max-w-md" label="Target" value={form.targetId} options={targetOptions} error={errors.target_id}
        onChange={(e) => set('targetId', e.target.value)} />
      <fieldset className="flex flex-col gap-1">
        <legend className="text-sm font-medium text-slate-700">Schedule</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="schedule" checked={!form.scheduled} onChange={() => set('scheduled', false)} />
          On demand only
        </label>
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <label className="flex items-center gap-2">
            <input type="radio" name="schedule" checked={form.scheduled} onChange={() => set('scheduled', true)} />
            Every
          </label>
          <input aria-label="Interval" inputMode="numeric" value={form.every} disabled={!form.scheduled}
            aria-invalid={errors.interval_seconds ? true : undefined}
            onChange={(e) => set('every', e.target.value)}
            className={`w-20 rounded-md border px-2 py-1 text-sm disabled:bg-slate-100 ${errors.interval_seconds ? 'border-red-500' : 'border-slate-300'}`} />
          <select aria-label="Interval unit" value={form.unit} disabled={!form.scheduled}
            onChange={(e) => set('unit', e.target.value as PolicyForm['unit'])}
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm disabled:bg-slate-100">
            <option value="minutes">minutes</option>
            <option value="hours">hours</option>
            <option value="days">days</option>
          </select>
        </div>
        {errors.interval_seconds && <p role="alert" className="text-xs text-red-600">{errors.interval_seconds}</p>}
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
