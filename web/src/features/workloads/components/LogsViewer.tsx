import { useEffect, useMemo, useRef, useState } from 'react';
import { followSse } from '../../../shared/api/sse';
import { Button } from '../../../shared/components/Button';
import { logsUrl } from '../api/workloadsApi';

const MAX_LINES = 5000;

/** Follows the workload's logs live (fetch-streamed SSE), with pause, search and download. */
export function LogsViewer({ workloadId, name, active }: { workloadId: string; name: string; active: boolean }) {
  const [lines, setLines] = useState<string[]>([]);
  const [paused, setPaused] = useState(false);
  const [query, setQuery] = useState('');
  const [note, setNote] = useState('');
  const pending = useRef<string[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    setLines([]);
    setNote('');
    let timer = 0;
    const flush = () => {
      timer = 0;
      if (pausedRef.current || !pending.current.length) return;
      const add = pending.current;
      pending.current = [];
      setLines((l) => [...l, ...add].slice(-MAX_LINES));
    };
    void followSse(
      logsUrl(workloadId),
      (m) => {
        if (m.event === 'error') return setNote(m.data || 'The node ended the log stream.');
        pending.current.push(...m.data.split('\n'));
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
      setLines((l) => [...l, ...add].slice(-MAX_LINES));
    }
  }, [paused]);

  const shown = useMemo(() => (query ? lines.filter((l) => l.toLowerCase().includes(query.toLowerCase())) : lines), [lines, query]);
  useEffect(() => {
    if (!paused && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, paused]);

  function download() {
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

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
        <Button onClick={download} disabled={!lines.length}>Download</Button>
      </div>
      {note && <p role="status" className="text-sm text-slate-500">{note}</p>}
      <pre ref={box} tabIndex={0} aria-label="Log output" aria-live="off"
        className="h-72 overflow-auto rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100">
        {shown.join('\n')}
      </pre>
    </section>
  );
}
