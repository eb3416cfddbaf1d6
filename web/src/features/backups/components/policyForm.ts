// The backup policy form's state, and its mapping to and from the API's BackupPolicy: the
// interval is entered as a number of minutes, hours or days, or "on demand only" (0).
// Limits mirror the server's (src/control/backups.cc) so most mistakes show before a request.
import type { BackupPolicy, BackupPolicyRequest } from '../api/backupsApi';

export type IntervalUnit = 'minutes' | 'hours' | 'days';
export type PolicyForm = {
  targetId: string;
  scheduled: boolean;
  every: string;
  unit: IntervalUnit;
  keepCount: string;
  keepDays: string;
  verify: boolean;
};

const SECONDS: Record<IntervalUnit, number> = { minutes: 60, hours: 3600, days: 86_400 };
const MIN_INTERVAL = 60;
const MAX_INTERVAL = 31_622_400;

/** A new policy: daily, keep the last 7, verify each one. */
export const defaultPolicyForm = (targetId = ''): PolicyForm => ({
  targetId, scheduled: true, every: '24', unit: 'hours', keepCount: '7', keepDays: '0', verify: true,
});

export function formFromPolicy(p: BackupPolicy): PolicyForm {
  const s = p.interval_seconds;
  const unit: IntervalUnit = s && s % 86_400 === 0 ? 'days' : s && s % 3600 === 0 ? 'hours' : 'minutes';
  return {
    targetId: p.target_id, scheduled: s > 0, every: s > 0 ? String(Math.round(s / SECONDS[unit])) : '24',
    unit: s > 0 ? unit : 'hours', keepCount: String(p.keep_count), keepDays: String(p.keep_days), verify: p.verify,
  };
}

function wholeNumber(v: string, max: number): number | undefined {
  const t = v.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n <= max ? n : undefined;
}

/** Field errors keyed like the server's (`target_id`, `interval_seconds`, …), or the request. */
export function validatePolicy(f: PolicyForm): { errors: Record<string, string>; request?: BackupPolicyRequest } {
  const errors: Record<string, string> = {};
  if (!f.targetId) errors.target_id = 'Choose where the backups go.';
  let interval = 0;
  if (f.scheduled) {
    const n = wholeNumber(f.every, 1_000_000);
    interval = (n ?? 0) * SECONDS[f.unit];
    if (!n || interval < MIN_INTERVAL || interval > MAX_INTERVAL)
      errors.interval_seconds = 'Between 1 minute and 366 days.';
  }
  const keepCount = wholeNumber(f.keepCount, 1000);
  if (keepCount === undefined) errors.keep_count = 'A whole number from 0 (no limit) to 1000.';
  const keepDays = wholeNumber(f.keepDays, 3650);
  if (keepDays === undefined) errors.keep_days = 'A whole number from 0 (no limit) to 3650.';
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    request: { target_id: f.targetId, interval_seconds: interval, keep_count: keepCount!, keep_days: keepDays!, verify: f.verify },
  };
}

/** "every 6 hours", "on demand only". */
export function describeInterval(seconds: number): string {
  if (!seconds) return 'on demand only';
  for (const u of ['days', 'hours', 'minutes'] as const) {
    if (seconds % SECONDS[u] === 0) {
      const n = seconds / SECONDS[u];
      return `every ${n === 1 ? '' : `${n} `}${n === 1 ? u.slice(0, -1) : u}`;
    }
  }
  return `every ${seconds} seconds`;
}
