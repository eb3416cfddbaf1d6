// The user's backup targets: where each one writes (own S3 workload or endpoint), bucket and prefix.
import { Button } from '../../../shared/components/Button';
import { formatTime } from '../../../shared/lib/format';
import type { BackupTarget, WorkloadStreamed } from '../api/backupsApi';

export function TargetsTable({ targets, workloads, deleting, onDelete }: {
  targets: BackupTarget[];
  workloads: WorkloadStreamed[];
  deleting?: string;
  onDelete: (t: BackupTarget) => void;
}) {
  const where = (t: BackupTarget) => {
    if (t.kind === 'external') return <span className="font-mono text-xs">{t.endpoint}{t.region ? ` (${t.region})` : ''}</span>;
    const w = workloads.find((x) => x.id === t.workload_id);
    return <span>S3 workload <strong>{w?.name ?? t.workload_id}</strong>{!w && <span className="text-amber-700"> (deleted)</span>}</span>;
  };
  return (
    <table className="w-full text-left text-sm" aria-label="Backup targets">
      <thead className="border-b border-slate-200 text-slate-500">
        <tr><th className="py-2 font-medium">Name</th><th className="font-medium">Where</th><th className="font-medium">Bucket</th>
          <th className="font-medium">Prefix</th><th className="font-medium">Check</th><th className="font-medium">Added</th><th><span className="sr-only">Actions</span></th></tr>
      </thead>
      <tbody>
        {targets.map((t) => (
          <tr key={t.id} data-target={t.name} className="border-b border-slate-100">
            <td className="py-2 font-medium">{t.name}</td>
            <td className="pr-2">{where(t)}</td>
            <td className="pr-2 font-mono text-xs">{t.bucket}</td>
            <td className="pr-2 font-mono text-xs">{t.prefix || '—'}</td>
            <td className={`pr-2 text-xs ${t.probe.status === 'failed' ? 'text-red-700' : t.probe.status === 'passed' ? 'text-emerald-700' : 'text-slate-600'}`}
              data-probe={t.probe.status} title={t.probe.message || undefined}>
              {t.probe.status === 'passed' ? 'works' : t.probe.status}{t.probe.message ? `: ${t.probe.message}` : ''}
            </td>
            <td className="pr-2 text-slate-600">{formatTime(t.created_at)}</td>
            <td className="text-right">
              <Button variant="danger" aria-label={`Delete target ${t.name}`} disabled={deleting === t.id} onClick={() => onDelete(t)}>
                {deleting === t.id ? 'Deleting…' : 'Delete'}
              </Button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
