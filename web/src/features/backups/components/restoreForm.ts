// The restore form: where to (a new workload, by default, or in place over the source's own
// data), the new workload's name or, in place, the source's name typed again to confirm, and
// optionally a moment to recover to. The moment is entered in the browser's local time
// (<input type="datetime-local">) and sent as UTC RFC 3339 with `Z`. Checks mirror the server's
// (src/control/backups.cc PlanRestore, and the deploy form's name rule) and use its field
// names, so server field errors land on the same fields.
import type { Backup, RestoreRequest } from '../api/backupsApi';

export type RestoreForm = {
  /** Replace the source's own data instead of creating a new workload. */
  inPlace: boolean;
  /** The new workload's name (not sent in place). */
  name: string;
  /** In place: the source's name, typed again; must match it exactly. */
  confirm: string;
  /** Recover to a moment (always true when restoring to a point in time without a backup). */
  toTime: boolean;
  /** "YYYY-MM-DDTHH:mm" or "YYYY-MM-DDTHH:mm:ss", local time, as datetime-local gives it. */
  time: string;
};

const DNS_LABEL = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const SUFFIX = '-restored';

/** `<source>-restored`, or `-restored-2`, `-3`… when that name is taken; at most 63 characters. */
export function suggestRestoreName(source: string, taken: readonly string[] = []): string {
  for (let i = 1; ; i++) {
    const suffix = i === 1 ? SUFFIX : `${SUFFIX}-${i}`;
    const name = `${source.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!taken.includes(name)) return name;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A Date as a datetime-local value in the browser's zone, to the minute. */
export function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (the browser's zone) as UTC RFC 3339 with `Z`, or null if unreadable. */
export function localInputToUtc(local: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(local)) return null;
  const d = new Date(local); // no zone in the string: ECMAScript reads it as local time
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

export function defaultRestoreForm(source: string, taken: readonly string[], pointInTime: boolean, now = new Date()): RestoreForm {
  return { inPlace: false, name: suggestRestoreName(source, taken), confirm: '', toTime: pointInTime, time: toLocalInput(now) };
}

/** In place, whether the typed name repeats the source's exactly (as the server compares it). */
export const confirmsSource = (f: RestoreForm, source: string) => !!source && f.confirm === source;

/**
 * The earliest moment a point-in-time restore can reach: when the oldest restorable backup
 * finished (the server recovers from the newest one that finished before the moment), or
 * null when there is none.
 */
export function earliestRestorable(backups: readonly Backup[]): string | null {
  let earliest: string | null = null;
  for (const b of backups) {
    if (b.status !== 'succeeded' || b.verification.status === 'failed' || !b.finished_at) continue;
    if (earliest === null || Date.parse(b.finished_at) < Date.parse(earliest)) earliest = b.finished_at;
  }
  return earliest;
}

/**
 * The request to send, or the errors to show. `backup` is the one chosen in the list, or null
 * for "restore to a point in time" (the server picks the newest backup before the moment);
 * then `earliest` (see earliestRestorable) bounds the moment from below. `source` is the
 * workload's name, which a restore in place must repeat in `confirm`; that request has no name.
 */
export function validateRestore(f: RestoreForm, backup: Backup | null, now = new Date(), earliest: string | null = null, source = ''):
  { errors: Record<string, string>; request?: RestoreRequest } {
  const errors: Record<string, string> = {};
  let request: RestoreRequest;
  if (f.inPlace) {
    if (!confirmsSource(f, source)) errors.confirm = source ? `Type ${source} exactly to confirm.` : 'Type the workload\'s name to confirm.';
    request = { in_place: true, confirm: f.confirm };
  } else {
    const name = f.name.trim();
    if (!name) errors.name = 'Enter a name.';
    else if (name.length > 63) errors.name = 'At most 63 characters.';
    else if (!DNS_LABEL.test(name))
      errors.name = 'Lower-case letters, digits and hyphens; start with a letter, do not end with a hyphen.';
    request = { name };
  }
  if (backup) request.backup_id = backup.id;
  if (f.toTime || !backup) {
    const utc = localInputToUtc(f.time);
    if (!utc) errors.target_time = 'Enter a date and time.';
    else if (Date.parse(utc) > now.getTime()) errors.target_time = 'This moment is in the future.';
    else if (backup && Date.parse(utc) < Date.parse(backup.started_at))
      errors.target_time = `Choose a moment after this backup started (${new Date(backup.started_at).toLocaleString()}).`;
    else if (!backup && earliest && Date.parse(utc) < Date.parse(earliest))
      errors.target_time = `Choose a moment after the oldest backup finished (${new Date(earliest).toLocaleString()}).`;
    else request.target_time = utc;
  }
  return Object.keys(errors).length ? { errors } : { errors, request };
}
