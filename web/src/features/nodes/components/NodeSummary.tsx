import { Link } from '../../../shared/lib/router';
import { useNodes } from '../hooks/useNodes';

/** "2 nodes, 2 ready" for the dashboard. */
export function NodeSummary() {
  const nodes = useNodes();
  if (!nodes.data) return null;
  const ready = nodes.data.filter((n) => n.status === 'ready').length;
  const total = nodes.data.length;
  return (
    <Link href="/nodes" aria-label={`Nodes: ${total} total, ${ready} ready`}
      className={`rounded-md border px-3 py-2 text-sm ${ready === total && total > 0 ? 'border-green-200 bg-green-50 text-green-800' : 'border-amber-200 bg-amber-50 text-amber-800'}`}>
      {total} {total === 1 ? 'node' : 'nodes'} · {ready} ready
    </Link>
  );
}
