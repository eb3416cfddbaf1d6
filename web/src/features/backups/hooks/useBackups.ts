// A workload's backup policy and backups. The server publishes no backup events on the SSE
// stream, so the list polls every POLL_MS while a backup runs or a verification is pending,
// and stops polling once everything has settled.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import {
  deletePolicy, fetchBackups, fetchPolicy, putPolicy, restoreWorkload, startBackup, verifyBackup, type Backup, type BackupPolicyRequest,
  type RestoreRequest,
} from '../api/backupsApi';

export const POLL_MS = 3000;

/** True while the server still has work to do on this backup (the run, or its verification). */
export const inProgress = (b: Backup) =>
  b.status === 'running' || (b.status === 'succeeded' && b.verification.status === 'pending');

export const useBackupPolicy = (workloadId: string) =>
  useQuery({ queryKey: queryKeys.backupPolicy(workloadId), queryFn: () => fetchPolicy(workloadId) });

export function useBackups(workloadId: string) {
  const qc = useQueryClient();
  return useQuery({
    queryKey: queryKeys.backups(workloadId),
    queryFn: async () => {
      const items = await fetchBackups(workloadId);
      // A backup that settled wrote a line on the workload's timeline.
      const before = qc.getQueryData<Backup[]>(queryKeys.backups(workloadId));
      if (before?.some((b) => inProgress(b) && !items.some((n) => n.id === b.id && inProgress(n))))
        void qc.invalidateQueries({ queryKey: queryKeys.workloadEvents(workloadId) });
      return items;
    },
    refetchInterval: (q) => (q.state.data?.some(inProgress) ? POLL_MS : false),
  });
}

export function usePutPolicy(workloadId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: BackupPolicyRequest) => putPolicy(workloadId, body),
    onSuccess: (p) => qc.setQueryData(queryKeys.backupPolicy(workloadId), p),
  });
}

export function useDeletePolicy(workloadId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => deletePolicy(workloadId),
    onSuccess: () => qc.setQueryData(queryKeys.backupPolicy(workloadId), null),
  });
}

export function useBackupNow(workloadId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => startBackup(workloadId),
    onSuccess: (b) => {
      qc.setQueryData<Backup[]>(queryKeys.backups(workloadId), (old) => [b, ...(old ?? []).filter((x) => x.id !== b.id)]);
      void qc.invalidateQueries({ queryKey: queryKeys.backups(workloadId) });
    },
  });
}

/** "Verify again": the answered backup (verification pending) replaces its row, and polling resumes. */
export function useVerifyBackup(workloadId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (backupId: string) => verifyBackup(workloadId, backupId),
    onSuccess: (b) => {
      qc.setQueryData<Backup[]>(queryKeys.backups(workloadId), (old) => (old ?? []).map((x) => (x.id === b.id ? b : x)));
      void qc.invalidateQueries({ queryKey: queryKeys.backups(workloadId) });
    },
  });
}

/**
 * Restores into a new workload, or in place. The answer is the restored workload (the new one,
 * or in place the source itself; `scheduled`/`creating`, restoring): it is cached so its page
 * opens (or the source's page shows the restore) at once, and the dashboard and the source's
 * timeline are refreshed.
 */
export function useRestore(workloadId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: RestoreRequest) => restoreWorkload(workloadId, body),
    onSuccess: (w) => {
      qc.setQueryData(queryKeys.workload(w.id), w);
      void qc.invalidateQueries({ queryKey: queryKeys.workloads, exact: true });
      void qc.invalidateQueries({ queryKey: queryKeys.workloadEvents(workloadId) });
    },
  });
}
