// A fake server for component tests that go through the real API client (openapi-fetch, unwrap,
// problem+json). Import it FIRST in a test file: openapi-fetch keeps the fetch and Request it
// finds when shared/api/client.ts creates the client, so they must be replaced before that.
// Node's Request needs an absolute URL; the console's are same-origin paths, resolved here.
import { vi } from 'vitest';

type Reply = { status: number; body?: unknown };
type Handler = Reply | ((body: unknown) => Reply);
export type Call = { method: string; path: string; body: unknown };

const NodeRequest = globalThis.Request;
globalThis.Request = class extends NodeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === 'string' && input.startsWith('/') ? new URL(input, 'http://console.test') : input, init);
  }
} as typeof Request;

let routes = new Map<string, Handler[]>();
export const calls: Call[] = [];

/** Answers `METHOD /path` with each reply in turn, repeating the last one. */
export function route(key: string, ...replies: Handler[]): void {
  routes.set(key, replies);
}

export function resetRoutes(): void {
  routes = new Map();
  calls.length = 0;
}

/** An RFC 9457 problem, as the server sends it. */
export function problem(status: number, detail: string, errors?: { field: string; message: string }[]): Reply {
  const title = status === 409 ? 'Conflict' : status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Error';
  const type = status === 409 ? 'urn:lattice:problem:conflict' : status === 404 ? 'urn:lattice:problem:not-found' : 'urn:lattice:problem:invalid';
  return { status, body: { type, title, status, detail, instance: '/api', ...(errors ? { errors } : {}) } };
}

export const fetchMock = vi.fn(async (req: Request) => {
  const path = new URL(req.url).pathname;
  const text = await req.text();
  const body = text ? JSON.parse(text) : undefined;
  calls.push({ method: req.method, path, body });
  const list = routes.get(`${req.method} ${path}`);
  if (!list) return new Response(JSON.stringify(problem(404, `no route ${req.method} ${path}`).body), { status: 404 });
  const h = list.length > 1 ? list.shift()! : list[0]!;
  const r = typeof h === 'function' ? h(body) : h;
  if (r.status === 204) return new Response(null, { status: 204 });
  const ct = r.status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(JSON.stringify(r.body ?? {}), { status: r.status, headers: { 'Content-Type': ct } });
});
globalThis.fetch = fetchMock as unknown as typeof fetch;
