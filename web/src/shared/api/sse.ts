// Server-Sent Events over fetch(): EventSource cannot send an Authorization header and the
// server only takes bearer tokens, so the console reads the stream body itself.
import { authHeaders } from './client';

export type SseMessage = { event: string; data: string };

/** Parses SSE text incrementally; returns the complete messages and the unparsed rest. */
export function parseSse(buffer: string): { messages: SseMessage[]; rest: string } {
  const messages: SseMessage[] = [];
  const norm = buffer.replace(/\r\n?/g, '\n');
  let start = 0;
  for (;;) {
    const end = norm.indexOf('\n\n', start);
    if (end < 0) break;
    const block = norm.slice(start, end);
    start = end + 2;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) messages.push({ event, data: data.join('\n') });
  }
  return { messages, rest: norm.slice(start) };
}

/**
 * Follows an SSE stream until `signal` aborts, reconnecting after `retryMs` when it ends.
 * `onOpen` runs on every (re)connection so callers can re-read lists they may have missed.
 */
export async function followSse(
  url: string,
  onMessage: (m: SseMessage) => void,
  signal: AbortSignal,
  opts: { onOpen?: () => void; onError?: (status: number) => void; retryMs?: number; once?: boolean } = {},
): Promise<void> {
  const retry = opts.retryMs ?? 2000;
  while (!signal.aborted) {
    try {
      const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...authHeaders() }, signal });
      if (!res.ok || !res.body) {
        opts.onError?.(res.status);
        if (res.status === 401 || res.status === 404 || opts.once) return;
      } else {
        opts.onOpen?.();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const { messages, rest } = parseSse(buf + value);
          buf = rest;
          for (const m of messages) onMessage(m);
        }
        if (opts.once) return;
      }
    } catch {
      if (signal.aborted) return;
      opts.onError?.(0);
      if (opts.once) return;
    }
    await new Promise((r) => setTimeout(r, retry));
  }
}
