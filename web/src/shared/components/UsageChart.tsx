// One time-series chart, drawn by uPlot on a canvas (docs/console.md says why uPlot). The chart
// follows its container's width; its caption repeats the newest values as text, so the numbers
// are there for screen readers and tests too.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatUsage, latest, type UsageChartSpec } from '../lib/usage';

export function UsageChart({ spec, height = 160 }: { spec: UsageChartSpec; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const current = useRef(spec);  // the range function reads the newest spec
  current.current = spec;
  const shape = `${spec.unit}:${spec.lines.map((l) => l.label).join(',')}`;

  // (Re)create the chart when its shape changes; new data only replaces the data.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = (v: number | null) => formatUsage(spec.unit, v);
    const opts: uPlot.Options = {
      width: el.clientWidth || 480,
      height,
      // The whole requested range, not just where there are samples (one sample would otherwise
      // be drawn on an axis years wide).
      scales: { x: { time: true, range: () => [current.current.range[0], current.current.range[1]] }, y: { range: (_u, min, max) => [0, Math.max(max, spec.unit === 'percent' ? 1 : 1024, min)] } },
      axes: [{}, { size: 70, values: (_u, vals) => vals.map(fmt) }],
      series: [{}, ...spec.lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, dash: l.dash, value: (_u: uPlot, v: number | null) => fmt(v) }))],
      legend: { show: true },
    };
    const p = new uPlot(opts, [spec.x, ...spec.lines.map((l) => l.values)] as uPlot.AlignedData, el);
    plot.current = p;
    const resize = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => {
      if (el.clientWidth) p.setSize({ width: el.clientWidth, height });
    });
    resize?.observe(el);
    return () => {
      resize?.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([spec.x, ...spec.lines.map((l) => l.values)] as uPlot.AlignedData);
  }, [spec]);

  return (
    <figure aria-label={spec.title} className="min-w-0 rounded-md border border-slate-200 p-3">
      <figcaption className="mb-1 flex flex-wrap items-baseline gap-x-3 text-sm">
        <span className="font-medium">{spec.title}</span>
        {latest(spec).map((v) => (
          <span key={v.label} className="text-slate-500">{v.label} <span className="font-mono text-slate-800" data-latest={v.label}>{v.text}</span></span>
        ))}
      </figcaption>
      <div ref={box} className="w-full" />
    </figure>
  );
}
