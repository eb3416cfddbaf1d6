import { ApiError } from '../api/client';

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="p-4 text-sm text-slate-500">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const msg = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" className="rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-700">
      {msg}
    </p>
  );
}
