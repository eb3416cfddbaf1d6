import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../shared/api/client';
import { Button } from '../../../shared/components/Button';
import { Field } from '../../../shared/components/Field';
import { Link } from '../../../shared/lib/router';

/**
 * Sign-in and sign-up share one form; the server's field errors land next to the field.
 * `invite` adds the invite-code field a server with invite-only registration needs.
 */
export function AuthForm({ mode, onSubmit, invite, note }: {
  mode: 'login' | 'signup';
  onSubmit: (c: { email: string; password: string; invite?: string }) => Promise<unknown>;
  invite?: { initial: string };
  note?: string;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState(invite?.initial ?? '');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const signup = mode === 'signup';

  async function submit(e: FormEvent) {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!email.includes('@')) local.email = 'Enter an email address.';
    if (signup && password.length < 10) local.password = 'Use at least 10 characters.';
    if (!password) local.password = 'Enter your password.';
    if (invite && !code.trim()) local.invite = 'Enter the invite code you were given.';
    setErrors(local);
    setFormError('');
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await onSubmit(invite ? { email, password, invite: code.trim() } : { email, password });
    } catch (err) {
      if (err instanceof ApiError && err.problem.errors?.length) {
        const fields = err.fieldErrors();
        setErrors(fields);
        // A field this form does not show (the server became invite-only meanwhile): say so.
        const shown = ['email', 'password', ...(invite ? ['invite'] : [])];
        if (Object.keys(fields).some((f) => !shown.includes(f))) setFormError(err.message);
      } else setFormError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-4 text-xl font-semibold">{signup ? 'Create your Lattice account' : 'Sign in to Lattice'}</h1>
      {note && <p className="mb-3 text-sm text-slate-600">{note}</p>}
      <form noValidate onSubmit={submit} className="flex flex-col gap-3" aria-label={signup ? 'Sign up' : 'Sign in'}>
        <Field label="Email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
        <Field
          label="Password"
          type="password"
          autoComplete={signup ? 'new-password' : 'current-password'}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          hint={signup ? 'At least 10 characters.' : undefined}
        />
        {invite && (
          <Field
            label="Invite code"
            autoComplete="off"
            spellCheck={false}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={errors.invite}
            hint="This server is invite-only: use the code an administrator gave you."
          />
        )}
        {formError && (
          <p role="alert" className="text-sm text-red-600">
            {formError}
          </p>
        )}
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Please wait…' : signup ? 'Sign up' : 'Sign in'}
        </Button>
      </form>
      <p className="mt-4 text-sm text-slate-600">
        {signup ? 'Already have an account? ' : 'New here? '}
        <Link href={signup ? '/login' : '/signup'} className="text-indigo-600 underline">
          {signup ? 'Sign in' : 'Create an account'}
        </Link>
      </p>
    </main>
  );
}
