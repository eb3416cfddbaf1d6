'use strict';
// Summarizes the raw wrk results written by run.sh: prints the table, the ratios and
// PASS/FAIL, writes $RESULTS as JSON. Exit status 0 when every target passes, else 1.
//
// RAW is TSV: server, round, wrk Requests/sec, wrk "Non-2xx or 3xx" count, then the
// space-separated key=value line printed by count.lua.
const fs = require('node:fs');
const path = require('node:path');

const SERVERS = ['nginx', 'fastify', 'lattice'];
const TARGET_NGINX_RATIO = 0.5;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const rows = fs
  .readFileSync(process.env.RAW, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [server, round, rps, wrkNon2xx, kv] = line.split('\t');
    const f = Object.fromEntries(kv.split(' ').map((p) => p.split('=')).map(([k, v]) => [k, Number(v)]));
    return {
      server,
      round: Number(round),
      rps: Number(rps),
      // count.lua sees every status; wrk's own line counts only >= 400. Take the larger.
      non2xx: Math.max(f.non2xx, Number(wrkNon2xx) || 0),
      socket_errors: f.connect_errors + f.read_errors + f.write_errors + f.timeouts,
      responses: f.responses,
      p50_ms: f.p50_us / 1000,
      p90_ms: f.p90_us / 1000,
      p99_ms: f.p99_us / 1000,
      max_ms: f.max_us / 1000,
      // CPU time the server (all threads and child processes) used per answered request.
      cpu_us_per_req: f.responses > 0 ? f.server_cpu_us / f.responses : null,
      // Cores the server kept busy during the run. Pinned, a server that is the bottleneck
      // shows ~1.0; well below that, something else (wrk, or another job on the machine)
      // held it back, and its req/s understates what it can do.
      cores_used: f.server_cpu_us / f.duration_us,
    };
  });

const summary = {};
for (const s of SERVERS) {
  const rs = rows.filter((r) => r.server === s);
  if (rs.length === 0) throw new Error(`no results for ${s}`);
  summary[s] = {
    rps: median(rs.map((r) => r.rps)),
    rps_min: Math.min(...rs.map((r) => r.rps)),
    rps_max: Math.max(...rs.map((r) => r.rps)),
    p50_ms: median(rs.map((r) => r.p50_ms)),
    p99_ms: median(rs.map((r) => r.p99_ms)),
    cpu_us_per_req: median(rs.map((r) => r.cpu_us_per_req)),
    cores_used: median(rs.map((r) => r.cores_used)),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    socket_errors: rs.reduce((a, r) => a + r.socket_errors, 0),
    responses: rs.reduce((a, r) => a + r.responses, 0),
  };
}

const L = summary.lattice;
const perRound = [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b).map((round) => {
  const by = Object.fromEntries(rows.filter((r) => r.round === round).map((r) => [r.server, r.rps]));
  return { round, lattice_over_nginx: by.lattice / by.nginx, lattice_over_fastify: by.lattice / by.fastify };
});
const ratios = {
  lattice_over_nginx: L.rps / summary.nginx.rps,
  lattice_over_fastify: L.rps / summary.fastify.rps,
  // Informational: server CPU per request, lattice's over the anchor's (lower is better).
  cpu_per_req_lattice_over_nginx: L.cpu_us_per_req / summary.nginx.cpu_us_per_req,
  cpu_per_req_lattice_over_fastify: L.cpu_us_per_req / summary.fastify.cpu_us_per_req,
};
// Rounds are interleaved, so each round's ratio pairs runs made seconds apart; their median
// is shown next to the ratio of medians (the figure the targets are judged on).
const perRoundMedian = {
  lattice_over_nginx: median(perRound.map((r) => r.lattice_over_nginx)),
  lattice_over_fastify: median(perRound.map((r) => r.lattice_over_fastify)),
};
const targets = [
  {
    name: `lattice >= ${TARGET_NGINX_RATIO}x nginx req/s`,
    value: ratios.lattice_over_nginx,
    pass: ratios.lattice_over_nginx >= TARGET_NGINX_RATIO,
  },
  {
    name: 'lattice > fastify req/s',
    value: ratios.lattice_over_fastify,
    pass: ratios.lattice_over_fastify > 1,
  },
  { name: 'lattice: no non-2xx answers', value: L.non2xx, pass: L.non2xx === 0 && L.responses > 0 },
  { name: 'lattice: no socket errors', value: L.socket_errors, pass: L.socket_errors === 0 },
];
const pass = targets.every((t) => t.pass);

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n) => n.toFixed(2);
const pad = (s, n) => String(s).padStart(n);
console.log('');
console.log(`auth/me under wrk: median of ${process.env.META_ROUNDS} rounds, ` +
  `${process.env.META_DURATION}s each, -t${process.env.META_THREADS} -c${process.env.META_CONNECTIONS}, ` +
  `pin=${process.env.META_PIN}`);
console.log(`| server  | ${pad('req/s', 9)} | ${pad('min..max req/s', 17)} | ${pad('p50 ms', 6)} | ` +
  `${pad('p99 ms', 6)} | ${pad('non-2xx', 7)} | ${pad('sock err', 8)} | ${pad('CPU us/req', 10)} | ${pad('cores', 5)} |`);
console.log('|---------|-----------|-------------------|--------|--------|---------|----------|------------|-------|');
for (const s of SERVERS) {
  const x = summary[s];
  console.log(`| ${s.padEnd(7)} | ${pad(fmtInt(x.rps), 9)} | ${pad(`${fmtInt(x.rps_min)}..${fmtInt(x.rps_max)}`, 17)} | ` +
    `${pad(fmtMs(x.p50_ms), 6)} | ${pad(fmtMs(x.p99_ms), 6)} | ${pad(x.non2xx, 7)} | ${pad(x.socket_errors, 8)} | ` +
    `${pad(x.cpu_us_per_req.toFixed(1), 10)} | ${pad(x.cores_used.toFixed(2), 5)} |`);
}
console.log('');
console.log(`lattice/nginx   = ${ratios.lattice_over_nginx.toFixed(2)}  ` +
  `(per round: ${perRound.map((r) => r.lattice_over_nginx.toFixed(2)).join(', ')}; ` +
  `median ${perRoundMedian.lattice_over_nginx.toFixed(2)})`);
console.log(`lattice/fastify = ${ratios.lattice_over_fastify.toFixed(2)}  ` +
  `(per round: ${perRound.map((r) => r.lattice_over_fastify.toFixed(2)).join(', ')}; ` +
  `median ${perRoundMedian.lattice_over_fastify.toFixed(2)})`);
console.log(`server CPU per request, lattice/nginx = ${ratios.cpu_per_req_lattice_over_nginx.toFixed(2)}, ` +
  `lattice/fastify = ${ratios.cpu_per_req_lattice_over_fastify.toFixed(2)} (informational; lower is better)`);
const load = Number(String(process.env.META_LOAD_BEFORE || '0').split(' ')[0]);
if (load > 0.5) {
  console.log(`WARNING: load average ${load} before the run: other work shared the CPUs, ` +
    'so req/s and latency are noisy (CPU us/req much less so).');
}
for (const t of targets) console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}`);
console.log(pass ? 'RESULT: PASS' : 'RESULT: FAIL');

const meta = {};
for (const [k, v] of Object.entries(process.env)) {
  if (!k.startsWith('META_')) continue;
  const key = k.slice(5).toLowerCase();
  meta[key] = /^-?\d+$/.test(v) && !['git_commit', 'lattice_sha256'].includes(key) ? Number(v) : v;
}
const out = {
  benchmark: 'auth_me',
  route: 'GET /api/v1/auth/me',
  date: new Date().toISOString(),
  settings: meta,
  summary,
  ratios,
  per_round_ratios: perRound,
  per_round_ratio_medians: perRoundMedian,
  targets,
  pass,
  runs: rows,
};
fs.mkdirSync(path.dirname(process.env.RESULTS), { recursive: true });
fs.writeFileSync(process.env.RESULTS, JSON.stringify(out, null, 2) + '\n');
console.log(`results: ${process.env.RESULTS}`);
process.exit(pass ? 0 : 1);
