import { useQuery } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import { RANGES, type RangeId } from '../../../shared/lib/usage';
import { fetchNodeMetrics, fetchWorkloadMetrics } from '../api/metricsApi';

/** Agents sample every 10 s: the charts refresh as often. */
export const METRICS_POLL_MS = 10_000;

const fromOf = (range: RangeId) => RANGES.find((r) => r.id === range)!.from;

export const useWorkloadMetrics = (id: string, range: RangeId) =>
  useQuery({
    queryKey: queryKeys.workloadMetrics(id, range),
    queryFn: () => fetchWorkloadMetrics(id, fromOf(range)),
    refetchInterval: METRICS_POLL_MS,
  });

export const useNodeMetrics = (id: string, range: RangeId) =>
  useQuery({
    queryKey: queryKeys.nodeMetrics(id, range),
    queryFn: () => fetchNodeMetrics(id, fromOf(range)),
    refetchInterval: METRICS_POLL_MS,
  });
