import { useMutation, useQuery } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import { createJoinToken, fetchNodes } from '../api/nodesApi';

export const useNodes = () => useQuery({ queryKey: queryKeys.nodes, queryFn: fetchNodes });
export const useCreateJoinToken = () => useMutation({ mutationFn: createJoinToken });
