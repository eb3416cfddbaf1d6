import { useQuery } from '@tanstack/react-query';
import { queryKeys } from '../../../shared/api/queryKeys';
import { fetchAuthConfig } from '../api/authApi';

/** The server's sign-up policy; refetched on every visit to the sign-up page (it changes when
 * the first account is created). */
export const useAuthConfig = () =>
  useQuery({ queryKey: queryKeys.authConfig, queryFn: fetchAuthConfig, staleTime: 0 });
