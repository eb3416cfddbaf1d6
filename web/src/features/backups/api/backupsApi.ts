// Typed fetchers for backup targets, a workload's backup policy and its backups (issue 19).
// Every call goes through the one generated client; failures throw ApiError (problem+json).
import { ApiError, api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';

export type BackupTarget = components['schemas']['BackupTarget'];
export type BackupTargetRequest = components['schemas']['BackupTargetRequest'];
export type BackupPolicy = components['schemas']['BackupPolicy'];
export type BackupPolicyRequest = components['schemas']['BackupPolicyRequest'];
export type Backup = components['schemas']['Backup'];
export type RestoreRequest = components['schemas']['RestoreRequest'];
export type Workload = components['schemas']['Workload'];
export type WorkloadStreamed = components['schemas']['WorkloadStreamed'];

const byId = (id: string) => ({ params: { path: { id } } });

export const fetchTargets = async () => (await unwrap(api.GET('/api/v1/backup-targets'))).items;
export const createTarget = (body: BackupTargetRequest) => unwrap(api.POST('/api/v1/backup-targets', { body }));
export const deleteTarget = (id: string) => unwrap(api.DELETE('/api/v1/backup-targets/{id}', byId(id)));

/** The workload's policy, or null when it has none (the server answers 404). */
export async function fetchPolicy(workloadId: string): Promise<BackupPolicy | null> {
  try {
    return await unwrap(api.GET('/api/v1/workloads/{id}/backup-policy', byId(workloadId)));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}
export const putPolicy = (workloadId: string, body: BackupPolicyRequest) =>
  unwrap(api.PUT('/api/v1/workloads/{id}/backup-policy', { ...byId(workloadId), body }));
export const deletePolicy = (workloadId: string) =>
  unwrap(api.DELETE('/api/v1/workloads/{id}/backup-policy', byId(workloadId)));

export const fetchBackups = async (workloadId: string) =>
  (await unwrap(api.GET('/api/v1/workloads/{id}/backups', byId(workloadId)))).items;
export const startBackup = (workloadId: string) =>
  unwrap(api.POST('/api/v1/workloads/{id}/backups', byId(workloadId)));

/**
 * Verifies a succeeded backup again (restores it in a scratch container and reads it back);
 * answers the backup with its verification pending (202), 409 if it did not succeed or is
 * being verified.
 */
export const verifyBackup = (workloadId: string, backupId: string) =>
  unwrap(api.POST('/api/v1/workloads/{id}/backups/{backup_id}/verify', {
    params: { path: { id: workloadId, backup_id: backupId } },
  }));

/**
 * Restores one of the workload's backups into a NEW workload and answers it (202), or, with
 * `in_place` and `confirm` repeating the workload's name, over the workload's own data and
 * answers the same workload, restoring.
 */
export const restoreWorkload = (workloadId: string, body: RestoreRequest) =>
  unwrap(api.POST('/api/v1/workloads/{id}/restore', { ...byId(workloadId), body }));

/** The user's workloads (same list and cache entry as the dashboard), to pick S3 targets from. */
export const fetchWorkloads = async () => (await unwrap(api.GET('/api/v1/workloads'))).items;
