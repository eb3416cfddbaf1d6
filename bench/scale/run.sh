#!/usr/bin/env bash
# Scale benchmark (issue #8): NODES simulated agents (real TLS agent links, real protocol) ×
# WORKLOADS workloads each against one `lattice server`, on SQLite and on a durable PostgreSQL.
# Results: bench/results/scale-<engine>.json; summary lines on stdout. See bench/scale/scale.py.
# Usage: bench/scale/run.sh   (env: ENGINES="sqlite postgres" NODES=10000 WORKLOADS=20
#                               USERS=200 DURATION=60)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export LATTICE_BIN="${LATTICE_BIN:-$root/build/lattice}"
[[ -x "$LATTICE_BIN" ]] || { echo "build first: cmake --build build --target lattice" >&2; exit 1; }
out="$root/bench/results"; mkdir -p "$out"
for engine in ${ENGINES:-sqlite postgres}; do
  /usr/bin/python3 "$root/bench/scale/scale.py" --engine "$engine" --nodes "${NODES:-10000}" \
    --workloads "${WORKLOADS:-20}" --users "${USERS:-200}" --duration "${DURATION:-60}" \
    --out "$out/scale-$engine.json" >/dev/null
  /usr/bin/python3 - "$out/scale-$engine.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p, api = r["propagation_ms"], r["api_ms"]
print(f"{r['engine']}: {r['nodes']} nodes x {r['workloads_per_node']} workloads; "
      f"server CPU {r['server_cpu_percent']}% RSS {r['server_rss_mb']['max']} MB; "
      f"{r['heartbeats_per_second']} heartbeats/s, {r['nodes_ready_at_end']} ready, "
      f"{r['nodes_with_stale_heartbeat']} stale; SSE p50 {p['p50']} p99 {p['p99']} ms "
      f"(n={p['n']}); list p99 {api['list']['p99']} ms ({r['items_per_list']} items), "
      f"get p99 {api['get']['p99']} ms; create {r['create_per_second']}/s")
PY
done
