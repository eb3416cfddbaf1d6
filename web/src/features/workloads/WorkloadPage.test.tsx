import { resetRoutes, route } from '../../test/mockFetch';
import { screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import type { Workload } from './api/workloadsApi';
import { WorkloadPage } from './WorkloadPage';

const w = {
  id: 'wl_1', name: 'db', template: 'postgres', image: 'postgres:15', status: 'running', status_reason: '',
  desired_state: 'running', generation: 1, node_id: null, node_name: '', endpoints: [], credentials: {},
} as unknown as Workload;
const tabs = (x: Workload) => (x.template === 'postgres' ? [{ id: 'backups', label: 'Backups', content: <p>backups of {x.name}</p> }] : []);

describe('WorkloadPage tabs', () => {
  beforeEach(() => {
    resetRoutes();
    route('GET /api/v1/workloads/wl_1', { status: 200, body: w });
    route('GET /api/v1/workloads/wl_1/events', { status: 200, body: { items: [] } });
  });

  it('shows the overview by default, with links to each extra tab', async () => {
    renderWithQuery(<WorkloadPage id="wl_1" extraTabs={tabs} />);
    expect(await screen.findByText('Endpoints')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    expect(screen.getByRole('link', { name: 'Backups' }).getAttribute('href')).toBe('/workloads/wl_1/backups');
    expect(screen.queryByText('backups of db')).toBeNull();
  });

  it('shows the chosen tab instead of the overview', async () => {
    renderWithQuery(<WorkloadPage id="wl_1" tab="backups" extraTabs={tabs} />);
    expect(await screen.findByText('backups of db')).toBeTruthy();
    expect(screen.queryByText('Endpoints')).toBeNull();
    expect(screen.getByRole('link', { name: 'Backups' }).getAttribute('aria-current')).toBe('page');
  });

  it('has no tab bar when no feature adds a tab', async () => {
    renderWithQuery(<WorkloadPage id="wl_1" tab="backups" extraTabs={() => []} />);
    expect(await screen.findByText('Endpoints')).toBeTruthy();
    expect(screen.queryByRole('navigation', { name: 'Workload sections' })).toBeNull();
  });
});

describe('WorkloadPage endpoints', () => {
  it('shows the node port only of an endpoint published on the node', async () => {
    resetRoutes();
    const ep = { container_port: 8080, protocol: 'tcp', host: 'edge.example', port: 20001 };
    route('GET /api/v1/workloads/wl_1', { status: 200, body: { ...w, endpoints: [
      { ...ep, name: 'port-8080', url: 'tcp://edge.example:20001', node_port: 32771 },
      { ...ep, name: 'port-8081', url: 'tcp://edge.example:20002', container_port: 8081, port: 20002 },
    ] } });
    route('GET /api/v1/workloads/wl_1/events', { status: 200, body: { items: [] } });
    renderWithQuery(<WorkloadPage id="wl_1" extraTabs={() => []} />);
    expect(await screen.findByText('on the node: 127.0.0.1:32771')).toBeTruthy();
    expect(document.querySelectorAll('[data-node-port]').length).toBe(1);
  });
});
