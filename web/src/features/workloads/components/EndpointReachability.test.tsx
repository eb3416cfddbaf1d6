import { resetRoutes, route } from '../../../test/mockFetch';
import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderWithQuery } from '../../../test/renderWithQuery';
import type { Workload } from '../api/workloadsApi';
import { WorkloadPage } from '../WorkloadPage';

const now = new Date().toISOString();
const w = {
  id: 'wl_1', name: 'db', template: 'postgres', image: 'postgres:15', status: 'running', status_reason: '',
  desired_state: 'running', generation: 1, node_id: 'node_1', node_name: 'n', credentials: {},
  endpoints: [{
    name: 'postgres', container_port: 5432, protocol: 'tcp', host: '127.0.0.1', port: 20000,
    url: 'postgres://127.0.0.1:20000',
    probe: { state: 'reachable', reason: null, message: null, latency_ms: 1.2, checked_at: now, changed_at: now },
  }],
} as unknown as Workload;

describe('EndpointReachability on the workload page', () => {
  beforeEach(() => {
    resetRoutes();
    route('GET /api/v1/workloads/wl_1', { status: 200, body: w });
    route('GET /api/v1/workloads/wl_1/events', { status: 200, body: { items: [] } });
    route('GET /api/v1/workloads/wl_1/probes', {
      status: 200,
      body: {
        workload_id: 'wl_1',
        endpoints: [{
          name: 'postgres', container_port: 5432, public_port: 20000,
          probe: { state: 'unreachable', reason: 'closed', message: 'the container does not answer', latency_ms: null, checked_at: now, changed_at: now },
          history: [
            { at: '2027-01-01T00:00:00Z', state: 'reachable', reason: null, message: null, latency_ms: 1.1 },
            { at: '2027-01-01T00:05:00Z', state: 'unreachable', reason: 'closed', message: 'the container does not answer', latency_ms: null },
          ],
        }],
      },
    });
  });

  it('shows the state, why, and the recent history of each probed endpoint', async () => {
    renderWithQuery(<WorkloadPage id="wl_1" />);
    // The workload's own record first, then the polled history replaces it.
    expect((await screen.findByLabelText('postgres reachability')).textContent).toMatch(/reachable/);
    expect(await screen.findByText('the container does not answer')).toBeTruthy();
    expect(screen.getByLabelText('postgres reachability').textContent).toBe('unreachable');
    const strip = screen.getByRole('list', { name: 'postgres recent checks' });
    const checks = within(strip).getAllByRole('listitem');
    expect(checks).toHaveLength(2);
    expect(checks[1]?.getAttribute('title')).toMatch(/unreachable \(the container does not answer\)/);
    expect(screen.getByText(/checked \d+s ago/)).toBeTruthy();
  });
});
