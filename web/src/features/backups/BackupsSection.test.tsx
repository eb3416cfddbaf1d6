import { calls, fetchMock, problem, resetRoutes, route } from '../../test/mockFetch';
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
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
  workload_id: 'wl_1', target_id: 'bt_1', interval_seconds: 86_400, cron: '', keep_count: 7, keep_days: 0, verify: true,
  next_run_at: '2026-12-02T10:00:00Z', updated_at: '2026-12-01T10:00:00Z',
};
const backup = (id: string, extra: Partial<Backup> = {}): Backup => ({
  id, workload_id: 'wl_1', kind: 'postgres', target_id: 'bt_1', trigger: 'manual', status: 'succeeded', started_at: '2026-12-01T11:00:00Z',
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
    expect(put.body).toEqual({ target_id: 'bt_1', interval_seconds: 21_600, cron: '', keep_count: 10, keep_days: 30, verify: false });
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
    expect(calls.find((c) => c.method === 'PUT')!.body).toEqual({ target_id: 'bt_1', interval_seconds: 0, cron: '', keep_count: 7, keep_days: 0, verify: true });
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

  it('sets a cron schedule (UTC): the body has the cron and no interval, the summary describes it', async () => {
    serve();
    route(`PUT ${W}/backup-policy`, (body) => ({ status: 200, body: { ...policy, ...(body as object), next_run_at: '2026-12-02T02:30:00Z' } }));
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByTestId('policy-summary');
    const cron = screen.getByLabelText('Cron expression') as HTMLInputElement;
    expect(cron.disabled).toBe(true);
    expect(screen.getByText(/is\s+daily at 02:30 UTC/)).toBeTruthy();
    await userEvent.click(screen.getByLabelText('On a cron schedule (UTC)'));
    expect(cron.disabled).toBe(false);
    expect((screen.getByLabelText('Interval') as HTMLInputElement).disabled).toBe(true);
    await userEvent.clear(cron);
    await userEvent.type(cron, '15 3 * * mon-fri');
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    await screen.findByText('Policy saved.');
    expect(calls.find((c) => c.method === 'PUT')!.body)
      .toEqual({ target_id: 'bt_1', interval_seconds: 0, cron: '15 3 * * mon-fri', keep_count: 7, keep_days: 0, verify: true });
    const summary = screen.getByTestId('policy-summary');
    expect(summary.textContent).toMatch(/^Backed up on cron 15 3 \* \* mon-fri \(UTC\); next .* \(02:30 UTC\)\.$/);
    expect(summary.querySelector('code')!.textContent).toBe('15 3 * * mon-fri');
  });

  it('starts from a saved cron policy', async () => {
    serve({ pol: { ...policy, interval_seconds: 0, cron: '@daily', next_run_at: null } });
    renderWithQuery(<BackupsSection workload={workload} />);
    expect((await screen.findByTestId('policy-summary')).textContent).toBe('Backed up on cron @daily (UTC).');
    expect((screen.getByLabelText('On a cron schedule (UTC)') as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText('Cron expression') as HTMLInputElement).value).toBe('@daily');
  });

  it('a volume snapshot: verified means the archive was read back whole, and no point-in-time restore', async () => {
    serve({ backups: [backup('bk_vol', { kind: 'volume', start_lsn: '', end_lsn: '',
      verification: { status: 'verified', verified_at: '2026-12-01T11:00:12Z', duration_ms: 900, tables: 0, rows: 0, message: '' } })] });
    renderWithQuery(<BackupsSection workload={{ ...workload, template: 'minio' }} />);
    expect(await screen.findByText(/archive read back whole/)).toBeTruthy();
    expect(screen.queryByText(/0 tables/)).toBeNull();
    expect(screen.queryByRole('button', { name: /point in time/ })).toBeNull();
  });

  it('says whether continuous WAL archiving runs or fails, with the node\'s reason', async () => {
    serve({ pol: { ...policy, archiving: { state: 'failing', message: 'target-auth: the keys were refused', changed_at: '2026-12-01T10:05:00Z' } } });
    const { unmount } = renderWithQuery(<BackupsSection workload={workload} />);
    const line = await screen.findByTestId('policy-archiving');
    expect(line.getAttribute('role')).toBe('alert');
    expect(line.textContent).toContain('failing');
    expect(line.textContent).toContain('target-auth: the keys were refused');
    unmount();
    resetRoutes();
    serve({ pol: { ...policy, archiving: { state: 'archiving', message: '', changed_at: '2026-12-01T10:05:00Z' } } });
    renderWithQuery(<BackupsSection workload={workload} />);
    expect((await screen.findByTestId('policy-archiving')).textContent).toContain('archiving runs');
  });

  it('refuses a cron that is not five fields before asking the server, and shows the server\'s cron error under the field', async () => {
    serve();
    route(`PUT ${W}/backup-policy`, problem(400, 'The backup policy is not valid.', [{ field: 'cron', message: 'hour 25 is out of range (0-23)' }]));
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByTestId('policy-summary');
    await userEvent.click(screen.getByLabelText('On a cron schedule (UTC)'));
    const cron = screen.getByLabelText('Cron expression');
    await userEvent.clear(cron);
    await userEvent.type(cron, '30 2 * *');
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    expect(screen.getByRole('alert').textContent).toMatch(/^Five fields/);
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    await userEvent.clear(cron);
    await userEvent.type(cron, '0 25 * * *');
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    const error = await screen.findByText('hour 25 is out of range (0-23)');
    expect(cron.getAttribute('aria-invalid')).toBe('true');
    expect(cron.getAttribute('aria-describedby')).toBe(error.id);
    expect(calls.find((c) => c.method === 'PUT')!.body).toMatchObject({ interval_seconds: 0, cron: '0 25 * * *' });
  });

  it('shows a server field error the form has no field for above the button', async () => {
    serve();
    route(`PUT ${W}/backup-policy`, problem(400, 'The backup policy is not valid.', [{ field: 'schedule', message: 'give interval_seconds or cron, not both' }]));
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByTestId('policy-summary');
    await userEvent.click(screen.getByRole('button', { name: 'Save policy' }));
    expect((await screen.findByText('schedule: give interval_seconds or cron, not both')).getAttribute('role')).toBe('alert');
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

describe('BackupsSection: restore into a new workload', () => {
  // Pin the zone, so the local moment typed below has one UTC value on any machine.
  const zone = process.env.TZ;
  beforeAll(() => { process.env.TZ = 'Asia/Tokyo'; });
  afterAll(() => { if (zone === undefined) delete process.env.TZ; else process.env.TZ = zone; });
  beforeEach(() => {
    resetRoutes();
    history.replaceState(null, '', '/workloads/wl_1/backups');
  });

  const restored = { id: 'wl_new', name: 'db-copy', template: 'postgres', status: 'creating', status_reason: 'restoring backup bk_ok' } as Workload;
  const list = [
    backup('bk_pending', { verification: { status: 'pending', verified_at: null, duration_ms: 0, tables: 0, rows: 0, message: '' } }),
    backup('bk_ok'),
    backup('bk_unverified', { verification: { status: 'skipped', verified_at: null, duration_ms: 0, tables: 0, rows: 0, message: '' } }),
    backup('bk_bad', { status: 'failed', error_code: 'target-auth', message: 'refused', size_bytes: 0,
      verification: { status: 'skipped', verified_at: null, duration_ms: 0, tables: 0, rows: 0, message: '' } }),
    backup('bk_corrupt', { verification: { status: 'failed', verified_at: null, duration_ms: 900, tables: 0, rows: 0, message: 'backup-damaged' } }),
    { ...running, id: 'bk_run2' },
  ];
  const restoreIn = async (id: string) => {
    const row = (await screen.findAllByRole('row')).find((r) => r.getAttribute('data-backup') === id)!;
    await userEvent.click(within(row).getByRole('button', { name: 'Restore…' }));
    return screen.findByRole('dialog');
  };
  const posts = () => calls.filter((c) => c.method === 'POST' && c.path === `${W}/restore`);

  it('offers "Restore…" only on succeeded backups whose verification did not fail', async () => {
    serve({ backups: list });
    renderWithQuery(<BackupsSection workload={workload} />);
    const rows = within(await screen.findByRole('table', { name: 'Backups' })).getAllByRole('row').slice(1);
    const offered = rows.filter((r) => within(r).queryByRole('button', { name: 'Restore…' })).map((r) => r.getAttribute('data-backup'));
    expect(offered).toEqual(['bk_pending', 'bk_ok', 'bk_unverified']);
    expect(screen.getByRole('button', { name: 'Restore to a point in time…' })).toBeTruthy();
  });

  it('has no restore entry at all without a restorable backup', async () => {
    serve({ backups: [list[3]!, list[4]!] });
    renderWithQuery(<BackupsSection workload={workload} />);
    await screen.findByRole('table', { name: 'Backups' });
    expect(screen.queryByRole('button', { name: /Restore/ })).toBeNull();
  });

  it('restores a backup as taken under the edited name, then opens the new workload', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`, { status: 202, body: restored });
    renderWithQuery(<BackupsSection workload={workload} />);
    const dlg = await restoreIn('bk_ok');
    expect(within(dlg).getByText(/db itself is never changed/)).toBeTruthy();
    expect(within(dlg).getByText(/new credentials/)).toBeTruthy();
    const name = within(dlg).getByLabelText('New workload name') as HTMLInputElement;
    expect(name.value).toBe('db-restored');
    expect(within(dlg).queryByLabelText('Recover to')).toBeNull();
    await userEvent.clear(name);
    await userEvent.type(name, 'db-copy');
    await userEvent.click(within(dlg).getByRole('button', { name: 'Restore into new workload' }));
    await waitFor(() => expect(location.pathname).toBe('/workloads/wl_new'));
    expect(posts().map((c) => c.body)).toEqual([{ name: 'db-copy', backup_id: 'bk_ok' }]);
  });

  it('recovers a backup to a later local moment, sent as UTC', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`, { status: 202, body: restored });
    renderWithQuery(<BackupsSection workload={workload} />);
    const dlg = await restoreIn('bk_ok');
    await userEvent.click(within(dlg).getByLabelText('Recover to a later moment'));
    expect(within(dlg).getByText(/Replays the WAL archived since this backup/)).toBeTruthy();
    fireEvent.change(within(dlg).getByLabelText('Recover to'), { target: { value: '2026-12-02T12:00' } });
    await userEvent.click(within(dlg).getByRole('button', { name: 'Restore into new workload' }));
    await waitFor(() => expect(location.pathname).toBe('/workloads/wl_new'));
    // 12:00 in Tokyo (UTC+9) is 03:00 UTC.
    expect(posts()[0]!.body).toEqual({ name: 'db-restored', backup_id: 'bk_ok', target_time: '2026-12-02T03:00:00Z' });
  });

  it('restores to a point in time with the name and the moment only', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`, { status: 202, body: restored });
    renderWithQuery(<BackupsSection workload={workload} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Restore to a point in time…' }));
    const dlg = await screen.findByRole('dialog', { name: 'Restore db to a point in time' });
    expect(within(dlg).queryByLabelText('Recover to a later moment')).toBeNull();
    fireEvent.change(within(dlg).getByLabelText('Moment'), { target: { value: '2026-12-03T08:15:30' } });
    await userEvent.click(within(dlg).getByRole('button', { name: 'Restore into new workload' }));
    await waitFor(() => expect(location.pathname).toBe('/workloads/wl_new'));
    expect(posts()[0]!.body).toEqual({ name: 'db-restored', target_time: '2026-12-02T23:15:30Z' });
  });

  it('refuses, before asking the server, a moment in the future or before the oldest backup finished', async () => {
    serve({ backups: list });
    renderWithQuery(<BackupsSection workload={workload} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Restore to a point in time…' }));
    const dlg = await screen.findByRole('dialog');
    const moment = within(dlg).getByLabelText('Moment') as HTMLInputElement;
    // The oldest restorable backup finished 2026-12-01T11:00:03Z, 20:00:03 in Tokyo.
    expect(moment.min).toBe('2026-12-01T20:00');
    fireEvent.change(moment, { target: { value: '2026-12-01T19:59' } });
    await userEvent.click(within(dlg).getByRole('button', { name: 'Restore into new workload' }));
    expect(await within(dlg).findByText(/after the oldest backup finished/)).toBeTruthy();
    fireEvent.change(moment, { target: { value: '2999-01-01T00:00' } });
    await userEvent.click(within(dlg).getByRole('button', { name: 'Restore into new workload' }));
    expect(await within(dlg).findByText('This moment is in the future.')).toBeTruthy();
    expect(posts()).toHaveLength(0);
  });

  it('shows the server field errors next to their fields, and a 409 or 503 reason in the dialog', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`,
      problem(400, 'The restore is not valid.', [{ field: 'name', message: 'a workload with this name exists' }, { field: 'target_time', message: 'is in the future' }]),
      problem(409, 'No backup of this workload finished before 2026-12-01T10:00:00Z: there is nothing to recover from.'),
      { status: 503, body: { type: 'urn:lattice:problem:unavailable', title: 'Service Unavailable', status: 503, detail: "The workload's node is not connected; try again when it is.", instance: '/api' } });
    renderWithQuery(<BackupsSection workload={workload} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Restore to a point in time…' }));
    const dlg = await screen.findByRole('dialog');
    const submit = within(dlg).getByRole('button', { name: 'Restore into new workload' });
    await userEvent.click(submit);
    expect(await within(dlg).findByText('a workload with this name exists')).toBeTruthy();
    expect(within(dlg).getByLabelText('New workload name').getAttribute('aria-invalid')).toBe('true');
    expect(within(dlg).getByText('is in the future')).toBeTruthy();
    expect(within(dlg).getByLabelText('Moment').getAttribute('aria-invalid')).toBe('true');
    await userEvent.click(submit);
    const refusal = await within(dlg).findByText(/there is nothing to recover from/);
    expect(refusal.getAttribute('role')).toBe('alert');
    expect(within(dlg).getByLabelText('New workload name').getAttribute('aria-invalid')).toBeNull();
    await userEvent.click(submit);
    expect(await within(dlg).findByText(/node is not connected/)).toBeTruthy();
    expect(posts()).toHaveLength(3);
    expect(location.pathname).toBe('/workloads/wl_1/backups');
  });
});

describe('BackupsSection: restore in place', () => {
  const zone = process.env.TZ;
  beforeAll(() => { process.env.TZ = 'Asia/Tokyo'; });
  afterAll(() => { if (zone === undefined) delete process.env.TZ; else process.env.TZ = zone; });
  beforeEach(() => {
    resetRoutes();
    history.replaceState(null, '', '/workloads/wl_1/backups');
  });

  // The answer is the same workload, restoring.
  const same = { ...workload, status: 'scheduled', status_reason: 'restoring backup bk_ok' } as Workload;
  const list = [backup('bk_ok')];
  const posts = () => calls.filter((c) => c.method === 'POST' && c.path === `${W}/restore`);
  const inPlace = async (entry: 'row' | 'moment') => {
    if (entry === 'row') {
      const row = (await screen.findAllByRole('row')).find((r) => r.getAttribute('data-backup') === 'bk_ok')!;
      await userEvent.click(within(row).getByRole('button', { name: 'Restore…' }));
    } else await userEvent.click(await screen.findByRole('button', { name: 'Restore to a point in time…' }));
    const dlg = await screen.findByRole('dialog');
    expect((within(dlg).getByLabelText('Into a new workload') as HTMLInputElement).checked).toBe(true);
    await userEvent.click(within(dlg).getByLabelText("Replace this workload's data (in place)"));
    return dlg;
  };
  const replace = (dlg: HTMLElement) => within(dlg).getByRole('button', { name: 'Replace data of db' }) as HTMLButtonElement;

  it('replaces the data of a backup in place: no name, the warning, in_place and confirm sent, and this page stays', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`, { status: 202, body: same });
    renderWithQuery(<BackupsSection workload={workload} />);
    const dlg = await inPlace('row');
    expect(within(dlg).queryByLabelText('New workload name')).toBeNull();
    expect(within(dlg).queryByText(/never changed/)).toBeNull();
    const warning = within(dlg).getByTestId('in-place-warning').textContent!;
    expect(warning).toMatch(/All of db's data is replaced/);
    expect(warning).toMatch(/name, endpoint and credentials/);
    expect(warning).toMatch(/current data is removed/);
    expect(within(dlg).queryByRole('button', { name: 'Restore into new workload' })).toBeNull();
    await userEvent.type(within(dlg).getByLabelText('Type db to confirm'), 'db');
    await userEvent.click(replace(dlg));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(posts().map((c) => c.body)).toEqual([{ in_place: true, confirm: 'db', backup_id: 'bk_ok' }]);
    expect(location.pathname).toBe('/workloads/wl_1/backups');
    expect(screen.getByRole('status').textContent).toMatch(/Restoring db in place/);
  });

  it('keeps "Replace data of db" disabled until the name is typed exactly', async () => {
    serve({ backups: list });
    renderWithQuery(<BackupsSection workload={workload} />);
    const dlg = await inPlace('row');
    const confirm = within(dlg).getByLabelText('Type db to confirm');
    expect(replace(dlg).disabled).toBe(true);
    for (const typed of ['d', 'DB', 'db ', ' db']) {
      await userEvent.clear(confirm);
      await userEvent.type(confirm, typed);
      expect(replace(dlg).disabled).toBe(true);
    }
    await userEvent.clear(confirm);
    await userEvent.type(confirm, 'db');
    expect(replace(dlg).disabled).toBe(false);
    // Back to a new workload and again in place: the name must be typed again.
    await userEvent.click(within(dlg).getByLabelText('Into a new workload'));
    expect((within(dlg).getByLabelText('New workload name') as HTMLInputElement).value).toBe('db-restored');
    await userEvent.click(within(dlg).getByLabelText("Replace this workload's data (in place)"));
    expect((within(dlg).getByLabelText('Type db to confirm') as HTMLInputElement).value).toBe('');
    expect(replace(dlg).disabled).toBe(true);
    expect(posts()).toHaveLength(0);
  });

  it('restores to a point in time in place with the moment only, and stays on this page', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`, { status: 202, body: { ...same, status_reason: 'restoring backup bk_ok to 2026-12-02T23:15:30Z' } });
    renderWithQuery(<BackupsSection workload={workload} />);
    const dlg = await inPlace('moment');
    expect(within(dlg).getByTestId('in-place-warning').textContent).toMatch(/as it was at the moment you choose/);
    fireEvent.change(within(dlg).getByLabelText('Moment'), { target: { value: '2026-12-03T08:15:30' } });
    await userEvent.type(within(dlg).getByLabelText('Type db to confirm'), 'db');
    await userEvent.click(replace(dlg));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(posts().map((c) => c.body)).toEqual([{ in_place: true, confirm: 'db', target_time: '2026-12-02T23:15:30Z' }]);
    expect(location.pathname).toBe('/workloads/wl_1/backups');
  });

  it('shows a 400 on confirm under the confirmation field, and a 409 in the dialog', async () => {
    serve({ backups: list });
    route(`POST ${W}/restore`,
      problem(400, 'The restore is not valid.', [{ field: 'confirm', message: "a restore in place replaces the workload's data: repeat its name ('db') to confirm" }]),
      problem(409, 'A backup of this workload is running; restore in place when it has finished.'));
    renderWithQuery(<BackupsSection workload={workload} />);
    const dlg = await inPlace('row');
    const confirm = within(dlg).getByLabelText('Type db to confirm');
    await userEvent.type(confirm, 'db');
    await userEvent.click(replace(dlg));
    const error = await within(dlg).findByText(/repeat its name \('db'\) to confirm/);
    expect(confirm.getAttribute('aria-invalid')).toBe('true');
    expect(confirm.getAttribute('aria-describedby')).toBe(error.id);
    expect(within(dlg).getAllByRole('alert')).toEqual([error]); // nothing above the buttons
    await userEvent.click(replace(dlg));
    const refusal = await within(dlg).findByText(/A backup of this workload is running/);
    expect(refusal.getAttribute('role')).toBe('alert');
    expect(confirm.getAttribute('aria-invalid')).toBeNull();
    expect(posts()).toHaveLength(2);
    expect(location.pathname).toBe('/workloads/wl_1/backups');
  });
});

describe('BackupsSection: verify again', () => {
  beforeEach(() => resetRoutes());

  const pending = { status: 'pending', verified_at: null, duration_ms: 0, tables: 0, rows: 0, message: '' } as const;
  const list = [
    backup('bk_pending', { verification: pending }),
    backup('bk_ok'),
    backup('bk_unverified', { verification: { ...pending, status: 'skipped' } }),
    backup('bk_bad', { status: 'failed', error_code: 'target-auth', message: 'refused', size_bytes: 0, verification: { ...pending, status: 'skipped' } }),
    backup('bk_corrupt', { verification: { ...pending, status: 'failed', duration_ms: 900, message: 'backup-damaged' } }),
    { ...running, id: 'bk_run2' },
  ];
  const rowOf = async (id: string) => (await screen.findAllByRole('row')).find((r) => r.getAttribute('data-backup') === id)!;
  const verifyPosts = () => calls.filter((c) => c.method === 'POST' && c.path.endsWith('/verify'));

  it('offers "Verify again" on succeeded backups that are not being verified', async () => {
    serve({ backups: list });
    renderWithQuery(<BackupsSection workload={workload} />);
    const rows = within(await screen.findByRole('table', { name: 'Backups' })).getAllByRole('row').slice(1);
    const offered = rows.filter((r) => within(r).queryByRole('button', { name: 'Verify again' })).map((r) => r.getAttribute('data-backup'));
    expect(offered).toEqual(['bk_ok', 'bk_unverified', 'bk_corrupt']);
  });

  it('posts to the backup\'s verify endpoint and shows its verification pending', async () => {
    const again = backup('bk_corrupt', { verification: pending });
    serve({ backups: list });
    route(`GET ${W}/backups`, { status: 200, body: { items: list } }, { status: 200, body: { items: list.map((b) => (b.id === again.id ? again : b)) } });
    route(`POST ${W}/backups/bk_corrupt/verify`, { status: 202, body: again });
    renderWithQuery(<BackupsSection workload={workload} />);
    await userEvent.click(within(await rowOf('bk_corrupt')).getByRole('button', { name: 'Verify again' }));
    await waitFor(async () => expect((await rowOf('bk_corrupt')).querySelector('[data-verification="pending"]')).toBeTruthy());
    expect(within(await rowOf('bk_corrupt')).queryByRole('button', { name: 'Verify again' })).toBeNull();
    expect(verifyPosts().map((c) => c.path)).toEqual([`${W}/backups/bk_corrupt/verify`]);
  });

  it('shows the server\'s reason when it refuses (409)', async () => {
    serve({ backups: list });
    route(`POST ${W}/backups/bk_ok/verify`, problem(409, 'Backup bk_ok is being verified.'));
    renderWithQuery(<BackupsSection workload={workload} />);
    await userEvent.click(within(await rowOf('bk_ok')).getByRole('button', { name: 'Verify again' }));
    const alert = await screen.findByText('Backup bk_ok is being verified.');
    expect(alert.getAttribute('role')).toBe('alert');
    expect(verifyPosts()).toHaveLength(1);
  });
});
