import { useInfiniteQuery } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import { fetchAuditPage } from '../api/auditApi';

/** The audit trail a page at a time; fetchNextPage loads older events. */
export const useAudit = () =>
  useInfiniteQuery({
    queryKey: queryKeys.audit,
    queryFn: ({ pageParam }) => fetchAuditPage(pageParam),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next_before ?? undefined,
    staleTime: 0,
  });
