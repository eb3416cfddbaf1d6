#!/usr/bin/env bash
# bench/auth_me: authenticated GET /api/v1/auth/me under wrk, against two anchors in the same run.
#
#   nginx    a fixed JSON 200 of the same size as Lattice's answer, no token check: the limit.
#   fastify  the seed's own stack: one node process, checks `Authorization: Bearer` against a
#            fixed token and answers a fixed user through a response schema.
#   lattice  the real binary on a temp data dir; a user is registered and its real token is
#            sent, so every request does the full token check (HMAC + session lookup).
#
# All three get the same token in the same header, the same wrk load (-t2 -c64), the same
# CPU (see PIN below) and no access log (nginx: access_log off; fastify: logger off;
# lattice: --access-log false). Measurements are interleaved: each round runs
# nginx, fastify, lattice back to back, and the median over ROUNDS is reported.
#
# Usage (from anywhere; paths are relative to the repo root):
#   bench/auth_me/run.sh
# Environment:
#   LATTICE_BIN   binary to test (default build/lattice; it is copied first, so a rebuild
#                 during the run does not change what is measured)
#   DURATION      seconds per measurement (10)       ROUNDS   interleaved rounds (3)
#   WARMUP        seconds of warm-up per server (3)  THREADS / CONNECTIONS  wrk -t/-c (2 / 64)
#   PIN           1 (default): wrk on CPU $WRK_CPU, each server (all of its threads) on CPU
#                 $SERVER_CPU; nginx gets 1 worker, lattice 1 I/O thread, fastify is 1 process.
#                 0: nothing pinned; nginx worker_processes auto, lattice default I/O threads
#                 (one per core), fastify still one process.
#   WRK_CPU / SERVER_CPU   (0 / 1)
#   LATTICE_IO_THREADS     override lattice --io-threads (default: 1 if PIN=1, 0 = per core if not)
#   NGINX_WORKERS          override nginx worker_processes (default: 1 if PIN=1, auto if not)
#   RESULTS       JSON output (default bench/results/auth_me.json)
#   NICE          scheduling priority of the whole benchmark (default -15; 0 = leave it alone).
#                 The kernel shares CPU between sessions (autogroups) before it looks at nice
#                 values, so the script runs itself in a new session and sets that session's
#                 autogroup nice: builds in other sessions then disturb all three servers less.
#                 Needs root (or CAP_SYS_NICE); without it the run goes on at normal priority.
# Prints per-server req/s, p50, p99, non-2xx, server CPU per request, the ratios lattice/nginx
# and lattice/fastify, and PASS/FAIL against the targets: lattice >= 0.5x nginx req/s,
# lattice > fastify req/s, no non-2xx answers and no socket errors for lattice.
# Exit status: 0 if every target passes, 1 if one fails, 2 on a setup error.
set -euo pipefail

NICE="${NICE:--15}"
if [[ "$NICE" != 0 && -z "${AUTH_ME_SESSION:-}" ]] && command -v setsid >/dev/null &&
  [[ -e /proc/self/autogroup ]]; then
  # Not a process-group leader here, so setsid execs in place: $! is the benchmark itself.
  AUTH_ME_SESSION=1 setsid --wait "$BASH" "${BASH_SOURCE[0]}" "$@" &
  child=$!
  trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM
  rc=0
  while :; do
    wait "$child" && rc=0 || rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  exit "$rc"
fi
if [[ -n "${AUTH_ME_SESSION:-}" && "$NICE" != 0 ]]; then
  if ! (echo "$NICE" >/proc/self/autogroup) 2>/dev/null; then
    echo "auth_me: cannot set autogroup nice $NICE (not root?); running at normal priority" >&2
    NICE=0
  fi
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-3}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
PIN="${PIN:-1}"
WRK_CPU="${WRK_CPU:-0}"
SERVER_CPU="${SERVER_CPU:-1}"
LATTICE_BIN="${LATTICE_BIN:-build/lattice}"
RESULTS="${RESULTS:-bench/results/auth_me.json}"
if [[ "$PIN" == 1 ]]; then
  LATTICE_IO_THREADS="${LATTICE_IO_THREADS:-1}"
  NGINX_WORKERS="${NGINX_WORKERS:-1}"
else
  LATTICE_IO_THREADS="${LATTICE_IO_THREADS:-0}"
  NGINX_WORKERS="${NGINX_WORKERS:-auto}"
fi
ROUTE=/api/v1/auth/me

die() { echo "auth_me: $*" >&2; exit 2; }
for tool in wrk nginx node npm curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ "$PIN" != 1 ]] || command -v taskset >/dev/null || die "taskset is not installed (or set PIN=0)"
[[ -x "$LATTICE_BIN" ]] || die "$LATTICE_BIN not found: build it first (cmake --preset release && cmake --build build)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-bench-auth-me.XXXXXX")"
PIDS=()
WRK_PID=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local pid
  trap '' INT TERM
  [[ -z "$WRK_PID" ]] || kill "$WRK_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Command prefixes that pin to a CPU when PIN=1 (arrays, not functions, so that `$!` of a
# background server is the server itself: taskset execs it).
ON_SERVER_CPU=()
ON_WRK_CPU=()
if [[ "$PIN" == 1 ]]; then
  ON_SERVER_CPU=(taskset -c "$SERVER_CPU")
  ON_WRK_CPU=(taskset -c "$WRK_CPU")
fi

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until http://127.0.0.1:$1 answers anything; $2 names the server, $3 its log.
wait_http() {
  local port="$1" name="$2" log="$3"
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then return 0; fi
    sleep 0.1
  done
  cat "$log" >&2 || true
  die "$name did not start on port $port"
}

status_of() { # url [token]
  if [[ $# -gt 1 ]]; then
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1"
  else
    curl -s -o /dev/null -w '%{http_code}' "$1"
  fi
}

# --- Fastify anchor dependencies ------------------------------------------------------------
echo "== npm ci (bench/auth_me/fastify)"
(cd "$HERE/fastify" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
  die "npm ci failed in bench/auth_me/fastify"

# --- Lattice --------------------------------------------------------------------------------
cp "$LATTICE_BIN" "$WORK/lattice"
LATTICE_MTIME="$(date -u -r "$LATTICE_BIN" +%Y-%m-%dT%H:%M:%SZ)"
LATTICE_PORT="$(free_port)"
mkdir -p "$WORK/lattice-data"
"${ON_SERVER_CPU[@]}" "$WORK/lattice" server --listen "127.0.0.1:$LATTICE_PORT" \
  --data-dir "$WORK/lattice-data" --access-log false --log-level warn \
  --io-threads "$LATTICE_IO_THREADS" >"$WORK/lattice.log" 2>&1 &
LATTICE_PID=$!
PIDS+=("$LATTICE_PID")
wait_http "$LATTICE_PORT" lattice "$WORK/lattice.log"
LATTICE_URL="http://127.0.0.1:$LATTICE_PORT$ROUTE"
REGISTER="$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-123"}' \
  "http://127.0.0.1:$LATTICE_PORT/api/v1/auth/register")"
[[ "${REGISTER##*$'\n'}" == 201 ]] || die "register failed: $REGISTER"
TOKEN="$(printf '%s' "${REGISTER%$'\n'*}" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).token))')"
[[ -n "$TOKEN" ]] || die "no token in the register answer"

# --- Fastify --------------------------------------------------------------------------------
FASTIFY_PORT="$(free_port)"
PORT="$FASTIFY_PORT" BENCH_TOKEN="$TOKEN" "${ON_SERVER_CPU[@]}" node "$HERE/fastify/server.js" \
  >"$WORK/fastify.log" 2>&1 &
FASTIFY_PID=$!
PIDS+=("$FASTIFY_PID")
wait_http "$FASTIFY_PORT" fastify "$WORK/fastify.log"
FASTIFY_URL="http://127.0.0.1:$FASTIFY_PORT$ROUTE"

# --- nginx (own prefix and config; no global config is read) ---------------------------------
NGINX_PORT="$(free_port)"
NGINX_BODY='{"id":"usr_benchbenchbenchbench","email":"bench@example.com","role":"admin","created_at":"2026-01-01T00:00:00Z"}'
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  # nginx closes a keep-alive connection after 1000 requests by default; Lattice and Fastify
  # never do, so lift the limit rather than make wrk reconnect against nginx alone.
  keepalive_requests 1000000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = $ROUTE {
      default_type application/json;
      return 200 '$NGINX_BODY';
    }
  }
}
EOF
"${ON_SERVER_CPU[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" \
  >"$WORK/nginx.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_http "$NGINX_PORT" nginx "$WORK/nginx/logs/error.log"
NGINX_URL="http://127.0.0.1:$NGINX_PORT$ROUTE"

# --- Sanity: the token check is real --------------------------------------------------------
[[ "$(status_of "$NGINX_URL")" == 200 ]] || die "nginx does not answer 200"
for pair in "lattice $LATTICE_URL" "fastify $FASTIFY_URL"; do
  read -r name url <<<"$pair"
  [[ "$(status_of "$url" "$TOKEN")" == 200 ]] || die "$name rejects the real token"
  [[ "$(status_of "$url" "${TOKEN}x")" == 401 ]] || die "$name accepts a wrong token"
  [[ "$(status_of "$url")" == 401 ]] || die "$name accepts a request without a token"
done
LATTICE_BYTES="$(curl -s -H "Authorization: Bearer $TOKEN" "$LATTICE_URL" | wc -c)"
FASTIFY_BYTES="$(curl -s -H "Authorization: Bearer $TOKEN" "$FASTIFY_URL" | wc -c)"
NGINX_BYTES="$(curl -s "$NGINX_URL" | wc -c)"

# --- Load -----------------------------------------------------------------------------------
RAW="$WORK/raw.tsv"
: >"$RAW"
# CPU time (clock ticks, user+system) used so far by a server: the process, its threads and its
# child processes (nginx workers). Per request this is a figure that the noise of a shared
# machine moves far less than requests/s.
declare -A SERVER_PID=([nginx]="$NGINX_PID" [fastify]="$FASTIFY_PID" [lattice]="$LATTICE_PID")
cpu_ticks() {
  local pids p total=0 t
  pids="$1 $(pgrep -P "$1" | tr '\n' ' ' || true)"
  for p in $pids; do
    t="$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null)" || continue
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
CLK_TCK="$(getconf CLK_TCK)"
run_wrk() { # name url seconds record(0/1) round
  local name="$1" url="$2" secs="$3" record="$4" round="$5" out cpu0 cpu1
  cpu0="$(cpu_ticks "${SERVER_PID[$name]}")"
  # In the background and waited for, so that a signal stops the run at once.
  "${ON_WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --latency \
    -s "$HERE/count.lua" -H "Authorization: Bearer $TOKEN" "$url" >"$WORK/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || { cat "$WORK/wrk.out" >&2; die "wrk failed against $name"; }
  WRK_PID=""
  out="$(cat "$WORK/wrk.out")"
  cpu1="$(cpu_ticks "${SERVER_PID[$name]}")"
  [[ "$record" == 1 ]] || return 0
  local rps wrk_non2xx bench
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  wrk_non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")"
  bench="$(grep '^BENCH ' <<<"$out")" || die "count.lua printed nothing for $name"
  bench="$bench server_cpu_us=$(((cpu1 - cpu0) * 1000000 / CLK_TCK))"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$rps" "${wrk_non2xx:-0}" "${bench#BENCH }" >>"$RAW"
  printf '   round %s  %-8s %10s req/s  %s\n' "$round" "$name" "$rps" "${bench#BENCH }"
}

SERVERS=(nginx fastify lattice)
declare -A URLS=([nginx]="$NGINX_URL" [fastify]="$FASTIFY_URL" [lattice]="$LATTICE_URL")
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== warm-up: ${WARMUP}s each (load average before: $LOAD_BEFORE)"
for s in "${SERVERS[@]}"; do run_wrk "$s" "${URLS[$s]}" "$WARMUP" 0 0; done
echo "== $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (pin=$PIN)"
for r in $(seq 1 "$ROUNDS"); do
  for s in "${SERVERS[@]}"; do
    sleep 1
    run_wrk "$s" "${URLS[$s]}" "$DURATION" 1 "$r"
  done
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- Report ---------------------------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS")"
set +e
RAW="$RAW" RESULTS="$RESULTS" \
  META_DURATION="$DURATION" META_ROUNDS="$ROUNDS" META_WARMUP="$WARMUP" META_THREADS="$THREADS" \
  META_CONNECTIONS="$CONNECTIONS" META_PIN="$PIN" META_WRK_CPU="$WRK_CPU" \
  META_SERVER_CPU="$SERVER_CPU" META_LATTICE_IO_THREADS="$LATTICE_IO_THREADS" \
  META_NGINX_WORKERS="$NGINX_WORKERS" META_NICE="$NICE" META_LOAD_BEFORE="$LOAD_BEFORE" META_LOAD_AFTER="$LOAD_AFTER" \
  META_LATTICE_BIN="$LATTICE_BIN" META_LATTICE_VERSION="$("$WORK/lattice" --version 2>/dev/null)" \
  META_GIT_COMMIT="$(git describe --always --dirty 2>/dev/null || echo unknown)" \
  META_LATTICE_SHA256="$(sha256sum "$WORK/lattice" | cut -c1-16)" \
  META_LATTICE_MTIME="$LATTICE_MTIME" \
  META_NGINX_VERSION="$(nginx -v 2>&1 | sed 's/.*: //')" \
  META_NODE_VERSION="$(node --version)" \
  META_FASTIFY_VERSION="$(node -p 'require(process.argv[1]).version' "$HERE/fastify/node_modules/fastify/package.json")" \
  META_WRK_VERSION="$(wrk --version 2>&1 | head -1 | awk '{print $2}')" \
  META_CPU="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
  META_NPROC="$(nproc)" META_KERNEL="$(uname -r)" \
  META_BODY_BYTES="lattice=$LATTICE_BYTES fastify=$FASTIFY_BYTES nginx=$NGINX_BYTES" \
  node "$HERE/report.js"
rc=$?
set -e
exit "$rc"
