import { calls, fetchMock, resetRoutes, route } from '../../../test/mockFetch';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SseMessage } from '../../../shared/api/sse';
import { LogsViewer } from './LogsViewer';

// The followed stream: the test pushes messages through `push` (what followSse would hand over).
let push: (m: SseMessage) => void = () => {};
let followedUrl = '';
vi.mock('../../../shared/api/sse', () => ({
  followSse: (url: string, onMessage: (m: SseMessage) => void) => {
    followedUrl = url;
    push = onMessage;
    return new Promise<void>(() => {});
  },
}));

const entry = (seq: number, generation: number, text: string) =>
  JSON.stringify({ seq, generation, time: '2026-01-02T03:04:05.000000000Z', text });

async function stream(...data: string[]) {
  await act(async () => {
    for (const d of data) push({ event: 'message', data: d });
    await new Promise((r) => setTimeout(r, 150)); // the viewer batches every 100 ms
  });
}

describe('LogsViewer', () => {
  beforeEach(() => {
    resetRoutes();
    fetchMock.mockClear();
  });

  it('follows the JSON stream and marks where a new container generation begins', async () => {
    render(<LogsViewer workloadId="wl_1" name="web" active />);
    expect(followedUrl).toContain('follow=true');
    expect(followedUrl).toContain('format=json');
    await stream(entry(8, 1, 'old container says bye'), entry(9, 2, 'new container says hi'), entry(10, 2, 'still new'));
    const log = screen.getByRole('log', { name: 'Log output' });
    expect(log.textContent).toContain('old container says bye');
    const marks = screen.getAllByRole('separator');
    expect(marks.map((m) => m.getAttribute('data-generation'))).toEqual(['1', '2']);
    expect(marks[1]!.textContent).toContain('Container generation 2');
    // The boundary sits between the two containers' lines.
    const text = log.textContent ?? '';
    expect(text.indexOf('old container says bye')).toBeLessThan(text.indexOf('Container generation 2'));
    expect(text.indexOf('Container generation 2')).toBeLessThan(text.indexOf('new container says hi'));
  });

  it('loads older lines before the first shown, until the start of the kept logs', async () => {
    route('GET /api/v1/workloads/wl_1/logs',
      { status: 200, body: { more: true, entries: [{ seq: 4, generation: 1, time: null, text: 'older b' }] } },
      { status: 200, body: { more: false, entries: [{ seq: 3, generation: 1, time: null, text: 'older a' }] } });
    render(<LogsViewer workloadId="wl_1" name="web" active />);
    await stream(entry(5, 1, 'newest'));
    fireEvent.click(screen.getByRole('button', { name: 'Load older lines' }));
    await waitFor(() => expect(screen.getByRole('log').textContent).toContain('older b'));
    let url = new URL((fetchMock.mock.calls.at(-1)![0] as Request).url);
    expect(url.searchParams.get('before')).toBe('5');
    expect(url.searchParams.get('format')).toBe('json');
    fireEvent.click(screen.getByRole('button', { name: 'Load older lines' }));
    await waitFor(() => expect(screen.getByText('Start of the kept logs.')).toBeTruthy());
    url = new URL((fetchMock.mock.calls.at(-1)![0] as Request).url);
    expect(url.searchParams.get('before')).toBe('4');
    const text = screen.getByRole('log').textContent ?? '';
    expect(text.indexOf('older a')).toBeLessThan(text.indexOf('older b'));
    expect(text.indexOf('older b')).toBeLessThan(text.indexOf('newest'));
    expect(screen.queryByRole('button', { name: 'Load older lines' })).toBeNull();
    expect(calls.filter((c) => c.path === '/api/v1/workloads/wl_1/logs')).toHaveLength(2);
  });

  it('has nothing older to load when the first line is the first kept', async () => {
    render(<LogsViewer workloadId="wl_1" name="web" active />);
    await stream(entry(1, 1, 'the very first line'));
    expect(screen.getByRole('log').textContent).toContain('the very first line');
    expect(screen.queryByRole('button', { name: 'Load older lines' })).toBeNull();
  });

  it('still shows plain lines from an older server', async () => {
    render(<LogsViewer workloadId="wl_1" name="web" active />);
    await stream('just text');
    expect(screen.getByRole('log').textContent).toContain('just text');
    expect(screen.queryByRole('separator')).toBeNull();
  });
});
