#!/usr/bin/env bash
# Runs a real container of each local image (scripts/build-images.sh) and checks it behaves as
# the templates expect. Ports are published on 127.0.0.1 only, on ports docker picks (no races).
# Every container and volume it creates is removed on exit. Prints "N passed, N failed".
#
#   tests/images/test_images.sh          (LATTICE_SKIP_BUILD=1 to skip the cached image build)
set -uo pipefail  # no -e: a failed check is counted, not fatal

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
engine=$("$ROOT/scripts/ensure-docker.sh" | tail -1) || exit 1
export DOCKER_HOST=${engine#DOCKER_HOST=}
if [[ -z ${LATTICE_SKIP_BUILD:-} ]]; then "$ROOT/scripts/build-images.sh" >&2 || exit 1; fi
command -v psql >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-client >&2 || exit 1

ID=lattice-imgtest-$$
CONTAINERS=() VOLUMES=()
cleanup() {
  ((${#CONTAINERS[@]})) && docker rm -f -v "${CONTAINERS[@]}" >/dev/null 2>&1
  ((${#VOLUMES[@]})) && docker volume rm -f "${VOLUMES[@]}" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "PASS  $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL  $1${2:+: $2}"; }
not() { ! "$@"; }
# check NAME COMMAND...: pass if the command succeeds
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }
# expect NAME WANT COMMAND...: pass if the command's output is WANT
expect() {
  local name=$1 want=$2 got; shift 2
  got=$("$@" 2>&1)
  if [[ $got == "$want" ]]; then ok "$name"; else bad "$name" "want [$want], got [${got:0:300}]"; fi
}
# wait_for SECONDS COMMAND...: retry until the command succeeds
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
run() {  # run NAME ARGS...: start a detached container we will clean up
  local name=$ID-$1; shift
  CONTAINERS+=("$name")
  docker run -d --name "$name" "$@" >/dev/null
}
volume() { VOLUMES+=("$ID-$1"); docker volume create "$ID-$1" >/dev/null; }
logs_have() { local out; out=$(docker logs "$1" 2>&1); [[ $out == *"$2"* ]]; }  # (no grep -q: SIGPIPE + pipefail)
host_port() { docker port "$ID-$1" "$2/tcp" | awk 'NR == 1'; }  # -> 127.0.0.1:PORT

# --- postgres -------------------------------------------------------------------------------
PGUSER_=lattice PGPASS_='s3cr3t pass "quoted"' PGDB_=appdb
pg() { PGPASSWORD=${PGPW:-$PGPASS_} psql "host=${PGHP%:*} port=${PGHP#*:} user=$PGUSER_ dbname=$PGDB_ connect_timeout=3" -XAtqc "$1"; }
env_pg() { PGPW=$1 pg 'select 1'; }
volume pgdata
run pg -e POSTGRES_USER=$PGUSER_ -e "POSTGRES_PASSWORD=$PGPASS_" -e POSTGRES_DB=$PGDB_ \
  -v "$ID-pgdata:/var/lib/postgresql/data" -p 127.0.0.1::5432 lattice/postgres:15
PGHP=$(host_port pg 5432)
check "postgres: accepts connections with the env credentials" wait_for 60 pg 'select 1'
expect "postgres: select 1" 1 pg 'select 1'
expect "postgres: connected as POSTGRES_USER to POSTGRES_DB" "$PGUSER_|$PGDB_" pg 'select current_user, current_database()'
expect "postgres: password is stored as scram-sha-256" SCRAM-SHA-256 pg "select left(rolpassword, 13) from pg_authid where rolname = current_user"
check "postgres: wrong password refused" not env_pg wrong
check "postgres: write a row" pg "create table t (v text); insert into t values ('kept')"
t0=$SECONDS
docker stop "$ID-pg" >/dev/null
check "postgres: docker stop is prompt (fast shutdown as PID 1)" test $((SECONDS - t0)) -lt 10
expect "postgres: clean exit code" 0 docker inspect -f '{{.State.ExitCode}}' "$ID-pg"
check "postgres: shut down cleanly" logs_have "$ID-pg" 'database system is shut down'
docker start "$ID-pg" >/dev/null
PGHP=$(host_port pg 5432)
wait_for 60 pg 'select 1'
expect "postgres: data survives docker stop/start" kept pg 'select v from t'
# A new container on the same volume must reuse the data, not initialise again.
docker rm -f "$ID-pg" >/dev/null
run pg2 -e POSTGRES_USER=ignored -e POSTGRES_PASSWORD=ignored \
  -v "$ID-pgdata:/var/lib/postgresql/data" -p 127.0.0.1::5432 lattice/postgres:15
PGHP=$(host_port pg2 5432)
wait_for 60 pg 'select 1'
expect "postgres: new container reuses existing data and credentials" kept pg 'select v from t'

# --- s3 -------------------------------------------------------------------------------------
AK=latticeadmin SK=lattice-secret-key-123
volume s3data
run s3 -e MINIO_ROOT_USER=$AK -e MINIO_ROOT_PASSWORD=$SK -v "$ID-s3data:/data" -p 127.0.0.1::9000 lattice/s3:dev
S3=$(host_port s3 9000)
s3as() { local ak=$1 sk=$2; shift 2; python3 "$HERE/s3check.py" "$S3" "$ak" "$sk" "$@"; }
s3c() { s3as "$AK" "$SK" "$@"; }
status() { local out; out=$("$@"); echo "${out%%$'\n'*}"; }   # the HTTP status line only
body_len() { s3c get "$@" | tail -n +2 | tr -d '\n' | wc -c; }  # length of an object's text
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "s3: /minio/health/ready answers" wait_for 30 curl -sf "http://$S3/minio/health/ready"
expect "s3: health ready is 200" 200 code "http://$S3/minio/health/ready"
expect "s3: health live is 200" 200 code "http://$S3/minio/health/live"
expect "s3: anonymous list is 403" 403 code "http://$S3/"
expect "s3: anonymous bucket create is 403" 403 code -X PUT "http://$S3/anon"
expect "s3: signed bucket create" 200 s3c mkbucket bkt
expect "s3: anonymous object put is 403" 403 code -X PUT --data-binary x "http://$S3/bkt/anon.txt"
expect "s3: anonymous object get is 403" 403 code "http://$S3/bkt/anon.txt"
expect "s3: signed put" 200 s3c put bkt dir/hello.txt 'hello from lattice'
expect "s3: signed get" $'200\nhello from lattice' s3c get bkt dir/hello.txt
expect "s3: wrong secret key is 403" 403 status s3as "$AK" wrong get bkt dir/hello.txt
expect "s3: unknown access key is 403" 403 status s3as nobody "$SK" get bkt dir/hello.txt
expect "s3: body not matching its signed sha256 is 400" 400 status s3c put-badhash bkt x.txt data
expect "s3: signed aws-chunked put" 200 s3c put-chunked bkt chunked.txt 0123456789
expect "s3: aws-chunked object decoded" 50000 body_len bkt chunked.txt
expect "s3: unsigned-payload put" 200 s3c put-unsigned bkt unsigned.txt 'no hash'
expect "s3: trailer put" 200 s3c put-trailer bkt trailer.txt 'with trailer'
expect "s3: trailer object decoded" $'200\nwith trailer' s3c get bkt trailer.txt
expect "s3: presigned get" $'200\nhello from lattice' s3c presign-get bkt dir/hello.txt
expect "s3: expired presigned get is 403" 403 status s3c presign-expired bkt dir/hello.txt
t0=$SECONDS
docker restart "$ID-s3" >/dev/null
check "s3: docker restart is prompt (SIGTERM handled as PID 1)" test $((SECONDS - t0)) -lt 8
S3=$(host_port s3 9000)
wait_for 30 curl -sf "http://$S3/minio/health/ready"
expect "s3: objects survive a restart" $'200\nhello from lattice' s3c get bkt dir/hello.txt

# --- busybox --------------------------------------------------------------------------------
expect "busybox: echo" hello docker run --rm lattice/busybox:dev echo hello
run bb -p 127.0.0.1::8080 lattice/busybox:dev \
  sh -c 'echo served-by-busybox > /www/index.html && exec httpd -f -p 8080 -h /www'
BB=$(host_port bb 8080)
check "busybox: httpd answers" wait_for 10 curl -sf "http://$BB/"
expect "busybox: httpd serves the file" served-by-busybox curl -sf "http://$BB/index.html"

echo "$PASS passed, $FAIL failed"
((FAIL == 0))
