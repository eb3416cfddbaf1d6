// The one typed API client: openapi-fetch over the types generated from docs/openapi.yaml
// (`npm run gen`), so a request or response the spec does not describe fails `tsc --noEmit`.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { loadSession, saveSession } from './session';

export type Problem = components['schemas']['Problem'];
export type FieldError = components['schemas']['FieldError'];

/** An API failure, carrying the RFC 9457 problem the server sent. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
  /** Field errors keyed by field path ("name", "env.KEY", "ports[0].port"). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) out[e.field] ??= e.message;
    return out;
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const s = loadSession();
    if (s) request.headers.set('Authorization', `Bearer ${s.token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or revoked token: back to the sign-in page.
    if (response.status === 401 && loadSession()) saveSession(null);
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

function toProblem(error: unknown, response: Response): Problem {
  if (error && typeof error === 'object' && 'status' in error) return error as Problem;
  return {
    type: 'urn:lattice:problem:network',
    title: response.statusText || 'Error',
    status: response.status,
    detail: `The server answered ${response.status}.`,
    instance: new URL(response.url || '/', location.origin).pathname,
  };
}

/** Unwraps an openapi-fetch result: its data, or throws ApiError. */
export async function unwrap<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok) throw new ApiError(toProblem(error, response));
  return data as T;
}

/** Headers for requests made outside the typed client (streams). */
export function authHeaders(): Record<string, string> {
  const s = loadSession();
  return s ? { Authorization: `Bearer ${s.token}` } : {};
}
