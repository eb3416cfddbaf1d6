import { StatusBadge } from '../../../shared/components/StatusBadge';
import { Link } from '../../../shared/lib/router';
import type { WorkloadStreamed } from '../api/workloadsApi';

function endpointText(w: WorkloadStreamed): string {
  const ep = w.endpoints.find((e) => e.host && e.port);
  return ep ? `${ep.host}:${ep.port}` : '—';
}

export function WorkloadTable({ workloads }: { workloads: WorkloadStreamed[] }) {
  return (
    <table className="w-full text-left text-sm" aria-label="Workloads">
      <thead className="border-b border-slate-200 text-slate-500">
        <tr>
          <th className="py-2 font-medium">Name</th>
          <th className="font-medium">Template</th>
          <th className="font-medium">Status</th>
          <th className="font-medium">Node</th>
          <th className="font-medium">Endpoint</th>
        </tr>
      </thead>
      <tbody>
        {workloads.map((w) => (
          <tr key={w.id} data-workload={w.name} className="border-b border-slate-100">
            <td className="py-2">
              <Link href={`/workloads/${w.id}`} className="font-medium text-indigo-700 hover:underline">{w.name}</Link>
            </td>
            <td>{w.template}</td>
            <td><StatusBadge status={w.status} /></td>
            <td>{w.node_name || '—'}</td>
            <td className="font-mono text-xs">{endpointText(w)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
