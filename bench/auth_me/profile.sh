#!/usr/bin/env bash
# bench/auth_me/profile.sh: where Lattice's user-space time goes on authenticated GET /auth/me.
#
# Runs Lattice (one I/O thread) under valgrind's callgrind, registers a user, warms up, zeroes
# the counters, drives ${DURATION:-10}s of wrk -t2 -c64 with the real token, dumps, and prints
# instructions per request for the functions that matter (inclusive). Instruction counts do
# not depend on what else the machine is doing, unlike req/s. The kernel is not counted here:
# use `perf record -g -p PID` against a normal run for that (see docs/BENCHMARKS.md).
#
#   bench/auth_me/profile.sh            LATTICE_BIN (default build/lattice), DURATION, KEEP=1
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
LATTICE_BIN="${LATTICE_BIN:-build/lattice}"
DURATION="${DURATION:-10}"
for tool in valgrind callgrind_control callgrind_annotate wrk curl node; do
  command -v "$tool" >/dev/null || { echo "profile: $tool is not installed" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lattice-profile-auth-me.XXXXXX")"
PID=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$LATTICE_BIN" "$WORK/lattice"
PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
  "$WORK/lattice" server --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  --access-log false --log-level warn --io-threads 1 >"$WORK/lattice.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.1
done
TOKEN="$(curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-123"}' \
  "http://127.0.0.1:$PORT/api/v1/auth/register" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).token))')"
URL="http://127.0.0.1:$PORT/api/v1/auth/me"

wrk -t1 -c8 -d2s -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null
callgrind_control -z "$PID" >/dev/null 2>&1
OUT="$(wrk -t2 -c64 -d"${DURATION}s" -s "$HERE/count.lua" -H "Authorization: Bearer $TOKEN" "$URL")"
callgrind_control -d "$PID" >/dev/null 2>&1
N="$(grep -o 'responses=[0-9]*' <<<"$OUT" | cut -d= -f2)"
NON2XX="$(grep -o 'non2xx=[0-9]*' <<<"$OUT" | cut -d= -f2)"
DUMPS=("$WORK"/callgrind.out.*)
DUMP="${DUMPS[${#DUMPS[@]} - 1]}"

echo "responses under callgrind: $N (non-2xx: $NON2XX)"
echo "user-space instructions per request, inclusive (callgrind Ir / responses):"
callgrind_annotate --inclusive=yes --threshold=100 "$DUMP" 2>/dev/null |
  awk -v n="$N" '
    /PROGRAM TOTALS/ { gsub(",", "", $1); printf "%8.0f  TOTAL\n", $1 / n; next }
    /^ *[0-9,]+ / {
      ir = $1; gsub(",", "", ir); line = $0; sub(/^ *[0-9,]+ (\([^)]*\) )? */, "", line)
      sub(/ \[[^]]*\]$/, "", line)
      name = ""
      if (line ~ /AuthService::Authenticate/) name = "AuthService::Authenticate (token check)"
      else if (line ~ /VerifyTokenSignature/) name = "  VerifyTokenSignature (HMAC-SHA256 + base64)"
      else if (line ~ /SqliteStore::GetSession/ && line ~ /sqlite_store.cc/) name = "  SqliteStore::GetSession (SQLite read)"
      else if (line ~ /auth::HashSecret/) name = "  HashSecret (SHA-256 of the secret)"
      else if (line ~ /http\/dispatcher.cc:lattice::http::Dispatcher::Dispatch\(lattice/) name = "Dispatcher::Dispatch (routing, auth, handler, metrics)"
      else if (line ~ /AddAuthRoutes.*lambda.*#4/) name = "  /me handler (UserJson + JsonReply)"
      else if (line ~ /Router::Find/) name = "  Router::Find"
      else if (line ~ /HttpMetrics::Record/) name = "  HttpMetrics::Record"
      else if (line ~ /beast\/http\/impl\/write.hpp:auto boost::beast::http::async_write</) name = "beast http::async_write (serialize + send)"
      else if (line ~ /basic_parser.ipp:boost::beast::http::basic_parser<true>::put\(/) name = "beast basic_parser::put (parse request)"
      else if (line ~ /malloc.c:malloc$/) name = "malloc"
      else if (line ~ /malloc.c:free$/) name = "free"
      if (name != "" && !(name in seen)) { seen[name] = 1; printf "%8.0f  %s\n", ir / n, name }
    }'

# The same stack without the token check: GET /healthz (public, small JSON answer).
callgrind_control -z "$PID" >/dev/null 2>&1
OUT="$(wrk -t2 -c64 -d"${DURATION}s" -s "$HERE/count.lua" "http://127.0.0.1:$PORT/healthz")"
callgrind_control -d "$PID" >/dev/null 2>&1
N2="$(grep -o 'responses=[0-9]*' <<<"$OUT" | cut -d= -f2)"
DUMPS=("$WORK"/callgrind.out.*)
DUMP2="${DUMPS[${#DUMPS[@]} - 1]}"
callgrind_annotate --inclusive=yes --threshold=100 "$DUMP2" 2>/dev/null |
  awk -v n="$N2" '/PROGRAM TOTALS/ { gsub(",", "", $1);
    printf "%8.0f  TOTAL for GET /healthz (same stack, no token check; %d responses)\n", $1 / n, n }'
if [[ "${KEEP:-0}" == 1 ]]; then
  echo "full profile: callgrind_annotate --inclusive=yes $DUMP"
fi
