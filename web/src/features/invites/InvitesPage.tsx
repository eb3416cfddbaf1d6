import { ErrorNote, Loading } from '../../shared/components/States';
import { CreateInviteForm } from './components/CreateInviteForm';
import { InvitesTable } from './components/InvitesTable';
import { useCreateInvite, useDeleteInvite, useInvites } from './hooks/useInvites';

/** Administrators: sign-up invites for a server whose registration is by invite. */
export function InvitesPage() {
  const invites = useInvites();
  const create = useCreateInvite();
  const remove = useDeleteInvite();
  return (
    <section aria-labelledby="invites-title" className="flex flex-col gap-4">
      <div>
        <h1 id="invites-title" className="text-2xl font-semibold">Invites</h1>
        <p className="text-sm text-slate-600">Each invite lets one person create an account, once, before it expires.</p>
      </div>
      <CreateInviteForm onCreate={(r) => create.mutateAsync(r)} />
      {remove.isError && <ErrorNote error={remove.error} />}
      {invites.isPending ? <Loading what="invites" /> : invites.isError ? <ErrorNote error={invites.error} /> : invites.data.length ? (
        <InvitesTable invites={invites.data} deleting={remove.isPending ? remove.variables : undefined}
          onDelete={(i) => remove.mutate(i.id)} />
      ) : (
        <p className="text-slate-600">No invites yet.</p>
      )}
    </section>
  );
}
