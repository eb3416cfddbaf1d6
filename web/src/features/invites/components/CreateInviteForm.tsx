import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { CopyButton } from '../../../shared/components/CopyButton';
import { Field } from '../../../shared/components/Field';
import { formatTime } from '../../../shared/lib/format';
import type { InviteCreated, InviteRequest } from '../api/invitesApi';

type Created = Pick<InviteCreated, 'code' | 'note' | 'expires_at'>;

const VALIDITY = [
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
];

/** Creates an invite and shows its code — the only time the code is ever shown. */
export function CreateInviteForm({ onCreate }: { onCreate: (r: InviteRequest) => Promise<Created> }) {
  const [note, setNote] = useState('');
  const [ttl, setTtl] = useState(VALIDITY[1]!.seconds);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [created, setCreated] = useState<Created | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (note.length > 200) return setError('Keep the note under 200 characters.');
    setBusy(true);
    setError('');
    try {
      setCreated(await onCreate({ note: note.trim(), ttl_seconds: ttl }));
      setNote('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const link = created ? `${location.origin}/signup?invite=${encodeURIComponent(created.code)}` : '';
  return (
    <div className="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4">
      <form noValidate onSubmit={submit} aria-label="Create an invite" className="flex flex-wrap items-end gap-3">
        <Field label="Note" className="min-w-64 flex-1" placeholder="Who is it for?" value={note} onChange={(e) => setNote(e.target.value)} />
        <div className="flex flex-col gap-1">
          <label htmlFor="invite-validity" className="text-sm font-medium text-slate-700">Valid for</label>
          <select id="invite-validity" value={ttl} onChange={(e) => setTtl(Number(e.target.value))}
            className="rounded-md border border-slate-300 px-2 py-1.5 text-sm">
            {VALIDITY.map((v) => <option key={v.seconds} value={v.seconds}>{v.label}</option>)}
          </select>
        </div>
        <Button type="submit" variant="primary" disabled={busy}>{busy ? 'Creating…' : 'Create invite'}</Button>
      </form>
      {error && <p role="alert" className="text-sm text-red-600">{error}</p>}
      {created && (
        <div role="status" className="flex flex-col gap-2 rounded-md bg-green-50 p-3 text-sm">
          <p>
            Invite created{created.note ? ` (${created.note})` : ''}. It works once, until {formatTime(created.expires_at)}.
            Copy it now: the code is not shown again.
          </p>
          <div className="flex items-center gap-2">
            <code aria-label="Invite code" className="rounded bg-white px-2 py-1 font-mono">{created.code}</code>
            <CopyButton value={created.code} label="invite code" />
          </div>
          <div className="flex items-center gap-2">
            <code aria-label="Sign-up link" className="overflow-x-auto rounded bg-white px-2 py-1 font-mono text-xs">{link}</code>
            <CopyButton value={link} label="sign-up link" />
          </div>
        </div>
      )}
    </div>
  );
}
