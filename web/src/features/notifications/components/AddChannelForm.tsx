import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { CopyButton } from '../../../shared/components/CopyButton';
import { Field } from '../../../shared/components/Field';
import type { AlertKind, ChannelCreated, ChannelRequest } from '../api/notificationsApi';

const USER_KINDS: AlertKind[] = [
  'workload.failed', 'workload.lost', 'workload.recovered', 'endpoint.unreachable', 'endpoint.reachable',
  'backup.failed', 'backup.not-verified', 'quota.nearly-used',
];
const ADMIN_KINDS: AlertKind[] = ['node.down', 'node.up'];

/** Adds a webhook or e-mail channel; a webhook's signing secret is shown here, once. */
export function AddChannelForm({ isAdmin, emailAvailable, onCreate }: {
  isAdmin: boolean;
  emailAvailable: boolean;
  onCreate: (r: ChannelRequest) => Promise<ChannelCreated>;
}) {
  const kinds = isAdmin ? [...USER_KINDS, ...ADMIN_KINDS] : USER_KINDS;
  const [kind, setKind] = useState<'webhook' | 'email'>('webhook');
  const [target, setTarget] = useState('');
  const [events, setEvents] = useState<Set<AlertKind>>(new Set(kinds));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [created, setCreated] = useState<ChannelCreated | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const value = target.trim();
    if (kind === 'webhook' && !/^https?:\/\/./.test(value)) return setError('Enter an http:// or https:// URL.');
    if (kind === 'email' && !/^[^@\s]+@[^@\s]+$/.test(value)) return setError('Enter an e-mail address.');
    if (events.size === 0) return setError('Pick at least one event.');
    setBusy(true);
    setError('');
    try {
      const body: ChannelRequest = kind === 'webhook' ? { kind, url: value } : { kind, email: value };
      if (events.size !== kinds.length) body.events = kinds.filter((k) => events.has(k));
      setCreated(await onCreate(body));
      setTarget('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const toggle = (k: AlertKind) =>
    setEvents((s) => { const n = new Set(s); if (n.has(k)) n.delete(k); else n.add(k); return n; });

  return (
    <div className="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4">
      <form noValidate onSubmit={submit} aria-label="Add a channel" className="flex flex-col gap-3">
        <div className="flex flex-wrap items-end gap-3">
          <div className="flex flex-col gap-1">
            <label htmlFor="channel-kind" className="text-sm font-medium text-slate-700">Channel</label>
            <select id="channel-kind" value={kind} onChange={(e) => setKind(e.target.value as 'webhook' | 'email')}
              className="rounded-md border border-slate-300 px-2 py-1.5 text-sm">
              <option value="webhook">Webhook</option>
              <option value="email" disabled={!emailAvailable}>E-mail{emailAvailable ? '' : ' (not configured on this server)'}</option>
            </select>
          </div>
          <Field label={kind === 'webhook' ? 'URL' : 'E-mail address'} className="min-w-72 flex-1"
            placeholder={kind === 'webhook' ? 'https://hooks.example.com/lattice' : 'ops@example.com'}
            value={target} onChange={(e) => setTarget(e.target.value)} />
          <Button type="submit" variant="primary" disabled={busy}>{busy ? 'Adding…' : 'Add channel'}</Button>
        </div>
        <fieldset className="flex flex-wrap gap-x-4 gap-y-1 text-sm">
          <legend className="mb-1 font-medium text-slate-700">Events</legend>
          {kinds.map((k) => (
            <label key={k} className="flex items-center gap-1">
              <input type="checkbox" checked={events.has(k)} onChange={() => toggle(k)} /> {k}
            </label>
          ))}
        </fieldset>
      </form>
      {error && <p role="alert" className="text-sm text-red-600">{error}</p>}
      {created && (
        <div role="status" className="flex flex-col gap-2 rounded-md bg-green-50 p-3 text-sm">
          <p>Channel added: {created.url ?? created.email}.</p>
          {created.secret && (
            <>
              <p>Copy the signing secret now: it is not shown again. Receivers check each request's
                X-Lattice-Signature with it (docs/notifications.md).</p>
              <div className="flex items-center gap-2">
                <code aria-label="Signing secret" className="rounded bg-white px-2 py-1 font-mono">{created.secret}</code>
                <CopyButton value={created.secret} label="signing secret" />
              </div>
            </>
          )}
        </div>
      )}
    </div>
  );
}
