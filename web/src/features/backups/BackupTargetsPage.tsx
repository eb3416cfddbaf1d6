// The Backup targets page: the S3 buckets this user's databases are backed up to. Adding one
// picks an own S3 workload or an external endpoint; deleting one the server refuses (409, a
// policy still uses it) shows the server's reason.
import { useState } from 'react';
import { Button } from '../../shared/components/Button';
import { Dialog } from '../../shared/components/Dialog';
import { ErrorNote, Loading } from '../../shared/components/States';
import type { BackupTarget } from './api/backupsApi';
import { AddTargetDialog } from './components/AddTargetDialog';
import { TargetsTable } from './components/TargetsTable';
import { useBackupTargets, useCreateTarget, useDeleteTarget, useMyWorkloads } from './hooks/useBackupTargets';

export function BackupTargetsPage() {
  const targets = useBackupTargets();
  const workloads = useMyWorkloads();
  const create = useCreateTarget();
  const remove = useDeleteTarget();
  const [adding, setAdding] = useState(false);
  const [confirm, setConfirm] = useState<BackupTarget | null>(null);
  const s3 = (workloads.data ?? []).filter((w) => w.template === 'minio');

  return (
    <section aria-labelledby="targets-title" className="flex flex-col gap-4">
      <div className="flex items-start justify-between gap-4">
        <div>
          <h1 id="targets-title" className="text-2xl font-semibold">Backup targets</h1>
          <p className="text-sm text-slate-600">
            S3 buckets your databases are backed up to. Choose one in a PostgreSQL workload's Backups tab.
          </p>
        </div>
        <Button variant="primary" onClick={() => { remove.reset(); setAdding(true); }} disabled={workloads.isPending}>Add target</Button>
      </div>
      {remove.isError && <ErrorNote error={remove.error} />}
      {targets.isPending ? <Loading what="backup targets" /> : targets.isError ? <ErrorNote error={targets.error} /> : targets.data.length ? (
        <TargetsTable targets={targets.data} workloads={workloads.data ?? []}
          deleting={remove.isPending ? remove.variables : undefined} onDelete={(t) => { remove.reset(); setConfirm(t); }} />
      ) : (
        <p className="text-slate-600">No backup targets yet. Add one of your S3 workloads or an external S3 endpoint.</p>
      )}
      {adding && <AddTargetDialog open onClose={() => setAdding(false)} onCreate={(r) => create.mutateAsync(r)} s3Workloads={s3} />}
      <Dialog title={`Delete target ${confirm?.name ?? ''}?`} open={!!confirm} onClose={() => setConfirm(null)}>
        <p className="mb-4 text-sm">Lattice forgets the target and its keys. The objects in the bucket stay.</p>
        <div className="flex justify-end gap-2">
          <Button onClick={() => setConfirm(null)}>Cancel</Button>
          <Button variant="danger" onClick={() => { if (confirm) remove.mutate(confirm.id); setConfirm(null); }}>Delete</Button>
        </div>
      </Dialog>
    </section>
  );
}
