import { describe, expect, it } from 'vitest';
import { defaultPolicyForm, describeInterval, formFromPolicy, validatePolicy } from './policyForm';

const policy = { workload_id: 'wl_1', target_id: 'bt_1', keep_count: 3, keep_days: 14, verify: false, next_run_at: null, updated_at: '2026-12-01T10:00:00Z' };

describe('policyForm', () => {
  it('round-trips intervals through the largest whole unit', () => {
    expect(formFromPolicy({ ...policy, interval_seconds: 90 * 60 })).toMatchObject({ scheduled: true, every: '90', unit: 'minutes' });
    expect(formFromPolicy({ ...policy, interval_seconds: 7200 })).toMatchObject({ every: '2', unit: 'hours' });
    expect(formFromPolicy({ ...policy, interval_seconds: 7 * 86_400 })).toMatchObject({ every: '7', unit: 'days' });
    expect(formFromPolicy({ ...policy, interval_seconds: 0 })).toMatchObject({ scheduled: false });
    for (const s of [0, 60, 5400, 7200, 604_800])
      expect(validatePolicy(formFromPolicy({ ...policy, interval_seconds: s })).request)
        .toEqual({ target_id: 'bt_1', interval_seconds: s, keep_count: 3, keep_days: 14, verify: false });
  });

  it('mirrors the server limits', () => {
    expect(validatePolicy(defaultPolicyForm('')).errors.target_id).toBeTruthy();
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), every: '0' }).errors.interval_seconds).toBeTruthy();
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), every: '367', unit: 'days' }).errors.interval_seconds).toBeTruthy();
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), every: '366', unit: 'days' }).request?.interval_seconds).toBe(31_622_400);
    expect(validatePolicy({ ...defaultPolicyForm('bt_1'), keepCount: '1001', keepDays: '-1' }).errors)
      .toEqual({ keep_count: expect.any(String), keep_days: expect.any(String) });
    expect(validatePolicy(defaultPolicyForm('bt_1')).request).toEqual({ target_id: 'bt_1', interval_seconds: 86_400, keep_count: 7, keep_days: 0, verify: true });
  });

  it('describes intervals in words', () => {
    expect(describeInterval(0)).toBe('on demand only');
    expect(describeInterval(86_400)).toBe('every day');
    expect(describeInterval(21_600)).toBe('every 6 hours');
    expect(describeInterval(90)).toBe('every 90 seconds');
  });
});
