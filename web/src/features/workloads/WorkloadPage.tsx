// A workload's page: status and actions, then tabs — Overview (endpoints, credentials, timeline,
// logs) and any extra tabs the app plugs in for this workload (e.g. Backups for PostgreSQL), so
// that this feature imports no other feature. Each tab has its own URL: /workloads/:id/:tab.
import { useState, type ReactNode } from 'react';
import { Button } from '../../shared/components/Button';
import { CopyButton } from '../../shared/components/CopyButton';
import { ErrorNote, Loading } from '../../shared/components/States';
import { StatusBadge } from '../../shared/components/StatusBadge';
import { Link, navigate } from '../../shared/lib/router';
import { ConfirmDialog } from './components/ConfirmDialog';
import { CredentialsPanel } from './components/CredentialsPanel';
import { EndpointReachability } from './components/EndpointReachability';
import { LogsViewer } from './components/LogsViewer';
import { Timeline } from './components/Timeline';
import type { Workload } from './api/workloadsApi';
import { useWorkload, useWorkloadAction, useWorkloadEvents, useWorkloadProbes } from './hooks/useWorkloads';

export type WorkloadTab = { id: string; label: string; content: ReactNode };

export function WorkloadPage({ id, tab, extraTabs }: {
  id: string;
  tab?: string;
  extraTabs?: (w: Workload) => WorkloadTab[];
}) {
  const wl = useWorkload(id);
  const events = useWorkloadEvents(id);
  const action = useWorkloadAction(id);
  const [confirm, setConfirm] = useState<'stop' | 'delete' | null>(null);
  const probes = useWorkloadProbes(id, !!wl.data?.endpoints.some((e) => e.probe));

  if (wl.isPending) return <Loading what="workload" />;
  if (wl.isError) return (
    <div className="flex flex-col gap-3"><ErrorNote error={wl.error} /><Link href="/" className="text-indigo-600 underline">Back to workloads</Link></div>
  );
  const w = wl.data;
  const stopped = w.desired_state === 'stopped';
  const placed = !!w.node_id && w.status !== 'pending' && w.status !== 'deleting';
  const tabs = extraTabs?.(w) ?? [];
  const current = tabs.find((t) => t.id === tab);

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">{w.name}</h1>
        <span aria-label="Status"><StatusBadge status={w.status} /></span>
        <span className="text-sm text-slate-500">{w.template} · {w.image} · node {w.node_name || '—'}</span>
        <div className="ml-auto flex gap-2">
          {stopped
            ? <Button onClick={() => action.mutate('start')} disabled={action.isPending}>Start</Button>
            : <Button onClick={() => setConfirm('stop')} disabled={action.isPending || w.status === 'deleting'}>Stop</Button>}
          <Button variant="danger" onClick={() => setConfirm('delete')} disabled={action.isPending || w.status === 'deleting'}>Delete</Button>
        </div>
      </div>
      {w.status_reason && <p className="text-sm text-slate-600">{w.status_reason}</p>}
      {action.isError && <ErrorNote error={action.error} />}

      {tabs.length > 0 && (
        <nav aria-label="Workload sections" className="flex gap-1 border-b border-slate-200">
          {[{ id: '', label: 'Overview' }, ...tabs].map((t) => (
            <Link key={t.id} href={t.id ? `/workloads/${id}/${t.id}` : `/workloads/${id}`}
              aria-current={(current?.id ?? '') === t.id ? 'page' : undefined}
              className={`-mb-px border-b-2 px-3 py-1.5 text-sm ${(current?.id ?? '') === t.id ? 'border-indigo-600 font-medium text-indigo-700' : 'border-transparent text-slate-600 hover:text-slate-900'}`}>
              {t.label}
            </Link>
          ))}
        </nav>
      )}
      {current ? current.content : (
        <>
          <section aria-labelledby="ep-title">
            <h2 id="ep-title" className="mb-2 text-base font-semibold">Endpoints</h2>
            <ul className="flex flex-col gap-1 text-sm">
              {w.endpoints.map((e) => (
                <li key={e.name} className="flex items-center gap-2">
                  <span className="w-24 text-slate-500">{e.name}</span>
                  <span className="font-mono text-xs" data-endpoint={e.name}>{e.url ?? `port ${e.container_port} (assigned when running)`}</span>
                  {e.url && <CopyButton value={e.url} label={`${e.name} endpoint`} />}
                  {e.node_port && (
                    <span className="text-xs text-slate-500" data-node-port={e.name}>
                      on the node: 127.0.0.1:{e.node_port}
                    </span>
                  )}
                  {e.probe && (() => {
                    const p = probes.data?.endpoints.find((x) => x.name === e.name);
                    return <EndpointReachability name={e.name} probe={p?.probe ?? e.probe} history={p?.history ?? []} />;
                  })()}
                </li>
              ))}
              {!w.endpoints.length && <li className="text-slate-500">No ports.</li>}
            </ul>
          </section>

          <CredentialsPanel credentials={w.credentials} />
          {events.data ? <Timeline events={events.data} /> : events.isError ? <ErrorNote error={events.error} /> : <Loading what="timeline" />}
          <LogsViewer key={`${id}-${placed}`} workloadId={id} name={w.name} active={placed} />
        </>
      )}

      <ConfirmDialog open={confirm === 'stop'} title={`Stop ${w.name}?`} confirm="Stop"
        body="The container stops; its data is kept and it can be started again."
        onConfirm={() => action.mutate('stop')} onClose={() => setConfirm(null)} />
      <ConfirmDialog open={confirm === 'delete'} title={`Delete ${w.name}?`} confirm="Delete"
        body="The container and all of its data are removed. This cannot be undone."
        onConfirm={() => action.mutate('delete', { onSuccess: () => navigate('/') })} onClose={() => setConfirm(null)} />
    </div>
  );
}
