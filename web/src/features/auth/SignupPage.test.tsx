import { screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import { fetchAuthConfig } from './api/authApi';
import { SignupPage } from './SignupPage';

vi.mock('./api/authApi', () => ({ fetchAuthConfig: vi.fn(), register: vi.fn() }));
const config = vi.mocked(fetchAuthConfig);

describe('SignupPage', () => {
  beforeEach(() => history.replaceState(null, '', '/signup'));
  afterEach(() => vi.resetAllMocks());

  it('has an invite-code field, filled from the link, when registration is by invite', async () => {
    history.replaceState(null, '', '/signup?invite=lin_xyz');
    config.mockResolvedValue({ registration: 'invite', first_account: false });
    renderWithQuery(<SignupPage />);
    const code = (await screen.findByLabelText('Invite code')) as HTMLInputElement;
    expect(code.value).toBe('lin_xyz');
  });

  it('needs no invite for the first account, and says it will be the admin', async () => {
    config.mockResolvedValue({ registration: 'invite', first_account: true });
    renderWithQuery(<SignupPage />);
    expect(await screen.findByText(/first: this account will administer the server/)).toBeTruthy();
    expect(screen.queryByLabelText('Invite code')).toBeNull();
  });

  it('has no invite field when registration is open', async () => {
    config.mockResolvedValue({ registration: 'open', first_account: false });
    renderWithQuery(<SignupPage />);
    await screen.findByRole('form', { name: 'Sign up' });
    expect(screen.queryByLabelText('Invite code')).toBeNull();
  });

  it('says registration is closed instead of showing a form', async () => {
    config.mockResolvedValue({ registration: 'closed', first_account: false });
    renderWithQuery(<SignupPage />);
    expect(await screen.findByRole('heading', { name: 'Registration is closed' })).toBeTruthy();
    expect(screen.queryByRole('form', { name: 'Sign up' })).toBeNull();
  });
});
