import { useState } from 'react';
import { Button } from '../../../shared/components/Button';
import { CopyButton } from '../../../shared/components/CopyButton';

const LABELS: Record<string, string> = {
  connection_string: 'Connection string', username: 'Username', password: 'Password', database: 'Database',
  access_key: 'Access key', secret_key: 'Secret key', endpoint: 'Endpoint',
};
const SECRET = /password|secret|connection_string/;

/** Credentials, secrets masked until the owner reveals them; each value has a copy button. */
export function CredentialsPanel({ credentials }: { credentials: Record<string, string> }) {
  const [revealed, setRevealed] = useState(false);
  const entries = Object.entries(credentials).sort(([a], [b]) => (a === 'connection_string' ? -1 : b === 'connection_string' ? 1 : a.localeCompare(b)));
  if (!entries.length) return <p className="text-sm text-slate-500">This workload has no credentials.</p>;
  return (
    <section aria-labelledby="creds-title" className="flex flex-col gap-2">
      <div className="flex items-center justify-between">
        <h2 id="creds-title" className="text-base font-semibold">Credentials</h2>
        <Button onClick={() => setRevealed((r) => !r)} aria-pressed={revealed}>
          {revealed ? 'Hide credentials' : 'Reveal credentials'}
        </Button>
      </div>
      <dl className="grid grid-cols-[max-content_1fr_max-content] items-center gap-x-3 gap-y-2 text-sm">
        {entries.map(([k, v]) => {
          const hidden = !revealed && SECRET.test(k);
          return (
            <div key={k} className="contents">
              <dt className="text-slate-500">{LABELS[k] ?? k}</dt>
              <dd className="break-all font-mono text-xs" data-credential={k} aria-label={LABELS[k] ?? k}>
                {hidden ? '••••••••••••' : v}
              </dd>
              <dd><CopyButton value={v} label={LABELS[k] ?? k} /></dd>
            </div>
          );
        })}
      </dl>
    </section>
  );
}
