import { useState, type ReactNode } from 'react';
import { Button } from '../../shared/components/Button';
import { ErrorNote, Loading } from '../../shared/components/States';
import { StatusBadge } from '../../shared/components/StatusBadge';
import { ago } from '../../shared/lib/format';
import { AddNodeDialog } from './components/AddNodeDialog';
import type { Node } from './api/nodesApi';
import { useNodes } from './hooks/useNodes';

/** `details`: what the app shows for the chosen node under the table (its usage charts, for
 *  administrators), so that this feature imports no other feature. */
export function NodesPage({ isAdmin, details }: { isAdmin: boolean; details?: (node: Node) => ReactNode }) {
  const nodes = useNodes();
  const [adding, setAdding] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  const shown = nodes.data?.find((n) => n.id === chosen) ?? nodes.data?.[0];
  return (
    <section aria-labelledby="nodes-title" className="flex flex-col gap-3">
      <div className="flex items-center justify-between">
        <h1 id="nodes-title" className="text-2xl font-semibold">Nodes</h1>
        {isAdmin && <Button variant="primary" onClick={() => setAdding(true)}>Add a node</Button>}
      </div>
      {nodes.isPending ? <Loading what="nodes" /> : nodes.isError ? <ErrorNote error={nodes.error} /> : nodes.data.length ? (
        <table className="w-full text-left text-sm" aria-label="Nodes">
          <thead className="border-b border-slate-200 text-slate-500">
            <tr><th className="py-2 font-medium">Name</th><th className="font-medium">Status</th><th className="font-medium">CPUs</th>
              <th className="font-medium">Memory</th><th className="font-medium">Disk</th><th className="font-medium">Agent</th><th className="font-medium">Last heartbeat</th></tr>
          </thead>
          <tbody>
            {nodes.data.map((n) => (
              <tr key={n.id} className="border-b border-slate-100" aria-selected={details ? n.id === shown?.id : undefined}>
                <td className="py-2 font-medium">
                  {details ? (
                    <button type="button" onClick={() => setChosen(n.id)} className={`underline-offset-2 hover:underline ${n.id === shown?.id ? 'text-indigo-700' : ''}`}>{n.name}</button>
                  ) : n.name}
                </td>
                <td><StatusBadge status={n.status} /></td>
                <td>{n.cpus}</td>
                <td>{(n.memory_mb / 1024).toFixed(1)} GB</td>
                <td>{(n.disk_mb / 1024).toFixed(0)} GB</td>
                <td>{n.agent_version}</td>
                <td>{ago(n.last_heartbeat)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="text-slate-600">No nodes have joined yet.{isAdmin ? ' Add one to start deploying.' : ' Ask an administrator to add one.'}</p>
      )}
      {details && shown && <div key={shown.id}>{details(shown)}</div>}
      {isAdmin && <AddNodeDialog open={adding} onClose={() => setAdding(false)} />}
    </section>
  );
}
