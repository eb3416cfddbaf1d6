#!/usr/bin/env bash
# bench/deploy: deploy latency of Lattice against a plain `docker run -d` of the same image, in
# the same run, interleaved (issue 4). Targets: small image ≤ 1.25× the anchor; PostgreSQL
# time to first query ≤ 1.2× the anchor.
#
#   bench/deploy/run.sh
#
# What is measured (per round; details and the exact "ready" definition in deploy.py):
#   small   anchor  `docker run -d -p 127.0.0.1::8080 lattice/busybox:dev httpd -f -p 8080 -h /`
#                   until the CLI returns, and until the published port answers HTTP
#           Lattice POST /api/v1/workloads (custom, same image/command, port 8080) until the
#                   event stream says `running`, and until its endpoint answers HTTP
#   pg      anchor  `docker run -d -p 127.0.0.1::5432 -e POSTGRES_… lattice/postgres:15` until
#                   `psql URL -c 'select 1'` first succeeds (retried every 50 ms)
#           Lattice POST template postgres, GET polled every 20 ms for the endpoint, then psql
#                   with the returned connection string retried every 50 ms
# One warm-up round (not counted) first; then ROUNDS rounds, the order alternating within each
# pair. Medians and the Lattice/anchor ratios (of the medians, and per round) are printed as
# Markdown and written as JSON, with a breakdown of where the time goes: the engine's own
# create/start events (GET /events) for both sides, and the embedded agent's log lines.
#
# Environment:
#   ROUNDS       measured rounds (5)             WARMUP   warm-up rounds, discarded (1)
#   SETTLE       seconds of quiet before each measurement (1)
#   LATTICE_BIN  binary to test (default build/lattice; copied first, so a rebuild during the
#                run does not change what is measured)
#   RESULTS      JSON output (default bench/results/deploy.json; the server log goes next to it
#                as deploy.server.log)
#   DOCKER_HOST  engine to use; if unset, scripts/ensure-docker.sh finds or starts one
# Needs: docker CLI, psql, python3; images lattice/busybox:dev and lattice/postgres:15
# (scripts/build-images.sh).
# Every container it creates is labelled lattice.bench=1 (anchors) or lattice.workload=<id>
# (Lattice's, removed by DELETE) and removed before it exits, with its volumes.
# Exit status: 0 if the apples-to-apples ratios pass, 1 if one fails, 2 on a setup error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${ROUNDS:-5}"
WARMUP="${WARMUP:-1}"
SETTLE="${SETTLE:-1}"
RESULTS="${RESULTS:-$ROOT/bench/results/deploy.json}"
SRC_BIN="${LATTICE_BIN:-$ROOT/build/lattice}"

if [[ -z "${DOCKER_HOST:-}" ]]; then
  DOCKER_HOST="$("$ROOT/scripts/ensure-docker.sh" | tail -1)"
  export "${DOCKER_HOST?}"
fi
export DOCKER_HOST
for tool in docker psql python3; do
  command -v "$tool" >/dev/null || { echo "deploy: $tool is required" >&2; exit 2; }
done
[[ -x "$SRC_BIN" ]] ||
  { echo "deploy: no lattice binary at $SRC_BIN (cmake --build build)" >&2; exit 2; }

TMP="$(mktemp -d -t lattice-bench-deploy.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
cp "$SRC_BIN" "$TMP/lattice"

echo "deploy: binary $SRC_BIN ($(sha256sum "$TMP/lattice" | cut -c1-12)), engine $DOCKER_HOST," \
  "ROUNDS=$ROUNDS WARMUP=$WARMUP SETTLE=$SETTLE" >&2
rc=0
python3 "$HERE/deploy.py" --rounds "$ROUNDS" --warmup "$WARMUP" --settle "$SETTLE" \
  --results "$RESULTS" --binary "$TMP/lattice" || rc=$?
[[ $rc == 2 ]] || echo "deploy: results in $RESULTS" >&2
exit "$rc"
