import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import {
  createChannel, deleteChannel, fetchChannels, fetchDeliveries, testChannel, type ChannelRequest,
} from '../api/notificationsApi';

export const useChannels = () => useQuery({ queryKey: queryKeys.notificationChannels, queryFn: fetchChannels });

/**
 * A channel's delivery log; refreshed every 2 s while a delivery is pending, and every second
 * until `watchUntil` (ms since the epoch): a test just sent is written to the log by the
 * server's dispatcher after the 202, so the first read may not hold it yet.
 */
export const useDeliveries = (id: string, watchUntil = 0) =>
  useQuery({
    queryKey: queryKeys.notificationDeliveries(id),
    queryFn: () => fetchDeliveries(id),
    refetchInterval: (q) =>
      q.state.data?.some((d) => d.status === 'pending') ? 2000 : Date.now() < watchUntil ? 1000 : false,
  });

export function useCreateChannel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ChannelRequest) => createChannel(body),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.notificationChannels }),
  });
}

export function useDeleteChannel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteChannel(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.notificationChannels }),
  });
}

export function useTestChannel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => testChannel(id),
    onSuccess: (_d, id) => qc.invalidateQueries({ queryKey: queryKeys.notificationDeliveries(id) }),
  });
}
