import { describe, expect, it } from 'vitest';
import { cronLooksValid, defaultPolicyForm, describeInterval, formFromPolicy, validatePolicy } from './policyForm';

const policy = { workload_id: 'wl_1', target_id: 'bt_1', cron: '', keep_count: 3, keep_days: 14, verify: false, next_run_at: null, updated_at: '2026-12-01T10:00:00Z' };

describe('policyForm', () => {
  it('round-trips intervals through the largest whole unit', () => {
    expect(formFromPolicy({ ...policy, interval_seconds: 90 * 60 })).toMatchObject({ schedule: 'interval', every: '90', unit: 'minutes' });
    expect(formFromPolicy({ ...policy, interval_seconds: 7200 })).toMatchObject({ every: '2', unit: 'hours' });
    expect(formFromPolicy({ ...policy, interval_seconds: 7 * 86_400 })).toMatchObject({ every: '7', unit: 'days' });
    expect(formFromPolicy({ ...policy, interval_seconds: 0 })).toMatchObject({ schedule: 'none' });
    for (const s of [0, 60, 5400, 7200, 604_800])
      expect(validatePolicy(formFromPolicy({ ...policy, interval_seconds: s })).request)
        .toEqual({ target_id: 'bt_1', interval_seconds: s, cron: '', keep_count: 3, keep_days: 14, verify: false });
  });

  it('mirrors the server limits', () => {
    expect(validatePolicy(defaultPolicyForm('')).errors.target_id).toBeTruthy();
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), every: '0' }).errors.interval_seconds).toBeTruthy();
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), every: '367', unit: 'days' }).errors.interval_seconds).toBeTruthy();
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), every: '366', unit: 'days' }).request?.interval_seconds).toBe(31_622_400);
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), keepCount: '1001', keepDays: '-1' }).errors)
      .toEqual({ keep_count: expect.any(String), keep_days: expect.any(String) });
    expect(validatePolicy(defaultPolicyForm('bt_1')).request).toEqual({ target_id: 'bt_1', interval_seconds: 86_400, cron: '', keep_count: 7, keep_days: 0, verify: true });
  });

  it('round-trips a cron schedule, sent with no interval', () => {
    for (const cron of ['30 2 * * *', '0 */6 * * 1-5', '@daily']) {
      const form = formFromPolicy({ ...policy, interval_seconds: 0, cron });
      expect(form).toMatchObject({ schedule: 'cron', cron });
      expect(validatePolicy(form).request).toEqual({ target_id: 'bt_1', interval_seconds: 0, cron, keep_count: 3, keep_days: 14, verify: false });
    }
    // Switching away from cron sends no cron; the typed expression is kept for switching back.
    const form = formFromPolicy({ ...policy, interval_seconds: 0, cron: '30 2 * * *' });
    expect(validatePolicy({ ...form, schedule: 'interval' }).request).toMatchObject({ interval_seconds: 86_400, cron: '' });
    expect(validatePolicy({ ...form, schedule: 'none' }).request).toMatchObject({ interval_seconds: 0, cron: '' });
    expect(validatePolicy({ ...form, cron: '  15   3 * * sun ' }).request?.cron).toBe('15 3 * * sun');
    // A policy without cron starts the cron field from the example.
    expect(formFromPolicy({ ...policy, interval_seconds: 3600 }).cron).toBe('30 2 * * *');
  });

  it('checks only the shape of a cron expression (the server parses it)', () => {
    for (const ok of ['30 2 * * *', '*/15 * * * *', '0 0 1,15 jan-jun mon', '@hourly', '@weekly', '@monthly', '@yearly', '@annually', '@midnight'])
      expect(cronLooksValid(ok), ok).toBe(true);
    for (const bad of ['', '30 2 * *', '30 2 * * * *', '@fortnightly', '@Daily', '30 2 * * ?', 'every day'])
      expect(cronLooksValid(bad), bad).toBe(false);
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), schedule: 'cron', cron: '30 2 * *' }).errors)
      .toEqual({ cron: expect.stringMatching(/Five fields/) });
  });

  it('describes intervals in words', () => {
    expect(describeInterval(0)).toBe('on demand only');
    expect(describeInterval(86_400)).toBe('every day');
    expect(describeInterval(21_600)).toBe('every 6 hours');
    expect(describeInterval(90)).toBe('every 90 seconds');
  });
});
