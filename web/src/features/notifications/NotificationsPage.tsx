import { ErrorNote, Loading } from '../../shared/components/States';
import { AddChannelForm } from './components/AddChannelForm';
import { ChannelCard } from './components/ChannelCard';
import { useChannels, useCreateChannel, useDeleteChannel } from './hooks/useNotifications';

/** Webhooks and e-mail addresses that hear when something breaks (docs/notifications.md). */
export function NotificationsPage({ isAdmin }: { isAdmin: boolean }) {
  const channels = useChannels();
  const create = useCreateChannel();
  const remove = useDeleteChannel();
  return (
    <section aria-labelledby="notifications-title" className="flex flex-col gap-4">
      <div>
        <h1 id="notifications-title" className="text-2xl font-semibold">Notifications</h1>
        <p className="text-sm text-slate-600">
          Hear when a workload fails or is lost, a backup fails, a quota is nearly used{isAdmin ? ', or a node goes down' : ''}.
          Webhooks receive signed JSON and are retried; every delivery is logged.
        </p>
      </div>
      <AddChannelForm isAdmin={isAdmin} emailAvailable={channels.data?.email_available ?? false}
        onCreate={(r) => create.mutateAsync(r)} />
      {remove.isError && <ErrorNote error={remove.error} />}
      {channels.isPending ? <Loading what="channels" /> : channels.isError ? <ErrorNote error={channels.error} /> : channels.data.items.length ? (
        <ul aria-label="Channels" className="flex flex-col gap-3">
          {channels.data.items.map((c) => (
            <ChannelCard key={c.id} channel={c} deleting={remove.isPending && remove.variables === c.id}
              onDelete={() => remove.mutate(c.id)} />
          ))}
        </ul>
      ) : (
        <p className="text-slate-600">No channels yet.</p>
      )}
    </section>
  );
}
