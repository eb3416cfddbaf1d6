import { Button } from '../../../shared/components/Button';
import { StatusBadge } from '../../../shared/components/StatusBadge';
import { ago, formatTime } from '../../../shared/lib/format';
import type { Invite } from '../api/invitesApi';

export function InvitesTable({ invites, onDelete, deleting }: {
  invites: Invite[];
  onDelete: (invite: Invite) => void;
  deleting?: string;
}) {
  return (
    <table className="w-full text-left text-sm" aria-label="Invites">
      <thead className="border-b border-slate-200 text-slate-500">
        <tr><th className="py-2 font-medium">Note</th><th className="font-medium">Status</th><th className="font-medium">Used by</th>
          <th className="font-medium">Created</th><th className="font-medium">Expires</th><th><span className="sr-only">Actions</span></th></tr>
      </thead>
      <tbody>
        {invites.map((i) => (
          <tr key={i.id} className="border-b border-slate-100" data-invite={i.id}>
            <td className="py-2">{i.note || <span className="text-slate-400">{i.id}</span>}</td>
            <td><StatusBadge status={i.status} /></td>
            <td>{i.used_by?.email ?? '—'}</td>
            <td title={formatTime(i.created_at)}>{ago(i.created_at)}{i.created_by ? ` by ${i.created_by.email}` : ''}</td>
            <td>{i.status === 'used' ? '—' : formatTime(i.expires_at)}</td>
            <td className="text-right">
              <Button variant="secondary" disabled={deleting === i.id} aria-label={`Delete invite ${i.note || i.id}`} onClick={() => onDelete(i)}>
                Delete
              </Button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
