const colours: Record<string, string> = {
  running: 'bg-green-100 text-green-800',
  ready: 'bg-green-100 text-green-800',
  stopped: 'bg-slate-200 text-slate-700',
  failed: 'bg-red-100 text-red-800',
  lost: 'bg-red-100 text-red-800',
  down: 'bg-red-100 text-red-800',
  deleting: 'bg-amber-100 text-amber-800',
  draining: 'bg-amber-100 text-amber-800',
  success: 'bg-green-100 text-green-800',
  succeeded: 'bg-green-100 text-green-800',
  verified: 'bg-green-100 text-green-800',
  skipped: 'bg-slate-200 text-slate-700',
  failure: 'bg-red-100 text-red-800',
  pending: 'bg-sky-100 text-sky-800',
  used: 'bg-slate-200 text-slate-700',
  expired: 'bg-amber-100 text-amber-800',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span data-status={status} className={`inline-block rounded-full px-2 py-0.5 text-xs font-medium ${colours[status] ?? 'bg-sky-100 text-sky-800'}`}>
      {status}
    </span>
  );
}
