import { describe, expect, it } from 'vitest';
import { formatUsage, latest, usageCharts, type MetricSeries } from './usage';

const point = (at: string, cpu: number, mem: number) => ({
  at, samples: 6, cpu_percent: cpu, cpu_percent_max: cpu + 10, memory_bytes: mem, memory_bytes_max: mem,
  memory_limit_bytes: 268_435_456, net_rx_bps: 1536, net_rx_bps_max: 2048, net_tx_bps: 0, net_tx_bps_max: 0,
  disk_read_bps: 0, disk_read_bps_max: 0, disk_write_bps: 1_048_576, disk_write_bps_max: 1_048_576,
});
const series: MetricSeries = {
  from: '2027-01-15T08:00:00Z', to: '2027-01-15T09:00:00Z', step: 60, resolution: '1m',
  points: [point('2027-01-15T08:01:00Z', 12.5, 64 << 20), point('2027-01-15T08:02:00Z', 97, 70 << 20)],
};

describe('usage charts', () => {
  it('turns a series into CPU, memory against its limit, network and disk over Unix seconds', () => {
    const charts = usageCharts(series);
    expect(charts.map((c) => c.title)).toEqual(['CPU', 'Memory', 'Network', 'Disk']);
    expect(charts[0]!.x).toEqual([1_800_000_060, 1_800_000_120]);
    expect(charts[3]!.range).toEqual([1_800_000_000, 1_800_003_600]);  // the whole requested hour
    expect(charts[0]!.lines[0]!.values).toEqual([12.5, 97]);
    expect(charts[0]!.lines[1]!.values).toEqual([22.5, 107]);
    expect(charts[1]!.lines.map((l) => l.label)).toEqual(['in use', 'limit']);
    expect(charts[1]!.lines[1]!.values).toEqual([268_435_456, 268_435_456]);
    expect(usageCharts(series, 'total')[1]!.lines[1]!.label).toBe('total');
  });

  it('captions each chart with its newest values in their units', () => {
    const [cpu, memory, network, disk] = usageCharts(series);
    expect(latest(cpu!)).toEqual([{ label: 'average', text: '97.0%' }, { label: 'peak', text: '107%' }]);
    expect(latest(memory!)[0]!.text).toBe('70 MiB');
    expect(latest(memory!)[1]!.text).toBe('256 MiB');
    expect(latest(network!)[0]!.text).toBe('1.5 KiB/s');
    expect(latest(disk!)[1]!.text).toBe('1.0 MiB/s');
    expect(formatUsage('percent', 3.14159)).toBe('3.1%');
    expect(formatUsage('bytes', 512)).toBe('512 B');
    expect(formatUsage('bytes', null)).toBe('—');
  });
});
