import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import { fetchAuditPage, type AuditEvent } from './api/auditApi';
import { AuditPage } from './AuditPage';

vi.mock('./api/auditApi', () => ({ fetchAuditPage: vi.fn(), PAGE_SIZE: 50 }));

const event = (id: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  id, at: '2026-11-25T04:10:10Z', actor: { id: 'usr_a', email: 'alice@example.com' }, action: 'workload.create',
  target: `wl_${id}`, client_address: '10.0.0.7', outcome: 'success', detail: '', ...extra,
});

describe('AuditPage', () => {
  afterEach(() => vi.resetAllMocks());

  it('shows who did what from where, anonymous callers included', async () => {
    vi.mocked(fetchAuditPage).mockResolvedValue({
      items: [event(2, { actor: null, action: 'auth.login', target: null, outcome: 'failure', detail: 'no account with this email' }), event(1)],
      next_before: null,
    });
    renderWithQuery(<AuditPage />);
    const rows = within(await screen.findByRole('table', { name: 'Audit events' })).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(within(rows[1]!).getByText('anonymous')).toBeTruthy();
    expect(within(rows[1]!).getByText('failure')).toBeTruthy();
    expect(within(rows[1]!).getByText('no account with this email')).toBeTruthy();
    expect(within(rows[2]!).getByText('alice@example.com')).toBeTruthy();
    expect(within(rows[2]!).getByText('wl_1')).toBeTruthy();
    expect(within(rows[2]!).getByText('10.0.0.7')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load older events' })).toBeNull();
  });

  it('loads older events a page at a time', async () => {
    vi.mocked(fetchAuditPage)
      .mockResolvedValueOnce({ items: [event(3), event(2)], next_before: 2 })
      .mockResolvedValueOnce({ items: [event(1)], next_before: null });
    renderWithQuery(<AuditPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Load older events' }));
    expect(await screen.findByText('wl_1')).toBeTruthy();
    expect(fetchAuditPage).toHaveBeenLastCalledWith(2);
    expect(screen.getAllByRole('row')).toHaveLength(4);
    expect(screen.queryByRole('button', { name: 'Load older events' })).toBeNull();
  });

  it('can show only failures', async () => {
    vi.mocked(fetchAuditPage).mockResolvedValue({
      items: [event(2, { outcome: 'failure', detail: 'Quota exceeded for workloads' }), event(1)], next_before: null,
    });
    renderWithQuery(<AuditPage />);
    await screen.findByText('wl_1');
    await userEvent.click(screen.getByLabelText('Failures only'));
    expect(screen.queryByText('wl_1')).toBeNull();
    expect(screen.getByText('Quota exceeded for workloads')).toBeTruthy();
  });
});
