// A range picker over the four usage charts of one series (CPU, memory against its limit,
// network, disk).
import type { UseQueryResult } from '@tanstack/react-query';
import { UsageChart } from '../../../shared/components/UsageChart';
import { ErrorNote, Loading } from '../../../shared/components/States';
import { RANGES, usageCharts, type MetricSeries, type RangeId } from '../../../shared/lib/usage';

export function UsagePanel({ title, query, range, onRange, limitLabel, empty }: {
  title: string;
  query: UseQueryResult<MetricSeries>;
  range: RangeId;
  onRange: (r: RangeId) => void;
  limitLabel?: string;
  empty: string;
}) {
  return (
    <section aria-label={title} className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <h2 className="text-base font-semibold">{title}</h2>
        <div role="group" aria-label="Time range" className="ml-auto flex gap-1">
          {RANGES.map((r) => (
            <button key={r.id} type="button" aria-pressed={r.id === range} onClick={() => onRange(r.id)}
              className={`rounded px-2 py-0.5 text-xs ${r.id === range ? 'bg-indigo-600 text-white' : 'bg-slate-100 text-slate-700 hover:bg-slate-200'}`}>
              {r.label}
            </button>
          ))}
        </div>
      </div>
      {query.isPending ? <Loading what="metrics" /> : query.isError ? <ErrorNote error={query.error} /> : query.data.points.length === 0 ? (
        <p className="text-sm text-slate-600">{empty}</p>
      ) : (
        <>
          <div className="grid gap-3 md:grid-cols-2">
            {usageCharts(query.data, limitLabel).map((spec) => <UsageChart key={spec.id} spec={spec} />)}
          </div>
          <p className="text-xs text-slate-500">
            One point every {query.data.step} s ({query.data.resolution === 'raw' ? 'raw samples' : `${query.data.resolution} rollups`}); CPU is a percent of one core, peaks are the highest sample in each point.
          </p>
        </>
      )}
    </section>
  );
}
