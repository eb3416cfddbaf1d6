import { api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';

export type Node = components['schemas']['Node'];
export type JoinToken = components['schemas']['JoinToken'];

export const fetchNodes = async () => (await unwrap(api.GET('/api/v1/nodes'))).items;
export const createJoinToken = () => unwrap(api.POST('/api/v1/nodes/join-tokens'));
