// A workload's backups, newest first: when and why each started, how it ended (a failure with
// its code and the server's message), its size and duration, the proof it restores, and the
// actions a backup allows: "Restore…" when it can be restored, "Verify again" when it
// succeeded and is not being verified.
import { Button } from '../../../shared/components/Button';
import { StatusBadge } from '../../../shared/components/StatusBadge';
import { formatBytes, formatDuration, formatTime } from '../../../shared/lib/format';
import type { Backup } from '../api/backupsApi';

function Outcome({ b }: { b: Backup }) {
  return (
    <div className="flex flex-col gap-0.5">
      <span><StatusBadge status={b.status} /></span>
      {b.status === 'failed' && (
        <span className="text-xs text-red-700" data-testid="backup-error">
          {b.error_code && <code className="mr-1 font-mono">{b.error_code}</code>}
          {b.message}
        </span>
      )}
    </div>
  );
}

function Verification({ b }: { b: Backup }) {
  const v = b.verification;
  if (b.status !== 'succeeded') return <span className="text-slate-400">—</span>;
  if (v.status === 'pending') return <span data-verification="pending"><StatusBadge status="pending" /> <span className="text-xs text-slate-500">restoring to check…</span></span>;
  if (v.status === 'skipped') return <span data-verification="skipped" className="text-xs text-slate-500">not verified</span>;
  if (v.status === 'failed')
    return (
      <div data-verification="failed" className="flex flex-col gap-0.5">
        <span><StatusBadge status="failed" /></span>
        <span className="text-xs text-red-700">{v.message || 'The backup did not restore.'}</span>
      </div>
    );
  return (
    <div data-verification="verified" className="flex flex-col gap-0.5">
      <span><StatusBadge status="verified" /></span>
      <span className="text-xs text-slate-600">
        {b.kind === 'volume' ? 'archive read back whole' : <>{v.tables} {v.tables === 1 ? 'table' : 'tables'}, {v.rows} {v.rows === 1 ? 'row' : 'rows'} read back</>}
        {' · '}{formatTime(v.verified_at)} · took {formatDuration(v.duration_ms)}
      </span>
    </div>
  );
}

/** A backup the server would restore: it succeeded and its verification did not fail. */
export const restorable = (b: Backup) => b.status === 'succeeded' && b.verification.status !== 'failed';

/** A backup the server would verify again: it succeeded and no verification of it is pending. */
export const reverifiable = (b: Backup) => b.status === 'succeeded' && b.verification.status !== 'pending';

export function BackupsTable({ backups, onRestore, onVerify, verifying }: {
  backups: Backup[];
  onRestore?: (b: Backup) => void;
  onVerify?: (b: Backup) => void;
  /** The backup whose "Verify again" is being sent, if any. */
  verifying?: string;
}) {
  const actions = !!(onRestore || onVerify);
  return (
    <table className="w-full text-left text-sm" aria-label="Backups">
      <thead className="border-b border-slate-200 text-slate-500">
        <tr>
          <th className="py-2 font-medium">Started</th>
          <th className="font-medium">Trigger</th>
          <th className="font-medium">Status</th>
          <th className="font-medium">Size</th>
          <th className="font-medium">Duration</th>
          <th className="font-medium">Verification</th>
          {actions && <th className="font-medium"><span className="sr-only">Actions</span></th>}
        </tr>
      </thead>
      <tbody>
        {backups.map((b) => (
          <tr key={b.id} data-backup={b.id} className="border-b border-slate-100 align-top">
            <td className="whitespace-nowrap py-2 pr-2" title={b.id}>{formatTime(b.started_at)}</td>
            <td className="pr-2">{b.trigger === 'schedule' ? 'scheduled' : 'manual'}</td>
            <td className="max-w-xs pr-2"><Outcome b={b} /></td>
            <td className="whitespace-nowrap pr-2">{b.status === 'succeeded' ? formatBytes(b.size_bytes) : '—'}</td>
            <td className="whitespace-nowrap pr-2">{b.status === 'running' ? 'running…' : b.duration_ms ? formatDuration(b.duration_ms) : '—'}</td>
            <td className="max-w-xs"><Verification b={b} /></td>
            {actions && (
              <td className="whitespace-nowrap pl-2 text-right">
                <div className="flex justify-end gap-2">
                  {onVerify && reverifiable(b) && (
                    <Button onClick={() => onVerify(b)} disabled={verifying === b.id}
                      title={`Restore ${b.id} in a scratch container and read it back again`}>
                      {verifying === b.id ? 'Starting…' : 'Verify again'}
                    </Button>
                  )}
                  {onRestore && restorable(b) && (
                    <Button onClick={() => onRestore(b)} title={`Restore ${b.id} into a new workload`}>Restore…</Button>
                  )}
                </div>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
