import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { followSse } from '../../../shared/api/sse';
import { Button } from '../../../shared/components/Button';
import { fetchOlderLogs, logsUrl, type LogEntry } from '../api/workloadsApi';

const MAX_LINES = 20000;
const PAGE = 500;

/** Parses one followed line (a LogEntry as JSON); a plain line from an older server as text. */
function toEntry(data: string): LogEntry {
  try {
    const e = JSON.parse(data) as LogEntry;
    if (e && typeof e.text === 'string') return e;
  } catch {
    // not JSON: fall through
  }
  return { seq: 0, generation: 0, time: null, text: data };
}

/**
 * The workload's logs as its node keeps them, across its containers: followed live (fetch-streamed
 * SSE), with a boundary where one container generation gives way to the next, older lines loaded
 * on demand, pause, search and download.
 */
export function LogsViewer({ workloadId, name, active }: { workloadId: string; name: string; active: boolean }) {
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [paused, setPaused] = useState(false);
  const [query, setQuery] = useState('');
  const [note, setNote] = useState('');
  const [older, setOlder] = useState<'idle' | 'loading' | 'none'>('idle');
  const pending = useRef<LogEntry[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true); // keep the newest line in view (not after loading older ones)

  const append = (add: LogEntry[]) => {
    stick.current = true;
    setEntries((l) => [...l, ...add].slice(-MAX_LINES));
  };

  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    setEntries([]);
    setNote('');
    setOlder('idle');
    let timer = 0;
    const flush = () => {
      timer = 0;
      if (pausedRef.current || !pending.current.length) return;
      const add = pending.current;
      pending.current = [];
      append(add);
    };
    void followSse(
      logsUrl(workloadId, PAGE),
      (m) => {
        if (m.event === 'error') return setNote(m.data || 'The node ended the log stream.');
        for (const d of m.data.split('\n')) pending.current.push(toEntry(d));
        if (!timer) timer = window.setTimeout(flush, 100);
      },
      ctl.signal,
      {
        once: true,
        onOpen: () => setNote(''),
        onError: (s) => setNote(s === 409 ? 'Logs appear once the workload is placed on a node.' : s === 503 ? 'The node is not reachable right now.' : 'The log stream ended.'),
      },
    );
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [workloadId, active]);

  useEffect(() => {
    if (!paused && pending.current.length) {
      const add = pending.current;
      pending.current = [];
      append(add);
    }
  }, [paused]);

  const first = entries.find((e) => e.seq > 0);
  async function loadOlder() {
    if (!first) return;
    setOlder('loading');
    try {
      const page = await fetchOlderLogs(workloadId, first.seq, PAGE);
      stick.current = false;
      setEntries((l) => [...page.entries, ...l]);
      setOlder(page.more ? 'idle' : 'none');
    } catch (e) {
      setNote(e instanceof Error ? e.message : 'Could not load older lines.');
      setOlder('idle');
    }
  }

  const shown = useMemo(() => {
    const q = query.toLowerCase();
    return q ? entries.filter((e) => e.text.toLowerCase().includes(q)) : entries;
  }, [entries, query]);
  useEffect(() => {
    if (!paused && stick.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, paused]);

  function download() {
    const url = URL.createObjectURL(new Blob([entries.map((e) => e.text).join('\n') + '\n'], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  const canLoadOlder = !!first && first.seq > 1 && older !== 'none';
  return (
    <section aria-labelledby="logs-title" className="flex flex-col gap-2">
      <div className="flex flex-wrap items-center gap-2">
        <h2 id="logs-title" className="mr-auto text-base font-semibold">Logs</h2>
        <label className="text-sm">
          <span className="sr-only">Search logs</span>
          <input type="search" placeholder="Search logs" value={query} onChange={(e) => setQuery(e.target.value)}
            className="rounded-md border border-slate-300 px-2 py-1 text-sm" />
        </label>
        <Button onClick={() => setPaused((p) => !p)} aria-pressed={paused}>{paused ? 'Resume' : 'Pause'}</Button>
        <Button onClick={download} disabled={!entries.length}>Download</Button>
      </div>
      {note && <p role="status" className="text-sm text-slate-500">{note}</p>}
      <div ref={box} tabIndex={0} role="log" aria-label="Log output" aria-live="off"
        className="h-72 overflow-auto whitespace-pre rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100">
        {canLoadOlder && (
          <button type="button" onClick={() => void loadOlder()} disabled={older === 'loading'}
            className="mb-2 rounded border border-slate-600 px-2 py-0.5 font-sans text-xs text-slate-300 hover:bg-slate-800 disabled:opacity-50">
            {older === 'loading' ? 'Loading older lines…' : 'Load older lines'}
          </button>
        )}
        {older === 'none' && <div className="mb-1 font-sans text-slate-500">Start of the kept logs.</div>}
        {shown.map((e, i) => {
          const prev = i > 0 ? shown[i - 1] : undefined;
          const boundary = e.generation > 0 && (!prev || prev.generation !== e.generation);
          return (
            <Fragment key={e.seq > 0 ? e.seq : `x${i}`}>
              {boundary && (
                <div role="separator" data-generation={e.generation}
                  className="my-1 border-t border-dashed border-amber-400/60 pt-1 font-sans text-amber-300">
                  {`Container generation ${e.generation}${e.time ? ` · from ${new Date(e.time).toLocaleString()}` : ''}`}
                </div>
              )}
              <div>{e.text || '\u00a0'}</div>
            </Fragment>
          );
        })}
      </div>
    </section>
  );
}
