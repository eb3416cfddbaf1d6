import { calls, fetchMock, problem, resetRoutes, route } from '../../test/mockFetch';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import type { components } from '../../shared/api/schema';
import { NodeMetricsSection } from './NodeMetricsSection';
import { WorkloadMetricsSection } from './WorkloadMetricsSection';

// jsdom has no canvas: uPlot is replaced by a stand-in that records what it was asked to draw.
const drawn = vi.hoisted(() => [] as { series: string[]; data: unknown[][] }[]);
vi.mock('uplot', () => ({
  default: class {
    data: unknown[][];
    constructor(opts: { series: { label?: string }[] }, data: unknown[][]) {
      this.data = data;
      drawn.push({ series: opts.series.slice(1).map((s) => s.label ?? ''), data });
    }
    setData(data: unknown[][]) { this.data = data; }
    setSize() {}
    destroy() {}
  },
}));

type Workload = components['schemas']['Workload'];
const workload = { id: 'wl_1', name: 'burner', template: 'custom', status: 'running' } as Workload;
const point = (at: string, cpu: number) => ({
  at, samples: 1, cpu_percent: cpu, cpu_percent_max: cpu, memory_bytes: 67_108_864, memory_bytes_max: 67_108_864,
  memory_limit_bytes: 268_435_456, net_rx_bps: 2048, net_rx_bps_max: 2048, net_tx_bps: 1024, net_tx_bps_max: 1024,
  disk_read_bps: 0, disk_read_bps_max: 0, disk_write_bps: 4096, disk_write_bps_max: 4096,
});
const series = (points: ReturnType<typeof point>[]) => ({
  workload_id: 'wl_1', from: '2027-01-15T08:00:00Z', to: '2027-01-15T09:00:00Z', step: 10, resolution: 'raw', points,
});
const queryOf = (i: number) => new URL((fetchMock.mock.calls[i]![0] as Request).url).searchParams;

describe('WorkloadMetricsSection', () => {
  beforeEach(() => {
    resetRoutes();
    fetchMock.mockClear();
    drawn.length = 0;
  });

  it('draws CPU, memory against its limit, network and disk, with the newest values', async () => {
    route('GET /api/v1/workloads/wl_1/metrics', { status: 200, body: series([
      point('2027-01-15T08:00:10Z', 40), point('2027-01-15T08:00:20Z', 99.5)]) });
    renderWithQuery(<WorkloadMetricsSection workload={workload} />);
    const cpu = await screen.findByRole('figure', { name: 'CPU' });
    expect(cpu.querySelector('[data-latest="average"]')!.textContent).toBe('99.5%');
    const memory = screen.getByRole('figure', { name: 'Memory' });
    expect(memory.querySelector('[data-latest="in use"]')!.textContent).toBe('64 MiB');
    expect(memory.querySelector('[data-latest="limit"]')!.textContent).toBe('256 MiB');
    expect(screen.getByRole('figure', { name: 'Network' }).querySelector('[data-latest="in"]')!.textContent).toBe('2.0 KiB/s');
    expect(screen.getByRole('figure', { name: 'Disk' }).querySelector('[data-latest="write"]')!.textContent).toBe('4.0 KiB/s');
    await waitFor(() => expect(drawn.length).toBe(4));
    expect(drawn[1]!.series).toEqual(['in use', 'limit']);
    expect(drawn[0]!.data[0]).toEqual([1_800_000_010, 1_800_000_020]);  // Unix seconds
    expect(drawn[0]!.data[1]).toEqual([40, 99.5]);
    expect(queryOf(0).get('from')).toBe('-1h');
  });

  it('asks for another range when one is picked', async () => {
    route('GET /api/v1/workloads/wl_1/metrics', { status: 200, body: series([point('2027-01-15T08:00:10Z', 1)]) });
    renderWithQuery(<WorkloadMetricsSection workload={workload} />);
    await screen.findByRole('figure', { name: 'CPU' });
    await userEvent.click(screen.getByRole('button', { name: '7 days' }));
    await waitFor(() => expect(calls.length).toBe(2));
    expect(queryOf(1).get('from')).toBe('-7d');
    expect(screen.getByRole('button', { name: '7 days' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('says when there are no samples yet, and shows errors', async () => {
    route('GET /api/v1/workloads/wl_1/metrics', { status: 200, body: series([]) });
    renderWithQuery(<WorkloadMetricsSection workload={workload} />);
    expect(await screen.findByText(/No samples yet/)).toBeTruthy();
    resetRoutes();
    route('GET /api/v1/workloads/wl_2/metrics', problem(404, "No workload with id 'wl_2'."));
    renderWithQuery(<WorkloadMetricsSection workload={{ ...workload, id: 'wl_2' }} />);
    expect((await screen.findByRole('alert')).textContent).toContain('No workload');
  });
});

describe('NodeMetricsSection', () => {
  beforeEach(() => {
    resetRoutes();
    fetchMock.mockClear();
  });

  it("draws the node's totals against its total memory", async () => {
    route('GET /api/v1/nodes/node_1/metrics', { status: 200, body: { ...series([point('2027-01-15T08:00:10Z', 250)]), node_id: 'node_1' } });
    renderWithQuery(<NodeMetricsSection nodeId="node_1" name="box" />);
    expect(await screen.findByRole('region', { name: 'Usage of box' })).toBeTruthy();
    const memory = await screen.findByRole('figure', { name: 'Memory' });
    expect(memory.querySelector('[data-latest="total"]')!.textContent).toBe('256 MiB');
    expect(screen.getByRole('figure', { name: 'CPU' }).querySelector('[data-latest="average"]')!.textContent).toBe('250%');
  });
});
