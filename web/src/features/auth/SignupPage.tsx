import { navigate } from '../../shared/lib/router';
import { register } from './api/authApi';
import { AuthForm } from './components/AuthForm';

export function SignupPage() {
  return <AuthForm mode="signup" onSubmit={async (c) => { await register(c); navigate('/', { replace: true }); }} />;
}
