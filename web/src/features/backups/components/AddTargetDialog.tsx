// The dialog that adds a backup target: pick one of your S3 workloads (template `minio`), or
// give an external endpoint and keys. Keys are sent once and never shown again by the server.
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Dialog } from '../../../shared/components/Dialog';
import { Field } from '../../../shared/components/Field';
import { SelectField } from '../../../shared/components/SelectField';
import type { BackupTargetRequest, WorkloadStreamed } from '../api/backupsApi';
import { emptyTargetForm, validateTarget, type TargetForm } from './targetForm';

export function AddTargetDialog({ open, onClose, onCreate, s3Workloads }: {
  open: boolean;
  onClose: () => void;
  onCreate: (r: BackupTargetRequest) => Promise<unknown>;
  s3Workloads: WorkloadStreamed[];
}) {
  const initial = (): TargetForm => ({
    ...emptyTargetForm,
    source: s3Workloads.length ? 'workload' : 'external',
    workload: s3Workloads[0]?.name ?? '',
  });
  const [form, setForm] = useState<TargetForm>(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof TargetForm>(k: K, v: TargetForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  function close() {
    setForm(initial());
    setErrors({});
    setFormError('');
    onClose();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const { errors: local, request } = validateTarget(form);
    setErrors(local);
    setFormError('');
    if (!request) return;
    setBusy(true);
    try {
      await onCreate(request);
      close();
    } catch (err) {
      if (err instanceof ApiError && err.problem.errors?.length) setErrors(err.fieldErrors());
      else setFormError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Add a backup target" open={open} onClose={close}>
      <form noValidate onSubmit={submit} aria-label="Add a backup target" className="flex flex-col gap-3">
        <Field label="Name" value={form.name} error={errors.name} autoComplete="off"
          hint="How policies refer to it: lower-case letters, digits and hyphens." onChange={(e) => set('name', e.target.value)} />
        <fieldset className="flex flex-col gap-1">
          <legend className="text-sm font-medium text-slate-700">Where</legend>
          <label className="flex items-center gap-2 text-sm">
            <input type="radio" name="source" checked={form.source === 'workload'} onChange={() => set('source', 'workload')} />
            One of my S3 workloads
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="radio" name="source" checked={form.source === 'external'} onChange={() => set('source', 'external')} />
            An external S3 endpoint
          </label>
        </fieldset>
        {form.source === 'workload' ? (
          s3Workloads.length ? (
            <SelectField label="S3 workload" value={form.workload} error={errors.workload}
              hint="Its keys are used. It must run on the same node as the databases it backs up."
              options={s3Workloads.map((w) => ({ value: w.name, label: `${w.name} (${w.status})` }))}
              onChange={(e) => set('workload', e.target.value)} />
          ) : (
            <p role="alert" className="text-sm text-amber-700">
              You have no S3 workloads. Deploy one (template "S3 storage") or use an external endpoint.
            </p>
          )
        ) : (
          <>
            <Field label="Endpoint" value={form.endpoint} error={errors.endpoint} placeholder="https://s3.example.net"
              onChange={(e) => set('endpoint', e.target.value)} />
            <div className="flex gap-3">
              <Field className="flex-1" label="Access key" value={form.accessKey} error={errors.access_key} autoComplete="off"
                onChange={(e) => set('accessKey', e.target.value)} />
              <Field className="flex-1" label="Secret key" type="password" value={form.secretKey} error={errors.secret_key}
                autoComplete="new-password" onChange={(e) => set('secretKey', e.target.value)} />
            </div>
            <Field label="Region" value={form.region} error={errors.region} placeholder="optional, e.g. eu-west-1"
              onChange={(e) => set('region', e.target.value)} />
          </>
        )}
        <div className="flex gap-3">
          <Field className="flex-1" label="Bucket" value={form.bucket} error={errors.bucket}
            hint="It must exist already." onChange={(e) => set('bucket', e.target.value)} />
          <Field className="flex-1" label="Prefix" value={form.prefix} error={errors.prefix}
            hint="Optional folder inside the bucket." onChange={(e) => set('prefix', e.target.value)} />
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={form.check} onChange={(e) => set('check', e.target.checked)} />
          Check that it works before saving (a node writes, reads back and deletes a test object)
        </label>
        {formError && <p role="alert" className="text-sm text-red-600">{formError}</p>}
        <div className="flex justify-end gap-2">
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={busy}>{busy ? (form.check ? 'Checking…' : 'Adding…') : 'Add target'}</Button>
        </div>
      </form>
    </Dialog>
  );
}
