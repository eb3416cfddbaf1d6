import { api, unwrap } from '../../../shared/api/client';
import type { MetricSeries } from '../../../shared/lib/usage';

export type { MetricSeries };

export const fetchWorkloadMetrics = (id: string, from: string): Promise<MetricSeries> =>
  unwrap(api.GET('/api/v1/workloads/{id}/metrics', { params: { path: { id }, query: { from } } }));
export const fetchNodeMetrics = (id: string, from: string): Promise<MetricSeries> =>
  unwrap(api.GET('/api/v1/nodes/{id}/metrics', { params: { path: { id }, query: { from } } }));
