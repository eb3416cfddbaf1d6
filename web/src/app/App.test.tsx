import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchAuthConfig } from '../features/auth/api/authApi';
import { App } from './App';

vi.mock('../features/auth/api/authApi', () => ({
  fetchAuthConfig: vi.fn(), register: vi.fn(), login: vi.fn(), logout: vi.fn(),
}));

describe('App', () => {
  afterEach(() => vi.resetAllMocks());

  it('shows the sign-up form when /signup is opened directly (an invite link)', async () => {
    history.replaceState(null, '', '/signup?invite=lin_abc');
    vi.mocked(fetchAuthConfig).mockResolvedValue({ registration: 'invite', first_account: false });
    render(<App />);
    expect(((await screen.findByLabelText('Invite code')) as HTMLInputElement).value).toBe('lin_abc');
    expect(screen.getByLabelText('Email')).toBeTruthy();
  });
});
