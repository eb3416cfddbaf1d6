import { StatusBadge } from '../../../shared/components/StatusBadge';
import { formatTime } from '../../../shared/lib/format';
import type { AuditEvent } from '../api/auditApi';

export function AuditTable({ events }: { events: AuditEvent[] }) {
  return (
    <table className="w-full text-left text-sm" aria-label="Audit events">
      <thead className="border-b border-slate-200 text-slate-500">
        <tr><th className="py-2 font-medium">Time</th><th className="font-medium">Who</th><th className="font-medium">Action</th>
          <th className="font-medium">Target</th><th className="font-medium">From</th><th className="font-medium">Outcome</th>
          <th className="font-medium">Detail</th></tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id} className="border-b border-slate-100 align-top" data-event={e.id}>
            <td className="whitespace-nowrap py-2 pr-2">{formatTime(e.at)}</td>
            <td className="pr-2">{e.actor?.email ?? <span className="text-slate-500">anonymous</span>}</td>
            <td className="pr-2 font-mono text-xs">{e.action}</td>
            <td className="pr-2 font-mono text-xs">{e.target ?? '—'}</td>
            <td className="pr-2 font-mono text-xs">{e.client_address}</td>
            <td className="pr-2"><StatusBadge status={e.outcome} /></td>
            <td className="text-slate-600">{e.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
