import { api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';

export type AuditEvent = components['schemas']['AuditEvent'];
export type AuditPage = components['schemas']['AuditPage'];

export const PAGE_SIZE = 50;

/** One page of the audit trail, newest first; `before` pages back. */
export const fetchAuditPage = (before?: number) =>
  unwrap(api.GET('/api/v1/audit', { params: { query: before ? { limit: PAGE_SIZE, before } : { limit: PAGE_SIZE } } }));
