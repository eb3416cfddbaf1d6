// Keeps the query cache live from GET /api/v1/events (fetch-streamed SSE, see shared/api/sse.ts).
import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../shared/api/queryKeys';
import type { components } from '../shared/api/schema';
import { followSse } from '../shared/api/sse';

type WorkloadStreamed = components['schemas']['WorkloadStreamed'];
type Node = components['schemas']['Node'];

export function useLiveUpdates(enabled: boolean) {
  const qc = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    const ctl = new AbortController();
    let opened = false;
    void followSse(
      '/api/v1/events',
      (m) => {
        if (m.event === 'workload') {
          const w = JSON.parse(m.data) as WorkloadStreamed;
          qc.setQueryData<WorkloadStreamed[]>(queryKeys.workloads, (old) =>
            !old ? old : old.some((x) => x.id === w.id) ? old.map((x) => (x.id === w.id ? w : x)) : [...old, w]);
          // The detail holds credentials (never broadcast) that may change when it runs.
          void qc.invalidateQueries({ queryKey: queryKeys.workload(w.id) });
        } else if (m.event === 'workload.deleted') {
          const { id } = JSON.parse(m.data) as { id: string };
          qc.setQueryData<WorkloadStreamed[]>(queryKeys.workloads, (old) => old?.filter((x) => x.id !== id));
          void qc.invalidateQueries({ queryKey: queryKeys.workload(id) });
        } else if (m.event === 'node') {
          const n = JSON.parse(m.data) as Node;
          qc.setQueryData<Node[]>(queryKeys.nodes, (old) =>
            !old ? old : old.some((x) => x.id === n.id) ? old.map((x) => (x.id === n.id ? n : x)) : [...old, n]);
        }
      },
      ctl.signal,
      {
        // After a reconnect, re-read the lists: changes may have been missed meanwhile.
        onOpen: () => {
          if (opened) void qc.invalidateQueries();
          opened = true;
        },
      },
    );
    return () => ctl.abort();
  }, [enabled, qc]);
}
