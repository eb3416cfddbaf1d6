import { calls, problem, resetRoutes, route } from '../../test/mockFetch';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import type { BackupTarget, WorkloadStreamed } from './api/backupsApi';
import { BackupTargetsPage } from './BackupTargetsPage';

const own: BackupTarget = {
  id: 'bt_own', name: 'own', kind: 'workload', endpoint: null, workload_id: 'wl_s3', bucket: 'pg-backups',
  region: '', prefix: '', created_at: '2026-12-01T10:00:00Z',
  probe: { status: 'passed', message: '', checked_at: '2026-12-01T10:00:01Z' },
};
const offsite: BackupTarget = {
  id: 'bt_off', name: 'offsite', kind: 'external', endpoint: 'https://s3.example.net', workload_id: null,
  bucket: 'far-away', region: 'eu-west-1', prefix: 'lattice/prod', created_at: '2026-12-01T10:00:00Z',
  probe: { status: 'failed', message: 'target-auth: the keys were refused', checked_at: '2026-12-01T10:00:01Z' },
};
const wl = (id: string, name: string, template: string) =>
  ({ id, name, template, status: 'running', endpoints: [] }) as unknown as WorkloadStreamed;

function serve(targets: BackupTarget[]) {
  route('GET /api/v1/backup-targets', { status: 200, body: { items: targets } });
  route('GET /api/v1/workloads', { status: 200, body: { items: [wl('wl_s3', 'files', 'minio'), wl('wl_pg', 'db', 'postgres')] } });
}

describe('BackupTargetsPage', () => {
  beforeEach(() => resetRoutes());

  it('lists targets: own S3 workload by name, external endpoint, bucket and prefix', async () => {
    serve([own, offsite]);
    renderWithQuery(<BackupTargetsPage />);
    const rows = within(await screen.findByRole('table', { name: 'Backup targets' })).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]!.textContent).toContain('S3 workload files');
    expect(within(rows[1]!).getByText('pg-backups')).toBeTruthy();
    expect(within(rows[2]!).getByText('https://s3.example.net (eu-west-1)')).toBeTruthy();
    expect(within(rows[2]!).getByText('lattice/prod')).toBeTruthy();
    // Whether each target was shown to work, and why not.
    expect(rows[1]!.querySelector('[data-probe]')!.textContent).toBe('works');
    expect(rows[2]!.querySelector('[data-probe]')!.textContent).toBe('failed: target-auth: the keys were refused');
  });

  it('adds a target from one of my S3 workloads (only minio workloads are offered)', async () => {
    serve([]);
    route('GET /api/v1/backup-targets', { status: 200, body: { items: [] } }, { status: 200, body: { items: [own] } });
    route('POST /api/v1/backup-targets', { status: 201, body: own });
    renderWithQuery(<BackupTargetsPage />);
    await screen.findByText(/No backup targets yet/);
    await userEvent.click(screen.getByRole('button', { name: 'Add target' }));
    const dlg = screen.getByRole('dialog');
    const options = within(within(dlg).getByLabelText('S3 workload')).getAllByRole('option');
    expect(options.map((o) => o.textContent)).toEqual(['files (running)']);
    await userEvent.type(within(dlg).getByLabelText('Name'), 'own');
    await userEvent.type(within(dlg).getByLabelText('Bucket'), 'pg-backups');
    await userEvent.click(within(dlg).getByRole('button', { name: 'Add target' }));
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({ name: 'own', bucket: 'pg-backups', workload: 'files' });
    await screen.findByRole('table', { name: 'Backup targets' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('adds an external endpoint with keys, and shows server field errors in the form', async () => {
    serve([]);
    route('POST /api/v1/backup-targets', problem(400, 'The backup target is not valid.', [{ field: 'endpoint', message: 'must be http(s)://host[:port] (or name a workload instead)' }]));
    renderWithQuery(<BackupTargetsPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Add target' }));
    const dlg = screen.getByRole('dialog');
    await userEvent.click(within(dlg).getByLabelText('An external S3 endpoint'));
    await userEvent.type(within(dlg).getByLabelText('Name'), 'offsite');
    await userEvent.type(within(dlg).getByLabelText('Endpoint'), 'https://s3.example.net/');
    await userEvent.type(within(dlg).getByLabelText('Access key'), 'AKEXAMPLE');
    await userEvent.type(within(dlg).getByLabelText('Secret key'), 'secret-example');
    await userEvent.type(within(dlg).getByLabelText('Region'), 'eu-west-1');
    await userEvent.type(within(dlg).getByLabelText('Bucket'), 'far-away');
    await userEvent.type(within(dlg).getByLabelText('Prefix'), 'lattice/prod');
    await userEvent.click(within(dlg).getByRole('button', { name: 'Add target' }));
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      name: 'offsite', bucket: 'far-away', prefix: 'lattice/prod', endpoint: 'https://s3.example.net',
      access_key: 'AKEXAMPLE', secret_key: 'secret-example', region: 'eu-west-1',
    });
    expect(await within(dlg).findByText('must be http(s)://host[:port] (or name a workload instead)')).toBeTruthy();
    expect(within(dlg).getByLabelText('Endpoint').getAttribute('aria-invalid')).toBe('true');
  });

  it('checks the form before calling the server', async () => {
    serve([]);
    renderWithQuery(<BackupTargetsPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Add target' }));
    const dlg = screen.getByRole('dialog');
    await userEvent.type(within(dlg).getByLabelText('Name'), 'Bad Name');
    await userEvent.click(within(dlg).getByRole('button', { name: 'Add target' }));
    expect(within(dlg).getByText('Lower-case letters, digits and hyphens, at most 63.')).toBeTruthy();
    expect(within(dlg).getByText('3-63 lower-case letters, digits, dots or hyphens.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('shows why the server refused to delete a target a policy still uses', async () => {
    serve([own]);
    route('DELETE /api/v1/backup-targets/bt_own', problem(409, 'A backup policy still uses this target; change or remove it first.'));
    renderWithQuery(<BackupTargetsPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Delete target own' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    expect((await screen.findByRole('alert')).textContent).toBe('A backup policy still uses this target; change or remove it first.');
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(1);
    expect(screen.getByRole('row', { name: /own/ })).toBeTruthy();
  });
});
