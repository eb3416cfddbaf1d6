// Console benchmark (docs/BENCHMARKS.md, "Web console"): the gzip size of the built console, and
// the time from navigation start to the 200th workload row on the dashboard, in headless Chromium.
//
//   bench/console/run.sh            (starts the server, creates the user and the workloads)
//   LATTICE_URL=http://127.0.0.1:PORT LATTICE_SESSION='{"token":..,"user":..,"expiresAt":..}' \
//     node e2e/bench.mjs            (against a server that is already set up)
//
// Per run: a new browser context (empty HTTP cache, empty storage) whose session token is put in
// sessionStorage before any page script runs, exactly as the console stores it after sign-in
// (key `lattice.session`, shared/api/session.ts). Then
//   cold  page.goto('/')   with nothing cached
//   warm  page.reload()    in the same context: assets from the HTTP cache (immutable),
//                          index.html revalidated (no-cache)
// and the time is performance.now() in the page (0 = navigation start of that document) at the
// moment the row count reaches WORKLOADS. A MutationObserver installed before the app's scripts
// records the exact time the rows land in the DOM; page.waitForFunction (polling on animation
// frames) waits for it and also records its own, frame-aligned detection time.
//
// Environment: LATTICE_URL, LATTICE_SESSION (required); RUNS (10); WORKLOADS (200);
// TARGET_MS (1000); BUNDLE_TARGET_KB (250); DIST (web/dist); RESULTS (JSON output path; default
// ../bench/results/console.json); CHROMIUM (/usr/bin/chromium).
// Exit status: 0 if both targets pass, 1 if one fails, 2 on a setup error.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './lattice.mjs';

const URL_ = process.env.LATTICE_URL;
const SESSION = process.env.LATTICE_SESSION;
const RUNS = Number(process.env.RUNS ?? 10);
const N = Number(process.env.WORKLOADS ?? 200);
const TARGET_MS = Number(process.env.TARGET_MS ?? 1000);
const BUNDLE_TARGET_KB = Number(process.env.BUNDLE_TARGET_KB ?? 250);
const ROOT = new URL('../..', import.meta.url).pathname;
const DIST = process.env.DIST ?? join(ROOT, 'web/dist');
const RESULTS = process.env.RESULTS ?? join(ROOT, 'bench/results/console.json');

function die(msg) { console.error(`bench: ${msg}`); process.exit(2); }
if (!URL_ || !SESSION) die('LATTICE_URL and LATTICE_SESSION are required (bench/console/run.sh sets them)');
if (!existsSync(CHROMIUM)) die(`${CHROMIUM} is missing`);
if (!existsSync(join(DIST, 'index.html'))) die(`no built console in ${DIST} (npm run build)`);
JSON.parse(SESSION);

// ---- bundle size: gzip -9 of every file in dist, summed
function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}
const bundle = files(DIST).sort().map((p) => ({
  file: relative(DIST, p),
  raw: statSync(p).size,
  gzip: execFileSync('gzip', ['-9', '-c', p], { maxBuffer: 1 << 28 }).length,
}));
const bundleTotal = bundle.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });

// The size is of web/dist; the timing is of what the server embeds. Say so when they differ.
const served = await (await fetch(`${URL_}/`)).text();
const distMatches = served === readFileSync(join(DIST, 'index.html'), 'utf8');
if (!distMatches) console.warn(`bench: WARNING: ${URL_}/ is not ${DIST}/index.html (rebuild the binary)`);
const assetEncoding = (await fetch(new URL(served.match(/src="([^"]+\.js)"/)?.[1] ?? '/', URL_),
  { headers: { 'Accept-Encoding': 'gzip, br' } })).headers.get('content-encoding') ?? 'identity';

// ---- page load to the Nth workload row
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
};
const stats = (xs) => ({
  n: xs.length, median: quantile(xs, 0.5), p90: quantile(xs, 0.9),
  min: Math.min(...xs), max: Math.max(...xs),
});
const r1 = (x) => Math.round(x * 10) / 10;

// Runs in the page before any of its scripts, on every navigation (goto and reload).
function initScript({ session, n }) {
  sessionStorage.setItem('lattice.session', session);
  const rows = () => document.querySelectorAll('tr[data-workload]').length;
  const mo = new MutationObserver(() => {
    if (window.__benchRowsAt === undefined && rows() >= n) {
      window.__benchRowsAt = performance.now();
      mo.disconnect();
    }
  });
  mo.observe(document, { childList: true, subtree: true });
}

async function measure(page, navigate) {
  await navigate();
  const h = await page.waitForFunction((n) => {
    if (document.querySelectorAll('tr[data-workload]').length < n) return false;
    return { seen: performance.now(), at: window.__benchRowsAt ?? performance.now() };
  }, N, { polling: 'raf', timeout: 30_000 });
  const { seen, at } = await h.jsonValue();
  const detail = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const pick = (re) => res.find((r) => re.test(r.name));
    const js = pick(/\/assets\/.*\.js$/);
    const list = pick(/\/api\/v1\/workloads$/);
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return {
      html_response_end: nav.responseEnd,
      html_transfer_bytes: nav.transferSize,
      dom_content_loaded: nav.domContentLoadedEventEnd,
      js_response_end: js?.responseEnd,
      js_transfer_bytes: js?.transferSize,
      list_fetch_start: list?.startTime,
      list_response_end: list?.responseEnd,
      list_transfer_bytes: list?.transferSize,
      first_contentful_paint: fcp?.startTime,
    };
  });
  const rows = await page.locator('tr[data-workload]').count();
  if (rows !== N) throw new Error(`expected ${N} rows, found ${rows}`);
  return { ms: at, detected_ms: seen, ...detail };
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const chromiumVersion = browser.version();
const runs = [];
try {
  // One discarded warm-up (Chromium's own first-launch costs), then RUNS measured pairs.
  for (let i = -1; i < RUNS; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.addInitScript(initScript, { session: SESSION, n: N });
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    // Chromium asks for /favicon.ico on its own (the console has none): the server's 404 is fine.
    page.on('response', (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') errors.push(`${r.status()} ${r.url()}`);
    });
    const cold = await measure(page, () => page.goto(`${URL_}/`, { waitUntil: 'commit' }));
    if (!page.url().endsWith('/')) throw new Error(`landed on ${page.url()}, not the dashboard`);
    const warm = await measure(page, () => page.reload({ waitUntil: 'commit' }));
    await ctx.close();
    if (errors.length) throw new Error(`browser errors: ${errors.join('\n')}`);
    if (i < 0) { console.log(`warm-up: cold ${r1(cold.ms)} ms, warm ${r1(warm.ms)} ms (discarded)`); continue; }
    runs.push({ cold, warm });
    console.log(`run ${i + 1}/${RUNS}: cold ${r1(cold.ms)} ms (JS in ${r1(cold.js_response_end)}, ` +
      `list ${r1(cold.list_fetch_start)}→${r1(cold.list_response_end)}), warm ${r1(warm.ms)} ms`);
  }
} finally {
  await browser.close();
}

const cold = stats(runs.map((r) => r.cold.ms));
const warm = stats(runs.map((r) => r.warm.ms));
const bundlePass = bundleTotal.gzip / 1000 < BUNDLE_TARGET_KB; // kB = 1000 bytes (the stricter reading)
const coldPass = cold.p90 < TARGET_MS;
const warmPass = warm.p90 < TARGET_MS;
const pass = bundlePass && coldPass && warmPass;
const kb = (b) => `${(b / 1000).toFixed(1)} kB`;

const result = {
  date: new Date().toISOString(),
  url: URL_, workloads: N, runs: RUNS, target_ms: TARGET_MS, bundle_target_kb: BUNDLE_TARGET_KB,
  chromium: chromiumVersion, cpus: cpus().length, loadavg_at_end: loadavg(),
  anchor: 'none: the issue names only the targets (< 250 KB gzip, < 1 s)',
  bundle: { files: bundle, total: bundleTotal, pass: bundlePass, dist_matches_server: distMatches,
    served_js_content_encoding: assetEncoding },
  page_load: { cold, warm, pass_cold: coldPass, pass_warm: warmPass, runs },
  pass,
};
mkdirSync(dirname(RESULTS), { recursive: true });
writeFileSync(RESULTS, JSON.stringify(result, null, 2) + '\n');

const med = (k, w) => r1(quantile(runs.map((r) => r[w][k]).filter((x) => x !== undefined), 0.5));
console.log(`
Chromium ${chromiumVersion}, ${N} workloads, ${RUNS} runs, ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}

| file | raw | gzip -9 |
|---|---|---|
${bundle.map((f) => `| \`${f.file}\` | ${kb(f.raw)} | ${kb(f.gzip)} |`).join('\n')}
| **total** | ${kb(bundleTotal.raw)} | **${kb(bundleTotal.gzip)}** (target < ${BUNDLE_TARGET_KB} kB: ${bundlePass ? 'PASS' : 'FAIL'}) |
(web/dist ${distMatches ? 'is' : 'is NOT'} what the server embeds; the server sends the JS with Content-Encoding: ${assetEncoding})

| navigation start → ${N}th row | median | p90 | min | max | target | |
|---|---|---|---|---|---|---|
| cold (new context, empty cache) | ${r1(cold.median)} ms | ${r1(cold.p90)} ms | ${r1(cold.min)} ms | ${r1(cold.max)} ms | < ${TARGET_MS} ms | ${coldPass ? 'PASS' : 'FAIL'} |
| warm (reload, same context) | ${r1(warm.median)} ms | ${r1(warm.p90)} ms | ${r1(warm.min)} ms | ${r1(warm.max)} ms | < ${TARGET_MS} ms | ${warmPass ? 'PASS' : 'FAIL'} |

Where the time goes (medians, ms since navigation start):
| | index.html done | JS done | DOMContentLoaded | FCP | list fetch start | list response end | ${N}th row |
|---|---|---|---|---|---|---|---|
${['cold', 'warm'].map((w) => `| ${w} | ${med('html_response_end', w)} | ${med('js_response_end', w)} | ${med('dom_content_loaded', w)} | ${med('first_contentful_paint', w)} | ${med('list_fetch_start', w)} | ${med('list_response_end', w)} | ${med('ms', w)} |`).join('\n')}

${pass ? 'PASS' : 'FAIL'} (results: ${RESULTS})`);
process.exit(pass ? 0 : 1);
