import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backup } from '../api/backupsApi';
import { confirmsSource, defaultRestoreForm, earliestRestorable, localInputToUtc, suggestRestoreName, toLocalInput, validateRestore } from './restoreForm';

// Pin the zone, so the expected UTC times hold on any machine (Node reads TZ when it changes).
const zone = process.env.TZ;
beforeAll(() => { process.env.TZ = 'Europe/Berlin'; });
afterAll(() => { if (zone === undefined) delete process.env.TZ; else process.env.TZ = zone; });

const backup = { id: 'bk_1', status: 'succeeded', started_at: '2026-12-01T11:00:00Z' } as Backup;
const now = new Date('2026-12-07T12:00:00Z');

describe('restoreForm', () => {
  it('converts the local date-time to UTC with Z, in winter and in summer', () => {
    expect(localInputToUtc('2026-12-07T09:30')).toBe('2026-12-07T08:30:00Z');
    expect(localInputToUtc('2026-07-01T00:15:42')).toBe('2026-06-30T22:15:42Z');
    expect(localInputToUtc('')).toBeNull();
    expect(localInputToUtc('yesterday')).toBeNull();
    expect(toLocalInput(now)).toBe('2026-12-07T13:00');
  });

  it('suggests <source>-restored, a free one, within 63 characters', () => {
    expect(suggestRestoreName('db')).toBe('db-restored');
    expect(suggestRestoreName('db', ['db-restored', 'db-restored-2'])).toBe('db-restored-3');
    const long = suggestRestoreName('a'.repeat(63));
    expect(long).toHaveLength(63);
    expect(long.endsWith('a-restored')).toBe(true);
  });

  it('builds the request: a backup as taken, a backup to a moment, or a moment alone', () => {
    const f = defaultRestoreForm('db', [], false, now);
    expect(validateRestore(f, backup, now).request).toEqual({ name: 'db-restored', backup_id: 'bk_1' });
    expect(validateRestore({ ...f, toTime: true, time: '2026-12-07T09:30' }, backup, now).request)
      .toEqual({ name: 'db-restored', backup_id: 'bk_1', target_time: '2026-12-07T08:30:00Z' });
    const pit = defaultRestoreForm('db', [], true, now);
    expect(pit.toTime).toBe(true);
    expect(validateRestore(pit, null, now).request).toEqual({ name: 'db-restored', target_time: '2026-12-07T12:00:00Z' });
  });

  it('mirrors the server: a valid name, a moment not in the future and not before the backup', () => {
    const f = { inPlace: false, name: 'db-restored', confirm: '', toTime: true, time: '2026-12-07T09:30' };
    expect(validateRestore({ ...f, name: 'Db_copy' }, backup, now).errors.name).toMatch(/Lower-case/);
    expect(validateRestore({ ...f, name: '' }, backup, now).errors.name).toBe('Enter a name.');
    expect(validateRestore({ ...f, time: '2026-12-07T13:01' }, backup, now).errors.target_time).toMatch(/future/);
    expect(validateRestore({ ...f, time: '2026-12-01T11:59' }, backup, now).errors.target_time).toMatch(/after this backup/);
    expect(validateRestore({ ...f, time: '' }, null, now).errors.target_time).toBe('Enter a date and time.');
    expect(validateRestore({ ...f, toTime: false, time: '' }, backup, now).request).toEqual({ name: 'db-restored', backup_id: 'bk_1' });
  });

  it('bounds a point in time below by the oldest restorable backup', () => {
    const v = { status: 'verified' } as Backup['verification'];
    const list = [
      { ...backup, id: 'bk_new', finished_at: '2026-12-05T10:00:00Z', verification: v },
      { ...backup, id: 'bk_bad', finished_at: '2026-11-01T10:00:00Z', verification: { ...v, status: 'failed' } },
      { ...backup, id: 'bk_fail', status: 'failed', finished_at: '2026-11-02T10:00:00Z', verification: v },
      { ...backup, id: 'bk_old', finished_at: '2026-12-01T11:00:03Z', verification: { ...v, status: 'skipped' } },
      { ...backup, id: 'bk_run', status: 'running', finished_at: null, verification: { ...v, status: 'pending' } },
    ] as Backup[];
    const earliest = earliestRestorable(list);
    expect(earliest).toBe('2026-12-01T11:00:03Z');
    expect(earliestRestorable([])).toBeNull();
    const f = { inPlace: false, name: 'db-restored', confirm: '', toTime: true, time: '2026-12-01T12:00' }; // 11:00 UTC, before it finished
    expect(validateRestore(f, null, now, earliest).errors.target_time).toMatch(/after the oldest backup finished/);
    expect(validateRestore({ ...f, time: '2026-12-01T12:00:03' }, null, now, earliest).request)
      .toEqual({ name: 'db-restored', target_time: '2026-12-01T11:00:03Z' });
  });

  it('in place: sends in_place and the typed name, no name, and only once it repeats the source exactly', () => {
    const f = { ...defaultRestoreForm('db', [], false, now), inPlace: true };
    expect(f.confirm).toBe('');
    expect(validateRestore(f, backup, now, null, 'db')).toEqual({ errors: { confirm: 'Type db exactly to confirm.' } });
    for (const typed of ['DB', 'db ', ' db', 'd']) {
      expect(confirmsSource({ ...f, confirm: typed }, 'db')).toBe(false);
      expect(validateRestore({ ...f, confirm: typed }, backup, now, null, 'db').request).toBeUndefined();
    }
    const ok = { ...f, confirm: 'db' };
    expect(confirmsSource(ok, 'db')).toBe(true);
    expect(confirmsSource({ ...f, confirm: '' }, '')).toBe(false); // no source: nothing confirms
    expect(validateRestore(ok, backup, now, null, 'db').request).toEqual({ in_place: true, confirm: 'db', backup_id: 'bk_1' });
    // The new name is not checked or sent, however it reads.
    expect(validateRestore({ ...ok, name: '' }, backup, now, null, 'db')).toEqual({ errors: {}, request: { in_place: true, confirm: 'db', backup_id: 'bk_1' } });
    expect(validateRestore({ ...ok, toTime: true, time: '2026-12-07T09:30' }, backup, now, null, 'db').request)
      .toEqual({ in_place: true, confirm: 'db', backup_id: 'bk_1', target_time: '2026-12-07T08:30:00Z' });
    expect(validateRestore({ ...ok, toTime: true }, null, now, null, 'db').request)
      .toEqual({ in_place: true, confirm: 'db', target_time: '2026-12-07T12:00:00Z' });
  });

  it('in place: the moment is checked as for a new workload, next to a missing confirmation', () => {
    const f = { inPlace: true, name: '', confirm: 'd', toTime: true, time: '2026-12-07T13:01' };
    expect(validateRestore(f, backup, now, null, 'db').errors)
      .toEqual({ confirm: 'Type db exactly to confirm.', target_time: 'This moment is in the future.' });
  });
});
