import { Button } from '../../../shared/components/Button';
import { Dialog } from '../../../shared/components/Dialog';

export function ConfirmDialog({ open, title, body, confirm, onConfirm, onClose }: {
  open: boolean; title: string; body: string; confirm: string; onConfirm: () => void; onClose: () => void;
}) {
  return (
    <Dialog title={title} open={open} onClose={onClose}>
      <p className="mb-4 text-sm">{body}</p>
      <div className="flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="danger" onClick={() => { onConfirm(); onClose(); }}>{confirm}</Button>
      </div>
    </Dialog>
  );
}
