import { useEffect } from 'react';
import { CopyButton } from '../../../shared/components/CopyButton';
import { Dialog } from '../../../shared/components/Dialog';
import { ErrorNote, Loading } from '../../../shared/components/States';
import { formatTime } from '../../../shared/lib/format';
import { useCreateJoinToken } from '../hooks/useNodes';

export function AddNodeDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const token = useCreateJoinToken();
  const { mutate, reset } = token;
  useEffect(() => {
    if (open) mutate();
    else reset();
  }, [open, mutate, reset]);
  return (
    <Dialog title="Add a node" open={open} onClose={onClose}>
      {token.data ? (
        <div className="flex flex-col gap-3 text-sm">
          <p>Run this on the machine you want to add (it needs Docker). The token works once and expires {formatTime(token.data.expires_at)}.</p>
          <pre className="overflow-x-auto rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100" aria-label="Join command">{token.data.command}</pre>
          <CopyButton value={token.data.command} label="join command" />
        </div>
      ) : token.isError ? <ErrorNote error={token.error} /> : <Loading what="join command" />}
    </Dialog>
  );
}
