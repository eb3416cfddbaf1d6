// A node's totals (administrators): CPU (100% per core), memory against the node's total,
// network and disk, over a chosen range.
import { useState } from 'react';
import type { RangeId } from '../../shared/lib/usage';
import { UsagePanel } from './components/UsagePanel';
import { useNodeMetrics } from './hooks/useMetrics';

export function NodeMetricsSection({ nodeId, name }: { nodeId: string; name: string }) {
  const [range, setRange] = useState<RangeId>('1h');
  const query = useNodeMetrics(nodeId, range);
  return (
    <UsagePanel title={`Usage of ${name}`} query={query} range={range} onRange={setRange} limitLabel="total"
      empty="No samples in this range: the node's agent reports every 10 seconds while it is connected." />
  );
}
