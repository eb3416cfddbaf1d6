import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import { createInvite, deleteInvite, fetchInvites, type InviteRequest } from '../api/invitesApi';

export const useInvites = () => useQuery({ queryKey: queryKeys.invites, queryFn: fetchInvites });

export function useCreateInvite() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: InviteRequest) => createInvite(body),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.invites }),
  });
}

export function useDeleteInvite() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => deleteInvite(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.invites }),
  });
}
