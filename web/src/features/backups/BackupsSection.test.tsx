import { calls, fetchMock, problem, resetRoutes, route } from '../../test/mockFetch';
import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import type { Backup, BackupPolicy, BackupTarget, Workload } from './api/backupsApi';
import { BackupsSection } from './BackupsSection';
import { POLL_MS } from './hooks/useBackups';

const W = '/api/v1/workloads/wl_1';
const workload = { id: 'wl_1', name: 'db', template: 'postgres', status: 'running' } as Workload;
const target: BackupTarget = {
  id: 'bt_1', name: 'own', kind: 'workload', endpoint: null, workload_id: 'wl_s3', bucket: 'pg-backups',
  region: '', prefix: '', created_at: '2026-12-01T10:00:00Z',
  probe: { status: 'passed', message: '', checked_at: '2026-12-01T10:00:01Z' },
};
const policy: BackupPolicy = {
  workload_id: 'wl_1', target_id: 'bt_1', interval_seconds: 86_400, keep_count: 7, keep_days: 0, verify: true,
  next_run_at: '2026-12-02T10:00:00Z', updated_at: '2026-12-01T10:00:00Z',
};
const backup = (id: string, extra: Partial<Backup> = {}): Backup => ({
  id, workload_id: 'wl_1', target_id: 'bt_1', trigger: 'manual', status: 'succeeded', started_at: '2026-12-01T11:00:00Z',
  finished_at: '2026-12-01T11:00:03Z', size_bytes: 3_713_939, duration_ms: 2332, start_lsn: '0/4000028', end_lsn: '0/4000138',
  error_code: null, message: '',
  verification: { status: 'verified', verified_at: '2026-12-01T11:00:12Z', duration_ms: 7239, tables: 2, rows: 27, message: '' },
  ...extra,
});
const running = backup('bk_run', { status: 'running', finished_at: null, size_bytes: 0, duration_ms: 0,
  verification: { status: 'pending', verified_at: null, duration_ms: 0, tables: 0, rows: 0, message: '' } });

function serve({ pol = policy as BackupPolicy | null, backups = [] as Backup[] } = {}) {
  route('GET /api/v1/backup-targets', { status: 200, body: { items: [target] } });
  route(`GET ${W}/backup-policy`, pol ? { status: 200, body: pol } : problem(404, 'The workload has no backup policy.'));
  route(`GET ${W}/backups`, { status: 200, body: { items: backups } });
}

describe('BackupsSection', () => {
  beforeEach(() => resetRoutes());
  afterEach(() => vi.useRealTimers());

  it('sends the policy the form shows: target, interval, retention, verification', async () => {
    serve({ pol: null });
    route(`PUT ${W}/backup-policy`, (body) => ({ status: 200, body: { ...policy, ...(body as object) } }));
    renderWithQuery(<BackupsSection workload={workload} />);
    expect(await screen.findByText(/Not backed up yet/)).toBeTruthy();
    await userEvent.clear(screen.getByLabelText('Interval'));
    await userEvent.type(screen.getByLabelText('Interval'), '6');
    await userEvent.clear(screen.getByLabelText('Keep the last'));
    await userEvent.type(screen.getByLabelText('Keep the last'), '10');
    await userEvent.clear(screen.getByLabelText('Keep for days'));
    await userEvent.type(screen.getByLabelText('Keep for days'), '30');
    await userEvent.click(screen.getByLabelText(/Verify each backup/));
    await userEvent.click(screen.getByRole('button', { name: 'Set policy' }));
    expect(await screen.findByText('Policy saved.')).toBeTruthy();
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(put.path).toBe(`${W}/backup-policy`);
    expect(put.body).toEqual({ target_id: 'bt_1', interval_seconds: 21_600, keep_count: 10, keep_days: 30, verify: false });
  });

  it('starts from the saved policy and can switch to on demand only', async () => {
    serve();
    route(`PUT ${W}/backup-policy`, (body) => ({ status: 200, body: { ...policy, ...(body as object), next_run_at: null } }));
    renderWithQuery(<BackupsSection workload={workload} />);
    expect((await screen.findByTestId('policy-summary')).textContent).toContain('every day');
    expect((screen.getByLabelText('Interval') as HTMLInputElement).value).toBe('1');
    expect((screen.getByLabelText('Interval unit') as HTMLSelectElement).value).toBe('days');
    await userEvent.click(screen.getByLabelText('On demand only'));
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    await screen.findByText('Policy saved.');
    expect(calls.find((c) => c.method === 'PUT')!.body).toEqual({ target_id: 'bt_1', interval_seconds: 0, keep_count: 7, keep_days: 0, verify: true });
    expect(screen.getByTestId('policy-summary').textContent).toContain('on demand only');
  });

  it('refuses a bad interval before asking the server, and shows the server field errors', async () => {
    serve();
    route(`PUT ${W}/backup-policy`, problem(400, 'The backup policy is not valid.', [{ field: 'keep_count', message: 'must be between 0 (no limit) and 1000' }]));
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByTestId('policy-summary');
    await userEvent.selectOptions(screen.getByLabelText('Interval unit'), 'days');
    await userEvent.clear(screen.getByLabelText('Interval'));
    await userEvent.type(screen.getByLabelText('Interval'), '400');
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    expect(screen.getByText('Between 1 minute and 366 days.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    await userEvent.clear(screen.getByLabelText('Interval'));
    await userEvent.type(screen.getByLabelText('Interval'), '2');
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    expect(await screen.findByText('must be between 0 (no limit) and 1000')).toBeTruthy();
    expect(screen.getByLabelText('Keep the last').getAttribute('aria-invalid')).toBe('true');
  });

  it('shows why the server refused to back up now (problem+json detail)', async () => {
    serve();
    route(`POST ${W}/backups`, problem(409, 'The workload is not placed on a node yet.'));
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByText('No backups yet.');
    await userEvent.click(screen.getByRole('button', { name: 'Back up now' }));
    expect((await screen.findByText('The workload is not placed on a node yet.')).getAttribute('role')).toBe('alert');
  });

  it('shows a failed backup with its code and reason, and a verified one with what was read back', async () => {
    serve({
      backups: [
        backup('bk_bad', { status: 'failed', error_code: 'target-auth', message: 'The S3 keys were refused (SignatureDoesNotMatch).',
          size_bytes: 0, verification: { status: 'skipped', verified_at: null, duration_ms: 0, tables: 0, rows: 0, message: '' } }),
        backup('bk_ok'),
        backup('bk_corrupt', { trigger: 'schedule', verification: { status: 'failed', verified_at: null, duration_ms: 900, tables: 0, rows: 0, message: 'backup-damaged: sha256 differs' } }),
      ],
    });
    renderWithQuery(<BackupsSection workload={workload} />);
    const rows = within(await screen.findByRole('table', { name: 'Backups' })).getAllByRole('row');
    expect(rows).toHaveLength(4);
    expect(within(rows[1]!).getByText('failed')).toBeTruthy();
    expect(within(rows[1]!).getByTestId('backup-error').textContent).toBe('target-authThe S3 keys were refused (SignatureDoesNotMatch).');
    expect(within(rows[2]!).getByText('verified')).toBeTruthy();
    expect(within(rows[2]!).getByText(/2 tables, 27 rows read back/)).toBeTruthy();
    expect(within(rows[2]!).getByText('3.5 MB')).toBeTruthy();
    expect(within(rows[2]!).getByText('2.3 s')).toBeTruthy();
    expect(within(rows[3]!).getByText('scheduled')).toBeTruthy();
    expect(within(rows[3]!).getByText('backup-damaged: sha256 differs')).toBeTruthy();
  });

  it('disables "Back up now" with the reason while a backup runs, and polls until it is verified', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    serve();
    route(`GET ${W}/backups`,
      { status: 200, body: { items: [running] } },
      { status: 200, body: { items: [{ ...running, status: 'succeeded', size_bytes: 1000 }] } },
      { status: 200, body: { items: [backup('bk_run')] } });
    renderWithQuery(<BackupsSection workload={workload} />);
    const button = await screen.findByRole('button', { name: 'Back up now' });
    await screen.findByRole('table', { name: 'Backups' });
    expect((button as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/A backup is running/).id).toBe(button.getAttribute('aria-describedby'));
    await act(() => vi.advanceTimersByTimeAsync(POLL_MS + 100));
    expect(await screen.findByText('restoring to check…')).toBeTruthy();
    expect((button as HTMLButtonElement).disabled).toBe(false);
    await act(() => vi.advanceTimersByTimeAsync(POLL_MS + 100));
    expect(await screen.findByText(/2 tables, 27 rows/)).toBeTruthy();
    const gets = () => calls.filter((c) => c.method === 'GET' && c.path === `${W}/backups`).length;
    expect(gets()).toBe(3);
    await act(() => vi.advanceTimersByTimeAsync(3 * POLL_MS));
    expect(gets()).toBe(3); // settled: no more polling
  });

  it('is disabled without a policy or while the database is not running', async () => {
    serve({ pol: null });
    const { unmount } = renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByText(/Not backed up yet/);
    expect(screen.getByText('Set a policy (where the backups go) first.')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Back up now' }) as HTMLButtonElement).disabled).toBe(true);
    unmount();
    serve();
    renderWithQuery(<BackupsSection workload={{ ...workload, status: 'stopped' }} />);
    await screen.findByTestId('policy-summary');
    expect(screen.getByText('The database is not running.')).toBeTruthy();
    expect(fetchMock).toHaveBeenCalled();
  });

  it('backs up now and shows the new backup running', async () => {
    serve();
    route(`POST ${W}/backups`, { status: 202, body: running });
    route(`GET ${W}/backups`, { status: 200, body: { items: [] } }, { status: 200, body: { items: [running] } });
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByText('No backups yet.');
    await userEvent.click(screen.getByRole('button', { name: 'Back up now' }));
    const row = await screen.findByRole('row', { name: /running/ });
    expect(row.getAttribute('data-backup')).toBe('bk_run');
    expect((screen.getByRole('button', { name: 'Back up now' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
