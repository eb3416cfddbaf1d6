import { useState } from 'react';
import { Button } from '../../../shared/components/Button';
import { ErrorNote } from '../../../shared/components/States';
import { StatusBadge } from '../../../shared/components/StatusBadge';
import { ago, formatTime } from '../../../shared/lib/format';
import type { Channel } from '../api/notificationsApi';
import { useDeliveries, useTestChannel } from '../hooks/useNotifications';

function DeliveryLog({ id, watchUntil }: { id: string; watchUntil: number }) {
  const log = useDeliveries(id, watchUntil);
  if (log.isPending) return <p className="text-sm text-slate-500">Loading deliveries…</p>;
  if (log.isError) return <ErrorNote error={log.error} />;
  if (!log.data.length) return <p className="text-sm text-slate-500">Nothing sent yet.</p>;
  return (
    <table className="w-full text-left text-sm" aria-label={`Deliveries of ${id}`}>
      <thead className="border-b border-slate-200 text-slate-500">
        <tr><th className="py-1 font-medium">Event</th><th className="font-medium">Status</th><th className="font-medium">Attempts</th>
          <th className="font-medium">Last answer</th><th className="font-medium">When</th></tr>
      </thead>
      <tbody>
        {log.data.map((d) => (
          <tr key={d.id} className="border-b border-slate-100" data-delivery={d.id}>
            <td className="py-1">{d.kind}</td>
            <td><StatusBadge status={d.status} /></td>
            <td>{d.attempts}{d.next_attempt_at ? ` (next ${formatTime(d.next_attempt_at)})` : ''}</td>
            <td>{d.last_result || '—'}</td>
            <td title={formatTime(d.created_at)}>{ago(d.created_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One channel: where it sends, what it hears of, "Send test", and its delivery log. */
export function ChannelCard({ channel, onDelete, deleting }: {
  channel: Channel;
  onDelete: () => void;
  deleting: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [watchUntil, setWatchUntil] = useState(0);  // after "Send test": until its delivery shows
  const test = useTestChannel();
  const target = channel.url ?? channel.email ?? '';
  return (
    <li className="flex flex-col gap-2 rounded-lg border border-slate-200 bg-white p-4" data-channel={channel.id}>
      <div className="flex flex-wrap items-center gap-3">
        <span className="rounded bg-slate-100 px-2 py-0.5 text-xs font-medium uppercase">{channel.kind}</span>
        <span className="font-mono text-sm">{target}</span>
        <span className="ml-auto flex gap-2">
          <Button aria-label={`Send test to ${target}`} disabled={test.isPending}
            onClick={() => { setOpen(true); setWatchUntil(Date.now() + 15_000); test.mutate(channel.id); }}>Send test</Button>
          <Button aria-label={`Deliveries of ${target}`} aria-expanded={open} onClick={() => setOpen((o) => !o)}>
            {open ? 'Hide log' : 'Delivery log'}
          </Button>
          <Button variant="danger" aria-label={`Delete channel ${target}`} disabled={deleting} onClick={onDelete}>Delete</Button>
        </span>
      </div>
      <p className="text-xs text-slate-600">Events: {channel.events.join(', ')}</p>
      {test.isError && <ErrorNote error={test.error} />}
      {open && <DeliveryLog id={channel.id} watchUntil={watchUntil} />}
    </li>
  );
}
