import { api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';
import { saveSession, type Session } from '../../../shared/api/session';

type Credentials = { email: string; password: string };
export type SignUp = Credentials & { invite?: string };
export type AuthConfig = components['schemas']['AuthConfig'];

function toSession(r: { token: string; user: Session['user']; expires_at: string }): Session {
  return { token: r.token, user: r.user, expiresAt: r.expires_at };
}

/** How this server admits sign-ups (public). */
export const fetchAuthConfig = () => unwrap(api.GET('/api/v1/auth/config'));

export async function register({ invite, ...rest }: SignUp): Promise<Session> {
  const body = invite ? { ...rest, invite } : rest;
  const s = toSession(await unwrap(api.POST('/api/v1/auth/register', { body })));
  saveSession(s);
  return s;
}

export async function login(body: Credentials): Promise<Session> {
  const s = toSession(await unwrap(api.POST('/api/v1/auth/login', { body })));
  saveSession(s);
  return s;
}

export async function logout(): Promise<void> {
  try {
    await api.POST('/api/v1/auth/logout');
  } finally {
    saveSession(null);
  }
}
