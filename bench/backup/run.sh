#!/usr/bin/env bash
# bench/backup: PostgreSQL backups to S3 (issue 19) against plain pg_basebackup, in the same run.
# Goals: backup throughput ≥ 0.9× `pg_basebackup | zstd` to a local file; restore ≤ 1.2× untar +
# start; ≤ 60 s of acknowledged writes lost when the node is lost; pgbench tps during a backup
# (reported). Details of each measurement in backup.py.
#
#   bench/backup/run.sh                      # SCALE=130: a ~2 GB database
#   SCALE=10 ROUNDS=1 TPS_SECONDS=15 RPO_WARM=30 bench/backup/run.sh   # a quick look
#
# Environment:
#   SCALE        pgbench scale factor (130 ≈ 2 GB)        ROUNDS   backup and restore rounds (2)
#   TPS_SECONDS  each pgbench run of the tps phase (60)   PGBENCH_ARGS  extra pgbench flags ('')
#   RPO_WARM     seconds of continuous writes before the node is lost (60)
#   WRITE_EVERY  seconds between the writer's inserts (0.1)
#   PHASES       any of backup,tps,restore,rpo (default: all four), and profile: the backup
#                pipeline taken apart step by step, and the restore tool's steps timed
#   WAIT_QUIET   seconds to wait for other Lattice processes on this machine to end first (900):
#                agents sharing one Docker engine remove each other's WAL archivers and jobs
#   ABORT_ON_OTHER  1 (default): an attempt during which another Lattice process starts is
#                abandoned (its numbers would be the other agent's doing) and run again, up to
#   ATTEMPTS     attempts in all (3); 0: carry on and only record the other processes
#   LATTICE_BIN  binary to test (default build/lattice; copied first, so a rebuild during the
#                run does not change what is measured)
#   RESULTS      JSON output (default bench/results/backup.json; the server log goes next to
#                it as backup.server.log)
#   DOCKER_HOST  engine to use; if unset, scripts/ensure-docker.sh finds or starts one
# Needs: docker CLI, psql and pgbench (postgresql-client), python3; images lattice/postgres:15,
# lattice/pgtools:15, lattice/s3:dev (scripts/build-images.sh).
# Every container and volume it creates itself is labelled lattice.bench=backup and removed at
# exit; Lattice's workloads are deleted through the API (after the RPO phase has killed the
# node, Lattice is started again on the same data dir to do that).
# Exit status: 0 if every goal measured is met, 1 if one is missed, 2 on a setup error or when
# every attempt was disturbed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RESULTS="${RESULTS:-$ROOT/bench/results/backup.json}"
SRC_BIN="${LATTICE_BIN:-$ROOT/build/lattice}"

if [[ -z "${DOCKER_HOST:-}" ]]; then
  DOCKER_HOST="$("$ROOT/scripts/ensure-docker.sh" | tail -1)"
  export "${DOCKER_HOST?}"
fi
export DOCKER_HOST
for tool in docker psql pgbench python3; do
  command -v "$tool" >/dev/null || { echo "backup: $tool is required" >&2; exit 2; }
done
[[ -x "$SRC_BIN" ]] ||
  { echo "backup: no lattice binary at $SRC_BIN (cmake --build build)" >&2; exit 2; }

TMP="$(mktemp -d -t lattice-bench-backup.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
cp "$SRC_BIN" "$TMP/lattice"

echo "backup: binary $SRC_BIN ($(sha256sum "$TMP/lattice" | cut -c1-12)), engine $DOCKER_HOST," \
  "SCALE=${SCALE:-130} ROUNDS=${ROUNDS:-2}" >&2
for attempt in $(seq 1 "${ATTEMPTS:-3}"); do
  rc=0
  python3 "$HERE/backup.py" --binary "$TMP/lattice" --results "$RESULTS" \
    --scale "${SCALE:-130}" --rounds "${ROUNDS:-2}" --tps-seconds "${TPS_SECONDS:-60}" \
    --pgbench-args "${PGBENCH_ARGS:-}" --rpo-warm "${RPO_WARM:-60}" \
    --write-every "${WRITE_EVERY:-0.1}" --wait-quiet "${WAIT_QUIET:-900}" \
    --abort-on-other "${ABORT_ON_OTHER:-1}" --phases "${PHASES:-backup,tps,restore,rpo}" || rc=$?
  [[ $rc == 3 ]] || break
  echo "backup: attempt $attempt was disturbed by another Lattice process; starting again" >&2
done
[[ $rc != 3 ]] || rc=2
exit "$rc"
