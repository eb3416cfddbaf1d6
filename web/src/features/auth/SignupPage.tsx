import { ErrorNote, Loading } from '../../shared/components/States';
import { Link, navigate } from '../../shared/lib/router';
import { register } from './api/authApi';
import { AuthForm } from './components/AuthForm';
import { useAuthConfig } from './hooks/useAuthConfig';

/** Sign-up as the server admits it: open, with an invite code (prefilled from `?invite=`), or
 * not at all — except the first account, which is always admitted. */
export function SignupPage() {
  const config = useAuthConfig();
  if (config.isPending) return <main className="mx-auto mt-24 max-w-sm"><Loading what="sign-up settings" /></main>;
  if (config.isError) return <main className="mx-auto mt-24 max-w-sm"><ErrorNote error={config.error} /></main>;
  const { registration, first_account: first } = config.data;
  if (registration === 'closed' && !first) {
    return (
      <main className="mx-auto mt-24 max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h1 className="mb-2 text-xl font-semibold">Registration is closed</h1>
        <p className="text-sm text-slate-600">This server does not accept new accounts. Ask its administrator for one.</p>
        <p className="mt-4 text-sm"><Link href="/login" className="text-indigo-600 underline">Sign in</Link></p>
      </main>
    );
  }
  const invite = registration === 'invite' && !first;
  return (
    <AuthForm
      mode="signup"
      invite={invite ? { initial: new URLSearchParams(location.search).get('invite') ?? '' } : undefined}
      note={first ? 'You are the first: this account will administer the server.' : undefined}
      onSubmit={async (c) => { await register(c); navigate('/', { replace: true }); }}
    />
  );
}
