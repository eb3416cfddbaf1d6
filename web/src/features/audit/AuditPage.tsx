import { useState } from 'react';
import { Button } from '../../shared/components/Button';
import { ErrorNote, Loading } from '../../shared/components/States';
import { AuditTable } from './components/AuditTable';
import { useAudit } from './hooks/useAudit';

/** Administrators: who did what, when, from where, and how it ended — newest first. */
export function AuditPage() {
  const audit = useAudit();
  const [failuresOnly, setFailuresOnly] = useState(false);
  const events = (audit.data?.pages ?? []).flatMap((p) => p.items);
  const shown = failuresOnly ? events.filter((e) => e.outcome === 'failure') : events;
  return (
    <section aria-labelledby="audit-title" className="flex flex-col gap-3">
      <div className="flex items-center justify-between">
        <h1 id="audit-title" className="text-2xl font-semibold">Audit</h1>
        <div className="flex items-center gap-3">
          <label className="flex items-center gap-1 text-sm">
            <input type="checkbox" checked={failuresOnly} onChange={(e) => setFailuresOnly(e.target.checked)} />
            Failures only
          </label>
          <Button onClick={() => void audit.refetch()} disabled={audit.isFetching}>Refresh</Button>
        </div>
      </div>
      {audit.isPending ? <Loading what="audit events" /> : audit.isError ? <ErrorNote error={audit.error} /> : shown.length ? (
        <AuditTable events={shown} />
      ) : (
        <p className="text-slate-600">{failuresOnly ? 'No failures among the events loaded.' : 'Nothing has happened yet.'}</p>
      )}
      {audit.hasNextPage && (
        <div>
          <Button onClick={() => void audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>
            {audit.isFetchingNextPage ? 'Loading…' : 'Load older events'}
          </Button>
        </div>
      )}
    </section>
  );
}
