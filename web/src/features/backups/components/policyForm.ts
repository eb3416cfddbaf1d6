// The backup policy form's state, and its mapping to and from the API's BackupPolicy: the
// schedule is "on demand only", every N minutes, hours or days (`interval_seconds`), or a cron
// expression evaluated in UTC (`cron`); the server takes one or the other, never both.
// Limits mirror the server's (src/control/backups.cc) so most mistakes show before a request;
// the cron check here is only its shape, the server parses it and answers on the `cron` field.
import type { BackupPolicy, BackupPolicyRequest } from '../api/backupsApi';

export type IntervalUnit = 'minutes' | 'hours' | 'days';
export type ScheduleMode = 'none' | 'interval' | 'cron';
export type PolicyForm = {
  targetId: string;
  schedule: ScheduleMode;
  every: string;
  unit: IntervalUnit;
  cron: string;
  keepCount: string;
  keepDays: string;
  verify: boolean;
};

const SECONDS: Record<IntervalUnit, number> = { minutes: 60, hours: 3600, days: 86_400 };
const MIN_INTERVAL = 60;
const MAX_INTERVAL = 31_622_400;
const MAX_CRON = 128;
/** The macros the server accepts in place of five fields (src/common/cron.cc; lower case only). */
export const CRON_MACROS = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'] as const;
/** What the cron field starts with: daily at 02:30 UTC. */
export const EXAMPLE_CRON = '30 2 * * *';

/** A new policy: daily, keep the last 7, verify each one. */
export const defaultPolicyForm = (targetId = ''): PolicyForm => ({
  targetId, schedule: 'interval', every: '24', unit: 'hours', cron: EXAMPLE_CRON, keepCount: '7', keepDays: '0', verify: true,
});

export function formFromPolicy(p: BackupPolicy): PolicyForm {
  const s = p.interval_seconds;
  const unit: IntervalUnit = s && s % 86_400 === 0 ? 'days' : s && s % 3600 === 0 ? 'hours' : 'minutes';
  const cron = p.cron.trim();
  return {
    targetId: p.target_id,
    schedule: cron ? 'cron' : s > 0 ? 'interval' : 'none',
    every: s > 0 ? String(Math.round(s / SECONDS[unit])) : '24',
    unit: s > 0 ? unit : 'hours',
    cron: cron || EXAMPLE_CRON,
    keepCount: String(p.keep_count), keepDays: String(p.keep_days), verify: p.verify,
  };
}

function wholeNumber(v: string, max: number): number | undefined {
  const t = v.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n <= max ? n : undefined;
}

/**
 * Whether `expr` looks like a cron expression: five fields of digits, names, `*`, `,`, `-`
 * and `/`, or one of CRON_MACROS. Ranges and names are left to the server.
 */
export function cronLooksValid(expr: string): boolean {
  const t = expr.trim();
  if (t.startsWith('@')) return (CRON_MACROS as readonly string[]).includes(t);
  const fields = t.split(/\s+/);
  return t.length <= MAX_CRON && fields.length === 5 && fields.every((f) => /^[0-9a-z*,\-/]+$/i.test(f));
}

/** Field errors keyed like the server's (`target_id`, `interval_seconds`, `cron`, …), or the request. */
export function validatePolicy(f: PolicyForm): { errors: Record<string, string>; request?: BackupPolicyRequest } {
  const errors: Record<string, string> = {};
  if (!f.targetId) errors.target_id = 'Choose where the backups go.';
  let interval = 0;
  if (f.schedule === 'interval') {
    const n = wholeNumber(f.every, 1_000_000);
    interval = (n ?? 0) * SECONDS[f.unit];
    if (!n || interval < MIN_INTERVAL || interval > MAX_INTERVAL)
      errors.interval_seconds = 'Between 1 minute and 366 days.';
  }
  const cron = f.schedule === 'cron' ? f.cron.trim().replace(/\s+/g, ' ') : '';
  if (f.schedule === 'cron' && !cronLooksValid(cron))
    errors.cron = 'Five fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @weekly, @monthly, @yearly.';
  const keepCount = wholeNumber(f.keepCount, 1000);
  if (keepCount === undefined) errors.keep_count = 'A whole number from 0 (no limit) to 1000.';
  const keepDays = wholeNumber(f.keepDays, 3650);
  if (keepDays === undefined) errors.keep_days = 'A whole number from 0 (no limit) to 3650.';
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    request: { target_id: f.targetId, interval_seconds: interval, cron, keep_count: keepCount!, keep_days: keepDays!, verify: f.verify },
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
