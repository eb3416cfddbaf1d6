// The Backups tab of a PostgreSQL workload: its policy, "Back up now" (disabled, with the
// reason, when it cannot start) and its backups, refreshed while one runs or is being verified.
import { ErrorNote, Loading } from '../../shared/components/States';
import { Button } from '../../shared/components/Button';
import { Link } from '../../shared/lib/router';
import type { Backup, BackupPolicy, Workload } from './api/backupsApi';
import { BackupsTable } from './components/BackupsTable';
import { PolicyEditor } from './components/PolicyEditor';
import { useBackupTargets } from './hooks/useBackupTargets';
import { useBackupNow, useBackupPolicy, useBackups, useDeletePolicy, usePutPolicy } from './hooks/useBackups';

/** Why "Back up now" cannot start, or '' when it can (the server checks again and may refuse). */
export function backupNowBlocker(w: Workload, policy: BackupPolicy | null | undefined, backups: Backup[] | undefined): string {
  const running = backups?.find((b) => b.status === 'running');
  if (running) return `A backup is running (started ${new Date(running.started_at).toLocaleTimeString()}).`;
  if (!policy) return 'Set a policy (where the backups go) first.';
  if (w.status !== 'running') return 'The database is not running.';
  return '';
}

export function BackupsSection({ workload }: { workload: Workload }) {
  const id = workload.id;
  const policy = useBackupPolicy(id);
  const targets = useBackupTargets();
  const backups = useBackups(id);
  const put = usePutPolicy(id);
  const remove = useDeletePolicy(id);
  const now = useBackupNow(id);

  const blocker = backupNowBlocker(workload, policy.data, backups.data);
  return (
    <section aria-labelledby="backups-title" className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-3">
        <h2 id="backups-title" className="mr-auto text-base font-semibold">Backups</h2>
        {blocker && <span id="backup-now-blocker" className="text-sm text-slate-500">{blocker}</span>}
        <Button variant="primary" onClick={() => now.mutate()} disabled={!!blocker || now.isPending || policy.isPending}
          aria-describedby={blocker ? 'backup-now-blocker' : undefined}>
          {now.isPending ? 'Starting…' : 'Back up now'}
        </Button>
      </div>
      {now.isError && <ErrorNote error={now.error} />}

      {policy.isPending || targets.isPending ? <Loading what="backup policy" />
        : policy.isError ? <ErrorNote error={policy.error} />
          : targets.isError ? <ErrorNote error={targets.error} /> : (
            <>
              {!targets.data.length && (
                <p className="text-sm text-slate-600">
                  You have no backup targets yet. <Link href="/backup-targets" className="text-indigo-700 underline">Add one</Link>{' '}
                  (one of your S3 workloads or any S3 endpoint), then choose it here.
                </p>
              )}
              <PolicyEditor policy={policy.data} targets={targets.data}
                onSave={(r) => put.mutateAsync(r)} onRemove={() => remove.mutateAsync()} />
            </>
          )}

      {backups.isPending ? <Loading what="backups" /> : backups.isError ? <ErrorNote error={backups.error} /> : backups.data.length ? (
        <BackupsTable backups={backups.data} />
      ) : (
        <p className="text-sm text-slate-600">No backups yet.</p>
      )}
    </section>
  );
}
