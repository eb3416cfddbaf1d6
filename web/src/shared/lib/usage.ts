// Resource usage series (GET /api/v1/{workloads,nodes}/{id}/metrics) as the charts draw them:
// pure functions of the API's JSON. CPU is a percent of one core; throughputs are bytes/s.
import type { components } from '../api/schema';

export type MetricSeries = components['schemas']['MetricSeries'];
export type MetricPoint = components['schemas']['MetricPoint'];

export type Unit = 'percent' | 'bytes' | 'bytes/s';

export type ChartLine = { label: string; values: (number | null)[]; color: string; dash?: number[] };

/** One chart: a title, its unit and lines over the shared x axis (Unix seconds), drawn over the
 *  whole requested range (`range`, Unix seconds) so that a gap or a recent start shows as such. */
export type UsageChartSpec = {
  id: string; title: string; unit: Unit; x: number[]; range: [number, number]; lines: ChartLine[];
};

/** The ranges the console offers; `from` is what the API takes. */
export const RANGES = [
  { id: '1h', label: '1 hour', from: '-1h' },
  { id: '6h', label: '6 hours', from: '-6h' },
  { id: '24h', label: '24 hours', from: '-24h' },
  { id: '7d', label: '7 days', from: '-7d' },
  { id: '30d', label: '30 days', from: '-30d' },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A value in its unit, short: "42.5%", "1.5 MiB", "12 KiB/s". */
export function formatUsage(unit: Unit, v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return '—';
  if (unit === 'percent') return `${v < 100 ? v.toFixed(1) : Math.round(v)}%`;
  let n = v;
  let i = 0;
  while (n >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  const text = i === 0 ? `${Math.round(n)} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${BYTE_UNITS[i]}`;
  return unit === 'bytes/s' ? `${text}/s` : text;
}

/** The four charts of a series: CPU, memory against its limit, network, disk. */
export function usageCharts(series: MetricSeries, limitLabel = 'limit'): UsageChartSpec[] {
  const pts = series.points;
  const x = pts.map((p) => Math.floor(Date.parse(p.at) / 1000));
  const range: [number, number] = [Math.floor(Date.parse(series.from) / 1000), Math.floor(Date.parse(series.to) / 1000)];
  const col = (f: (p: MetricPoint) => number) => pts.map(f);
  return [
    { id: 'cpu', range, title: 'CPU', unit: 'percent', x, lines: [
      { label: 'average', values: col((p) => p.cpu_percent), color: '#4f46e5' },
      { label: 'peak', values: col((p) => p.cpu_percent_max), color: '#a5b4fc', dash: [4, 4] },
    ] },
    { id: 'memory', range, title: 'Memory', unit: 'bytes', x, lines: [
      { label: 'in use', values: col((p) => p.memory_bytes), color: '#059669' },
      { label: limitLabel, values: col((p) => p.memory_limit_bytes), color: '#dc2626', dash: [6, 4] },
    ] },
    { id: 'network', range, title: 'Network', unit: 'bytes/s', x, lines: [
      { label: 'in', values: col((p) => p.net_rx_bps), color: '#0284c7' },
      { label: 'out', values: col((p) => p.net_tx_bps), color: '#d97706' },
    ] },
    { id: 'disk', range, title: 'Disk', unit: 'bytes/s', x, lines: [
      { label: 'read', values: col((p) => p.disk_read_bps), color: '#7c3aed' },
      { label: 'write', values: col((p) => p.disk_write_bps), color: '#db2777' },
    ] },
  ];
}

/** The newest value of each line, for the chart's caption. */
export function latest(spec: UsageChartSpec): { label: string; text: string }[] {
  return spec.lines.map((l) => ({ label: l.label, text: formatUsage(spec.unit, l.values[l.values.length - 1]) }));
}
