import { api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';

export type Workload = components['schemas']['Workload'];
export type WorkloadStreamed = components['schemas']['WorkloadStreamed'];
export type WorkloadRequest = components['schemas']['WorkloadRequest'];
export type WorkloadEvent = components['schemas']['WorkloadEvent'];
export type LogEntry = components['schemas']['LogEntry'];
export type EndpointProbe = components['schemas']['EndpointProbe'];
export type ProbeHistoryRow = components['schemas']['ProbeHistoryRow'];
export type WorkloadProbes = components['schemas']['WorkloadProbes'];
export type WorkloadLogs = components['schemas']['WorkloadLogs'];

const byId = (id: string) => ({ params: { path: { id } } });

export const fetchWorkloads = async () => (await unwrap(api.GET('/api/v1/workloads'))).items;
export const fetchWorkload = (id: string) => unwrap(api.GET('/api/v1/workloads/{id}', byId(id)));
export const fetchWorkloadEvents = async (id: string) =>
  (await unwrap(api.GET('/api/v1/workloads/{id}/events', byId(id)))).items;
/** Each probed endpoint's state and its last `limit` history rows of the last 6 hours. */
export const fetchWorkloadProbes = (id: string, limit = 30) =>
  unwrap(api.GET('/api/v1/workloads/{id}/probes', { params: { path: { id }, query: { since: '6h', limit } } }));
export const createWorkload = (body: WorkloadRequest) => unwrap(api.POST('/api/v1/workloads', { body }));
export const startWorkload = (id: string) => unwrap(api.POST('/api/v1/workloads/{id}/start', byId(id)));
export const stopWorkload = (id: string) => unwrap(api.POST('/api/v1/workloads/{id}/stop', byId(id)));
export const deleteWorkload = (id: string) => unwrap(api.DELETE('/api/v1/workloads/{id}', byId(id)));
/** The followed log stream, one LogEntry (JSON) per SSE message: across the workload's containers. */
export const logsUrl = (id: string, tail = 500) =>
  `/api/v1/workloads/${encodeURIComponent(id)}/logs?follow=true&format=json&tail=${tail}`;
/** The `tail` lines kept before line `before` (a seq), oldest first; `more` if older ones exist. */
export const fetchOlderLogs = async (id: string, before: number, tail = 500) =>
  (await unwrap(
    api.GET('/api/v1/workloads/{id}/logs', {
      params: { path: { id }, query: { format: 'json', before, tail } },
      parseAs: 'json',
    }),
  )) as WorkloadLogs;
