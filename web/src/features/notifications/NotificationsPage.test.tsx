import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithQuery } from '../../test/renderWithQuery';
import {
  createChannel, deleteChannel, fetchChannels, fetchDeliveries, testChannel, type Channel, type Delivery,
} from './api/notificationsApi';
import { NotificationsPage } from './NotificationsPage';

vi.mock('./api/notificationsApi', () => ({
  fetchChannels: vi.fn(), createChannel: vi.fn(), deleteChannel: vi.fn(), testChannel: vi.fn(), fetchDeliveries: vi.fn(),
}));

const hook: Channel = {
  id: 'nch_1', kind: 'webhook', url: 'https://hooks.example.com/x', email: null,
  events: ['workload.failed', 'backup.failed'], created_at: '2026-12-07T10:00:00Z',
};
const failed: Delivery = {
  id: 'dlv_1', channel_id: 'nch_1', kind: 'test', workload_id: null, status: 'failed', attempts: 5, last_code: 503,
  last_result: 'HTTP 503', next_attempt_at: null, created_at: '2026-12-07T10:01:00Z', updated_at: '2026-12-07T10:09:00Z',
};

describe('NotificationsPage', () => {
  afterEach(() => vi.resetAllMocks());

  it('adds a webhook for chosen events and shows its secret once', async () => {
    vi.mocked(fetchChannels).mockResolvedValue({ items: [], email_available: false });
    vi.mocked(createChannel).mockResolvedValue({ ...hook, secret: 'whsec_abc' });
    renderWithQuery(<NotificationsPage isAdmin={false} />);
    await screen.findByText('No channels yet.');
    expect(screen.queryByLabelText('node.down')).toBeNull();
    expect((screen.getByRole('option', { name: /E-mail/ }) as HTMLOptionElement).disabled).toBe(true);
    await userEvent.type(screen.getByLabelText('URL'), 'https://hooks.example.com/x');
    for (const k of ['workload.lost', 'workload.recovered', 'endpoint.unreachable', 'endpoint.reachable',
      'backup.not-verified', 'quota.nearly-used']) await userEvent.click(screen.getByLabelText(k));
    await userEvent.click(screen.getByRole('button', { name: 'Add channel' }));
    expect(createChannel).toHaveBeenCalledWith({
      kind: 'webhook', url: 'https://hooks.example.com/x', events: ['workload.failed', 'backup.failed'],
    });
    expect((await screen.findByLabelText('Signing secret')).textContent).toBe('whsec_abc');
    expect(screen.getByText(/not shown again/)).toBeTruthy();
  });

  it('refuses a URL that is not http(s) without asking the server', async () => {
    vi.mocked(fetchChannels).mockResolvedValue({ items: [], email_available: true });
    renderWithQuery(<NotificationsPage isAdmin />);
    await screen.findByText('No channels yet.');
    expect(screen.getByLabelText('node.down')).toBeTruthy();
    await userEvent.type(screen.getByLabelText('URL'), 'ftp://x');
    await userEvent.click(screen.getByRole('button', { name: 'Add channel' }));
    expect((await screen.findByRole('alert')).textContent).toContain('http');
    expect(createChannel).not.toHaveBeenCalled();
  });

  it('sends a test, shows the delivery log and deletes a channel', async () => {
    vi.mocked(fetchChannels).mockResolvedValue({ items: [hook], email_available: false });
    vi.mocked(testChannel).mockResolvedValue({ ...failed, status: 'pending', attempts: 0 });
    vi.mocked(fetchDeliveries).mockResolvedValue([failed]);
    vi.mocked(deleteChannel).mockResolvedValue(undefined as never);
    renderWithQuery(<NotificationsPage isAdmin={false} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Send test to https://hooks.example.com/x' }));
    expect(testChannel).toHaveBeenCalledWith('nch_1');
    const log = await screen.findByRole('table', { name: 'Deliveries of nch_1' });
    expect(within(log).getByText('HTTP 503')).toBeTruthy();
    expect(within(log).getByText('failed')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Delete channel https://hooks.example.com/x' }));
    expect(deleteChannel).toHaveBeenCalledWith('nch_1');
  });

  it('shows a test delivery that the server logs only after the first read of the log', async () => {
    vi.mocked(fetchChannels).mockResolvedValue({ items: [hook], email_available: false });
    vi.mocked(testChannel).mockResolvedValue({ ...failed, status: 'pending', attempts: 0 });
    // The dispatcher writes the row after the 202: the first reads find nothing.
    vi.mocked(fetchDeliveries).mockResolvedValueOnce([]).mockResolvedValueOnce([])
      .mockResolvedValue([{ ...failed, status: 'delivered', attempts: 1, last_code: 204, last_result: 'HTTP 204' }]);
    renderWithQuery(<NotificationsPage isAdmin={false} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Send test to https://hooks.example.com/x' }));
    const log = await screen.findByRole('table', { name: 'Deliveries of nch_1' }, { timeout: 4000 });
    expect(within(log).getByText('HTTP 204')).toBeTruthy();
  });
});
