// One endpoint's outside-in reachability (docs/probes.md): its state, latency and last check,
// why it is unreachable, and a strip of its recent history (oldest left), each check's time and
// outcome in its tooltip.
import { ago, formatTime } from '../../../shared/lib/format';
import type { EndpointProbe, ProbeHistoryRow } from '../api/workloadsApi';

const tone: Record<string, string> = {
  reachable: 'bg-emerald-100 text-emerald-800',
  unreachable: 'bg-rose-100 text-rose-800',
  unknown: 'bg-slate-100 text-slate-600',
};
const block: Record<string, string> = {
  reachable: 'bg-emerald-500',
  unreachable: 'bg-rose-500',
  unknown: 'bg-slate-300',
};

export function EndpointReachability({ name, probe, history }: {
  name: string;
  probe: EndpointProbe;
  history: ProbeHistoryRow[];
}) {
  const state = probe.state;
  return (
    <span className="flex flex-wrap items-center gap-2 text-xs" data-probe={name}>
      <span aria-label={`${name} reachability`} className={`rounded px-1.5 py-0.5 font-medium ${tone[state] ?? tone.unknown}`}>
        {state}
      </span>
      {state === 'reachable' && probe.latency_ms != null && <span className="text-slate-600">{probe.latency_ms} ms</span>}
      <span className="text-slate-500" title={formatTime(probe.checked_at)}>
        {probe.checked_at ? `checked ${ago(probe.checked_at)}` : 'not checked yet'}
      </span>
      {state === 'unreachable' && probe.message && <span className="text-rose-700">{probe.message}</span>}
      {history.length > 0 && (
        <ol aria-label={`${name} recent checks`} className="flex gap-px">
          {history.map((h) => (
            <li key={h.at} className={`h-3 w-1.5 rounded-sm ${block[h.state] ?? block.unknown}`}
              title={`${formatTime(h.at)}: ${h.state}${h.message ? ` (${h.message})` : ''}`} />
          ))}
        </ol>
      )}
    </span>
  );
}
