import { api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';

export type Invite = components['schemas']['Invite'];
export type InviteCreated = components['schemas']['InviteCreated'];
export type InviteRequest = { note?: string; ttl_seconds?: number };

export const fetchInvites = async () => (await unwrap(api.GET('/api/v1/invites'))).items;
export const createInvite = (body: InviteRequest) => unwrap(api.POST('/api/v1/invites', { body }));
export const deleteInvite = (id: string) =>
  unwrap(api.DELETE('/api/v1/invites/{id}', { params: { path: { id } } }));
