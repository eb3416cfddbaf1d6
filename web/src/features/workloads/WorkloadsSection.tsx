import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../shared/api/queryKeys';
import { Button } from '../../shared/components/Button';
import { ErrorNote, Loading } from '../../shared/components/States';
import type { WorkloadStreamed } from './api/workloadsApi';
import { DeployDialog } from './components/DeployDialog';
import { WorkloadTable } from './components/WorkloadTable';
import { useDeploy, useWorkloads } from './hooks/useWorkloads';

/** The dashboard's workload list (kept live by the app's event stream) and the deploy dialog. */
export function WorkloadsSection() {
  const list = useWorkloads();
  const deploy = useDeploy();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const statusOf = (id: string) =>
    qc.getQueryData<WorkloadStreamed[]>(queryKeys.workloads)?.find((w) => w.id === id)?.status;

  return (
    <section aria-labelledby="wl-title" className="flex flex-col gap-3">
      <div className="flex items-center justify-between">
        <h1 id="wl-title" className="text-2xl font-semibold">Workloads</h1>
        <Button variant="primary" onClick={() => setOpen(true)}>Deploy</Button>
      </div>
      {list.isPending ? <Loading what="workloads" /> : list.isError ? <ErrorNote error={list.error} /> : list.data.length ? (
        <WorkloadTable workloads={list.data} />
      ) : (
        <div className="rounded-lg border border-dashed border-slate-300 p-10 text-center">
          <p className="mb-3 text-slate-600">You have no workloads yet. Deploy a PostgreSQL database, S3 storage or any container image.</p>
          <Button variant="primary" onClick={() => setOpen(true)}>Deploy your first workload</Button>
        </div>
      )}
      <DeployDialog open={open} onClose={() => setOpen(false)} onDeploy={(r) => deploy.mutateAsync(r)} statusOf={statusOf} />
    </section>
  );
}
