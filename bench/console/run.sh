#!/usr/bin/env bash
# bench/console: the web console's bundle size (gzip -9 of web/dist, summed) and the time from
# navigation start to the 200th workload row on the dashboard, in headless Chromium, cold (new
# browser context, empty HTTP cache) and warm (reload in the same context). Targets (issue):
# < 250 KB gzip, < 1 s. The issue names no anchor, so there is none.
#
#   bench/console/run.sh            (or: cd web && npm run bench)
#
# Starts `lattice server` (no agent, so the workloads stay `pending`; nothing touches Docker) on
# a free loopback port with a temporary data dir, registers a user, creates WORKLOADS custom
# workloads through the API, runs web/e2e/bench.mjs with the session, then stops the server by
# its PID and removes the data dir.
#
# Environment:
#   RUNS         measured runs, each one cold load + one warm reload (10)
#   WORKLOADS    workloads on the dashboard (200)
#   LATTICE_BIN  binary to test (default build/lattice; it serves the console it embeds, so
#                web/dist must be the build that binary embeds for the size to match)
#   RESULTS      JSON output (default bench/results/console.json)
#   CHROMIUM     browser (default /usr/bin/chromium)
# Needs: node + web/node_modules (npm ci in web/), curl, jq, gzip, Chromium.
# Exit status: 0 if both targets pass, 1 if one fails, 2 on a setup error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export RUNS="${RUNS:-10}" WORKLOADS="${WORKLOADS:-200}"
export RESULTS="${RESULTS:-$ROOT/bench/results/console.json}"
BIN="${LATTICE_BIN:-$ROOT/build/lattice}"

for tool in node curl jq gzip; do
  command -v "$tool" >/dev/null || { echo "console: $tool is required" >&2; exit 2; }
done
[[ -x "$BIN" ]] || { echo "console: no lattice binary at $BIN (cmake --build build)" >&2; exit 2; }
[[ -d "$ROOT/web/node_modules/playwright-core" ]] ||
  { echo "console: web/node_modules is missing (cd web && npm ci)" >&2; exit 2; }

TMP="$(mktemp -d -t lattice-bench-console.XXXXXX)"
PID=""
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# One user with WORKLOADS workloads: more than the default per-user quotas allow.
"$BIN" server --listen 127.0.0.1:0 --data-dir "$TMP/data" \
  --quota-workloads 0 --quota-memory-mb 0 --quota-cpus 0 >"$TMP/server.log" 2>&1 &
PID=$!
URL=""
for _ in $(seq 100); do
  URL="$(grep -o 'listening on http://[0-9.:]*' "$TMP/server.log" | head -1 | sed 's/listening on //' || true)"
  [[ -n "$URL" ]] && break
  kill -0 "$PID" 2>/dev/null || { echo "console: server exited:" >&2; cat "$TMP/server.log" >&2; exit 2; }
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "console: server did not start:" >&2; cat "$TMP/server.log" >&2; exit 2; }
echo "console: $BIN ($(sha256sum "$BIN" | cut -c1-12)) at $URL, pid $PID"

REG="$(curl -fsS -X POST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery"}')" ||
  { echo "console: register failed" >&2; exit 2; }
TOKEN="$(jq -r .token <<<"$REG")"
SESSION="$(jq -c '{token, user, expiresAt: .expires_at}' <<<"$REG")"

start=$(date +%s.%N)
for i in $(seq -f '%03g' 1 "$WORKLOADS"); do
  curl -fsS -o /dev/null -X POST "$URL/api/v1/workloads" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"w$i\",\"template\":\"custom\",\"image\":\"lattice/busybox:dev\"}" ||
    { echo "console: creating workload w$i failed" >&2; exit 2; }
done
have="$(curl -fsS "$URL/api/v1/workloads" -H "Authorization: Bearer $TOKEN" | jq '.items | length')"
[[ "$have" == "$WORKLOADS" ]] || { echo "console: the list has $have workloads, not $WORKLOADS" >&2; exit 2; }
echo "console: created $WORKLOADS workloads in $(echo "$(date +%s.%N) - $start" | bc) s"

set +e
(cd "$ROOT/web" && LATTICE_URL="$URL" LATTICE_SESSION="$SESSION" node e2e/bench.mjs)
rc=$?
set -e
exit "$rc"
