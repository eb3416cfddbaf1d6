// Queries and mutations for the user's backup targets; each mutation refreshes the list.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import { createTarget, deleteTarget, fetchTargets, fetchWorkloads, type BackupTargetRequest } from '../api/backupsApi';

export const useBackupTargets = () => useQuery({ queryKey: queryKeys.backupTargets, queryFn: fetchTargets });

/** The user's workloads, shared with the dashboard's cache entry (kept live by the event stream). */
export const useMyWorkloads = () => useQuery({ queryKey: queryKeys.workloads, queryFn: fetchWorkloads });

export function useCreateTarget() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: BackupTargetRequest) => createTarget(body),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.backupTargets }),
  });
}

export function useDeleteTarget() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteTarget(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.backupTargets }),
  });
}
