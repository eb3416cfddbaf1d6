// A workload's Metrics tab: its CPU, memory against its limit, network and disk over a chosen
// range, refreshed as the node samples.
import { useState } from 'react';
import type { components } from '../../shared/api/schema';
import type { RangeId } from '../../shared/lib/usage';
import { UsagePanel } from './components/UsagePanel';
import { useWorkloadMetrics } from './hooks/useMetrics';

type Workload = components['schemas']['Workload'];

export function WorkloadMetricsSection({ workload }: { workload: Workload }) {
  const [range, setRange] = useState<RangeId>('1h');
  const query = useWorkloadMetrics(workload.id, range);
  const running = workload.status === 'running';
  return (
    <UsagePanel title="Resource usage" query={query} range={range} onRange={setRange}
      empty={running ? 'No samples yet: the node reports every 10 seconds.' : 'No samples in this range: the workload is sampled while it runs.'} />
  );
}
