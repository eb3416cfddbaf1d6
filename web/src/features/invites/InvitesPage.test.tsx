import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import { createInvite, deleteInvite, fetchInvites, type Invite } from './api/invitesApi';
import { InvitesPage } from './InvitesPage';

vi.mock('./api/invitesApi', () => ({ fetchInvites: vi.fn(), createInvite: vi.fn(), deleteInvite: vi.fn() }));

const admin = { id: 'usr_a', email: 'root@example.com' };
const pending: Invite = {
  id: 'inv_p', note: 'for Bob', status: 'pending', created_by: admin, created_at: '2026-11-20T10:00:00Z',
  expires_at: '2026-11-27T10:00:00Z', used_by: null, used_at: null,
};
const used: Invite = {
  id: 'inv_u', note: '', status: 'used', created_by: admin, created_at: '2026-11-19T10:00:00Z',
  expires_at: '2026-11-26T10:00:00Z', used_by: { id: 'usr_c', email: 'carol@example.com' }, used_at: '2026-11-19T11:00:00Z',
};

describe('InvitesPage', () => {
  afterEach(() => vi.resetAllMocks());

  it('lists invites with their status and who used them', async () => {
    vi.mocked(fetchInvites).mockResolvedValue([pending, used]);
    renderWithQuery(<InvitesPage />);
    const table = await screen.findByRole('table', { name: 'Invites' });
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(within(rows[1]!).getByText('for Bob')).toBeTruthy();
    expect(within(rows[1]!).getByText('pending')).toBeTruthy();
    expect(within(rows[2]!).getByText('carol@example.com')).toBeTruthy();
    expect(within(rows[2]!).getByText('used')).toBeTruthy();
  });

  it('creates an invite and shows its code and sign-up link once', async () => {
    vi.mocked(fetchInvites).mockResolvedValue([]);
    const { used_by: _u, used_at: _a, ...rest } = pending;
    vi.mocked(createInvite).mockResolvedValue({ ...rest, status: 'pending', created_by: admin, id: 'inv_new', note: 'for Dan', code: 'lin_secret123' });
    renderWithQuery(<InvitesPage />);
    await screen.findByText('No invites yet.');
    await userEvent.type(screen.getByLabelText('Note'), ' for Dan ');
    await userEvent.selectOptions(screen.getByLabelText('Valid for'), '1 day');
    await userEvent.click(screen.getByRole('button', { name: 'Create invite' }));
    expect(createInvite).toHaveBeenCalledWith({ note: 'for Dan', ttl_seconds: 86_400 });
    expect((await screen.findByLabelText('Invite code')).textContent).toBe('lin_secret123');
    expect(screen.getByLabelText('Sign-up link').textContent).toContain('/signup?invite=lin_secret123');
    expect(screen.getByText(/not shown again/)).toBeTruthy();
    expect(fetchInvites).toHaveBeenCalledTimes(2); // the list is refreshed
  });

  it('deletes an invite', async () => {
    vi.mocked(fetchInvites).mockResolvedValue([pending]);
    vi.mocked(deleteInvite).mockResolvedValue(undefined as never);
    renderWithQuery(<InvitesPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Delete invite for Bob' }));
    expect(deleteInvite).toHaveBeenCalledWith('inv_p');
  });

  it('shows why creating failed', async () => {
    vi.mocked(fetchInvites).mockResolvedValue([]);
    vi.mocked(createInvite).mockRejectedValue(new Error('Only an administrator may do this.'));
    renderWithQuery(<InvitesPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Create invite' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Only an administrator');
  });
});
