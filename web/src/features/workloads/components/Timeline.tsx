import { StatusBadge } from '../../../shared/components/StatusBadge';
import { formatTime } from '../../../shared/lib/format';
import type { WorkloadEvent } from '../api/workloadsApi';

export function Timeline({ events }: { events: WorkloadEvent[] }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title" className="mb-2 text-base font-semibold">Timeline</h2>
      <ol className="flex flex-col gap-1 text-sm">
        {events.map((e, i) => (
          <li key={i} className="flex items-center gap-2">
            <time dateTime={e.at} className="w-44 shrink-0 text-xs text-slate-500">{formatTime(e.at)}</time>
            <StatusBadge status={e.status} />
            <span className="text-slate-700">{e.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
