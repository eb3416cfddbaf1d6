import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import {
  createWorkload, deleteWorkload, fetchWorkload, fetchWorkloadEvents, fetchWorkloadProbes, fetchWorkloads,
  startWorkload, stopWorkload, type WorkloadRequest,
} from '../api/workloadsApi';

export const useWorkloads = () => useQuery({ queryKey: queryKeys.workloads, queryFn: fetchWorkloads });

export const useWorkload = (id: string) =>
  useQuery({ queryKey: queryKeys.workload(id), queryFn: () => fetchWorkload(id), retry: false });

/** Probe states change without a workload event on the stream: poll while any endpoint is probed. */
export const useWorkloadProbes = (id: string, enabled: boolean) =>
  useQuery({
    queryKey: queryKeys.workloadProbes(id),
    queryFn: () => fetchWorkloadProbes(id),
    enabled,
    refetchInterval: 10_000,
  });

export const useWorkloadEvents = (id: string) =>
  useQuery({ queryKey: queryKeys.workloadEvents(id), queryFn: () => fetchWorkloadEvents(id) });

export function useDeploy() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: WorkloadRequest) => createWorkload(body),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.workloads }),
  });
}

export function useWorkloadAction(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (action: 'start' | 'stop' | 'delete') =>
      action === 'start' ? startWorkload(id) : action === 'stop' ? stopWorkload(id) : deleteWorkload(id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: queryKeys.workload(id) });
      void qc.invalidateQueries({ queryKey: queryKeys.workloads, exact: true });
    },
  });
}
