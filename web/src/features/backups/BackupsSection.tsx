// The Backups tab of a PostgreSQL workload: its policy, "Back up now" (disabled, with the
// reason, when it cannot start) and its backups, refreshed while one runs or is being verified.
// "Verify again" re-checks a succeeded backup. A restore (from a backup in the list, or to a
// point in time) goes into a new workload, whose page opens once the server accepted it, or, when
// chosen and confirmed, in place over this workload's own data: then the dialog closes and this
// page stays, its status showing the restore (the same workload, restoring, then running).
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../shared/api/queryKeys';
import { ErrorNote, Loading } from '../../shared/components/States';
import { Button } from '../../shared/components/Button';
import { Link, navigate } from '../../shared/lib/router';
import type { Backup, BackupPolicy, Workload, WorkloadStreamed } from './api/backupsApi';
import { BackupsTable, restorable } from './components/BackupsTable';
import { PolicyEditor } from './components/PolicyEditor';
import { RestoreDialog } from './components/RestoreDialog';
import { earliestRestorable } from './components/restoreForm';
import { useBackupTargets } from './hooks/useBackupTargets';
import { useBackupNow, useBackupPolicy, useBackups, useDeletePolicy, usePutPolicy, useRestore, useVerifyBackup } from './hooks/useBackups';

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
  const restore = useRestore(id);
  const verify = useVerifyBackup(id);
  const qc = useQueryClient();
  // undefined: closed; null: to a point in time; a backup: from that backup.
  const [restoring, setRestoring] = useState<Backup | null | undefined>(undefined);
  // Set once an in-place restore was accepted, until the dialog opens again.
  const [restoredInPlace, setRestoredInPlace] = useState(false);
  const openRestore = (b: Backup | null) => { setRestoredInPlace(false); setRestoring(b); };
  // The dashboard's list when it is cached (not fetched for this), to suggest a free name.
  const taken = (qc.getQueryData<WorkloadStreamed[]>(queryKeys.workloads) ?? []).map((w) => w.name);
  const canRestore = !!backups.data?.some(restorable);

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

      {canRestore && (
        <div className="flex flex-wrap items-center gap-3">
          <p className="mr-auto text-sm text-slate-600">
            Restore into a new workload ({workload.name} is not changed), or replace {workload.name}'s data in place.
          </p>
          {workload.template === 'postgres' && <Button onClick={() => openRestore(null)}>Restore to a point in time…</Button>}
        </div>
      )}
      {restoredInPlace && (
        <p role="status" className="text-sm text-slate-700">
          Restoring {workload.name} in place: it restarts on the restored data, with the same name, endpoint and
          credentials, and its previous data is removed once it is running.
        </p>
      )}
      {backups.isPending ? <Loading what="backups" /> : backups.isError ? <ErrorNote error={backups.error} /> : backups.data.length ? (
        <>
          {verify.isError && <ErrorNote error={verify.error} />}
          <BackupsTable backups={backups.data} onRestore={openRestore}
            onVerify={(b) => verify.mutate(b.id)} verifying={verify.isPending ? verify.variables : undefined} />
        </>
      ) : (
        <p className="text-sm text-slate-600">No backups yet.</p>
      )}
      {restoring !== undefined && (
        <RestoreDialog source={workload.name} backup={restoring} earliest={earliestRestorable(backups.data ?? [])}
          takenNames={taken} onClose={() => setRestoring(undefined)}
          onRestore={async (r) => {
            const restored = await restore.mutateAsync(r);
            if ('in_place' in r) {
              // The same workload: stay on its page, whose header now shows it restoring.
              setRestoring(undefined);
              setRestoredInPlace(true);
            } else navigate(`/workloads/${restored.id}`);
          }} />
      )}
    </section>
  );
}
