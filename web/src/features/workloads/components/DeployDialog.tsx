import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Dialog } from '../../../shared/components/Dialog';
import { Field } from '../../../shared/components/Field';
import { StatusBadge } from '../../../shared/components/StatusBadge';
import { Link } from '../../../shared/lib/router';
import type { WorkloadRequest } from '../api/workloadsApi';
import { emptyDeployForm, formFieldFor, validateDeploy, type DeployForm } from './validateDeploy';

const TEMPLATES = [
  { value: 'postgres', label: 'PostgreSQL', help: 'A managed database with generated credentials.' },
  { value: 'minio', label: 'S3 storage', help: 'S3-compatible object storage with generated keys.' },
  { value: 'custom', label: 'Custom image', help: 'Any container image.' },
] as const;

/** The deploy form; after a successful deploy it shows the workload's progress to running. */
export function DeployDialog({ open, onClose, onDeploy, statusOf }: {
  open: boolean;
  onClose: () => void;
  onDeploy: (r: WorkloadRequest) => Promise<{ id: string; name: string }>;
  statusOf: (id: string) => string | undefined;
}) {
  const [form, setForm] = useState<DeployForm>(emptyDeployForm);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const [deployed, setDeployed] = useState<{ id: string; name: string } | null>(null);
  const set = <K extends keyof DeployForm>(k: K, v: DeployForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  function close() {
    setForm(emptyDeployForm);
    setErrors({});
    setFormError('');
    setDeployed(null);
    onClose();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const { errors: local, request } = validateDeploy(form);
    setErrors(local);
    setFormError('');
    if (!request) return;
    setBusy(true);
    try {
      setDeployed(await onDeploy(request));
    } catch (err) {
      if (err instanceof ApiError && err.problem.errors?.length) {
        const mapped: Record<string, string> = {};
        for (const fe of err.problem.errors) mapped[formFieldFor(fe.field, form)] ??= fe.message;
        setErrors(mapped);
      } else setFormError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const status = deployed ? statusOf(deployed.id) ?? 'pending' : undefined;
  return (
    <Dialog title="Deploy a workload" open={open} onClose={close}>
      {deployed ? (
        <div className="flex flex-col gap-3" aria-live="polite">
          <p>
            Deploying <strong>{deployed.name}</strong>: <StatusBadge status={status!} />
          </p>
          <ol className="flex gap-2 text-xs text-slate-500" aria-label="Progress">
            {['pending', 'scheduled', 'creating', 'starting', 'running'].map((s) => (
              <li key={s} className={s === status ? 'font-semibold text-slate-900' : ''}>{s}</li>
            ))}
          </ol>
          <div className="flex gap-2">
            <Link href={`/workloads/${deployed.id}`} onClick={close} className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm text-white">
              Open {deployed.name}
            </Link>
            <Button onClick={close}>Close</Button>
          </div>
        </div>
      ) : (
        <form noValidate onSubmit={submit} className="flex flex-col gap-3" aria-label="Deploy">
          <Field label="Name" value={form.name} onChange={(e) => set('name', e.target.value)} error={errors.name}
            hint="Lower-case letters, digits and hyphens (a DNS label)." autoComplete="off" />
          <fieldset className="flex flex-col gap-1">
            <legend className="text-sm font-medium text-slate-700">Template</legend>
            {TEMPLATES.map((t) => (
              <label key={t.value} className="flex items-start gap-2 text-sm">
                <input type="radio" name="template" value={t.value} checked={form.template === t.value}
                  onChange={() => set('template', t.value)} className="mt-1" />
                <span><span className="font-medium">{t.label}</span> <span className="text-slate-500">— {t.help}</span></span>
              </label>
            ))}
            {errors.template && <p role="alert" className="text-xs text-red-600">{errors.template}</p>}
          </fieldset>
          {form.template === 'custom' && (
            <>
              <Field label="Image" value={form.image} onChange={(e) => set('image', e.target.value)} error={errors.image} placeholder="nginx:1.27" />
              <Field label="Command" value={form.command} onChange={(e) => set('command', e.target.value)} error={errors.command}
                hint={'Optional; quote arguments with spaces: sh -c "echo hi"'} />
              <Field label="Ports" value={form.ports} onChange={(e) => set('ports', e.target.value)} error={errors.ports}
                hint="Container ports the workload serves, comma-separated: 8080, 9090" />
            </>
          )}
          <fieldset className="flex flex-col gap-2">
            <legend className="text-sm font-medium text-slate-700">Environment</legend>
            {form.env.map((row, i) => (
              <div key={i} className="flex items-start gap-2">
                <Field className="flex-1" label={`Variable ${i + 1} name`} value={row.key} error={errors[`env.${i}`]}
                  onChange={(e) => set('env', form.env.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))} />
                <Field className="flex-1" label={`Variable ${i + 1} value`} value={row.value}
                  onChange={(e) => set('env', form.env.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))} />
                <Button className="mt-6" aria-label={`Remove variable ${i + 1}`} onClick={() => set('env', form.env.filter((_, j) => j !== i))}>
                  Remove
                </Button>
              </div>
            ))}
            {errors.env && <p role="alert" className="text-xs text-red-600">{errors.env}</p>}
            <Button className="self-start" onClick={() => set('env', [...form.env, { key: '', value: '' }])}>Add variable</Button>
          </fieldset>
          <div className="flex gap-3">
            <Field className="flex-1" label="Memory (MB)" inputMode="numeric" value={form.memoryMb}
              onChange={(e) => set('memoryMb', e.target.value)} error={errors['resources.memory_mb']} placeholder="default" />
            <Field className="flex-1" label="CPUs" inputMode="decimal" value={form.cpus}
              onChange={(e) => set('cpus', e.target.value)} error={errors['resources.cpus']} placeholder="default" />
          </div>
          <label className="flex items-start gap-2 text-sm">
            <input type="checkbox" checked={form.publish} onChange={(e) => set('publish', e.target.checked)} className="mt-1" />
            <span>
              Also publish the ports on the node{' '}
              <span className="text-slate-500">— on 127.0.0.1 there, for clients on that machine; the public endpoints work without it</span>
            </span>
          </label>
          {formError && <p role="alert" className="text-sm text-red-600">{formError}</p>}
          <div className="flex justify-end gap-2">
            <Button onClick={close}>Cancel</Button>
            <Button type="submit" variant="primary" disabled={busy}>{busy ? 'Deploying…' : 'Deploy'}</Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
