import { navigate } from '../../shared/lib/router';
import { login } from './api/authApi';
import { AuthForm } from './components/AuthForm';

export function LoginPage() {
  return <AuthForm mode="login" onSubmit={async (c) => { await login(c); navigate('/', { replace: true }); }} />;
}
