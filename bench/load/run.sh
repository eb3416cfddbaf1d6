#!/usr/bin/env bash
# bench/load: the long variant of the load test (the CI runs 20 s of it: tests/e2e/test_load.py).
# Starts one `lattice dev` on a fresh data dir and the local Docker engine, runs load.py against
# it, and removes everything it made (workloads through the API, then by label as a backstop).
#
#   bench/load/run.sh [load.py options]          e.g. bench/load/run.sh --duration 600
#
# Defaults: 200 clients, 40 accounts, 300 s, at most 200 deploys. The table goes to stdout and
# the JSON to $RESULTS (default bench/results/load.json; the server's log beside it).
# Environment: LATTICE_BIN (default build/lattice), DOCKER_HOST (else scripts/ensure-docker.sh
# finds or starts an engine). Needs the image lattice/busybox:dev (scripts/build-images.sh).
# Exit status: load.py's (0: no 5xx, no transport error, no lost write, all cleaned up).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${LATTICE_BIN:-$ROOT/build/lattice}"
RESULTS="${RESULTS:-$ROOT/bench/results/load.json}"
[[ -x $BIN ]] || { echo "load: $BIN is not built" >&2; exit 2; }
[[ -n ${DOCKER_HOST:-} ]] || eval "export $("$ROOT/scripts/ensure-docker.sh" | tail -1)"
sock="${DOCKER_HOST#unix://}"

work="$(mktemp -d /tmp/lattice-load.XXXXXX)"
mkdir -p "$(dirname "$RESULTS")"
log="${RESULTS%.json}.server.log"
pid=""
node=""
cleanup() {
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -n $node ]]; then  # whatever the API-side cleanup left: this node's containers
    filter=$(python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.dumps({"label":["lattice.node="+sys.argv[1]]})))' "$node")
    for id in $(curl -s --unix-socket "$sock" "http://d/containers/json?all=1&filters=$filter" |
                python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))'); do
      curl -s --unix-socket "$sock" -X DELETE "http://d/containers/$id?force=1&v=1" >/dev/null
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" dev --listen "127.0.0.1:$port" --data-dir "$work/data" --access-log=false \
  --image postgres=lattice/postgres:15 --image minio=lattice/s3:dev >"$log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -sf "$url/readyz" >/dev/null && break
  sleep 0.1
done
# The embedded agent's node, for the backstop cleanup: an admin account sees it.
token=$(curl -sf -X POST "$url/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"load-admin@example.com","password":"load-test-password-1"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for _ in $(seq 1 100); do
  node=$(curl -sf "$url/api/v1/nodes" -H "Authorization: Bearer $token" |
    python3 -c 'import json,sys; n=[x["id"] for x in json.load(sys.stdin)["items"] if x["status"]=="ready"]; print(n[0] if n else "")')
  [[ -n $node ]] && break
  sleep 0.2
done
[[ -n $node ]] || { echo "load: the local node never became ready; see $log" >&2; exit 2; }

echo "load: lattice dev $("$BIN" --version 2>/dev/null | head -1) at $url, $(nproc) cores" >&2
set +e
python3 "$HERE/load.py" --url "$url" --clients 200 --accounts 40 --duration 300 \
  --max-deploys 200 --cleanup --cleanup-timeout 600 --json "$RESULTS" "$@"
rc=$?
set -e
echo "load: JSON in $RESULTS, server log in $log" >&2
exit $rc
