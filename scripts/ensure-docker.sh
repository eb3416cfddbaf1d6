#!/usr/bin/env bash
# Make sure a Docker engine answers, and say where.
#
#   export "$(scripts/ensure-docker.sh | tail -1)"     (or: eval "export $(...)")
#
# The last line of stdout is always `DOCKER_HOST=<url>`; everything else goes to stderr.
# An engine that already answers ($DOCKER_HOST, then /var/run/docker.sock) is used as is.
# Otherwise Debian's docker.io is installed if needed and a private dockerd is started with its
# own data root and socket, so it never fights with a system dockerd; scripts/stop-docker.sh
# stops it again (only if this script started it, see the marker file).
# LATTICE_DOCKER_{RUN_DIR,DATA_ROOT,LOG} and LATTICE_DOCKERD_ARGS allow a second, separate engine.
set -euo pipefail

RUN_DIR=${LATTICE_DOCKER_RUN_DIR:-/run/lattice}  # socket, pid, marker, exec-root
SOCK=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/docker.pid
MARKER=$RUN_DIR/docker.started-by-lattice
DATA_ROOT=${LATTICE_DOCKER_DATA_ROOT:-/var/lib/lattice/docker}
LOG=${LATTICE_DOCKER_LOG:-/var/log/lattice/dockerd.log}
TIMEOUT=${LATTICE_DOCKER_TIMEOUT:-180}

log() { echo "ensure-docker: $*" >&2; }

# True if a Docker engine answers _ping at the given DOCKER_HOST-style URL.
answers() {
  case "$1" in
    unix://*) [[ -S ${1#unix://} &&
      $(curl -sf --max-time 3 --unix-socket "${1#unix://}" http://d/_ping 2>/dev/null) == OK ]] ;;
    tcp://*) [[ $(curl -sf --max-time 3 "http://${1#tcp://}/_ping" 2>/dev/null) == OK ]] ;;
    *) return 1 ;;
  esac
}

for url in ${DOCKER_HOST:+"$DOCKER_HOST"} unix:///var/run/docker.sock "unix://$SOCK"; do
  if answers "$url"; then
    log "engine answers at $url; leaving it alone"
    echo "DOCKER_HOST=$url"
    exit 0
  fi
done

[[ $(id -u) == 0 ]] || { log "no Docker engine answers and starting one needs root"; exit 1; }

mkdir -p "$RUN_DIR" "$DATA_ROOT" "$(dirname "$LOG")"
# Callers may race (parallel test jobs): one starts dockerd, the others wait and then find it.
exec 9>"$RUN_DIR/ensure-docker.lock"
flock -w 300 9 || { log "timed out waiting for another ensure-docker.sh"; exit 1; }
if answers "unix://$SOCK"; then echo "DOCKER_HOST=unix://$SOCK"; exit 0; fi

if ! command -v dockerd >/dev/null; then
  log "installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  # Only refresh the package lists when the install fails: update is slow and usually unneeded.
  apt-get install -y -q docker.io >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q docker.io >&2; }
fi

# Start dockerd detached (setsid, all fds redirected) so that `$(ensure-docker.sh)` returns
# and a Ctrl-C in the caller's terminal does not reach it. Prints its pid.
start_dockerd() {
  # shellcheck disable=SC2086  # LATTICE_DOCKERD_ARGS is a list of extra flags
  setsid dockerd \
    --data-root "$DATA_ROOT" \
    --host "unix://$SOCK" \
    --exec-root "$RUN_DIR/docker-exec" \
    --pidfile "$PIDFILE" \
    ${LATTICE_DOCKERD_ARGS:-} "$@" </dev/null >>"$LOG" 2>&1 9>&- &
  echo $!
}

# Wait until our socket answers; fail early if dockerd died.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    answers "unix://$SOCK" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 2
}

log "starting dockerd (log: $LOG)"
echo "--- $(date -Is) ensure-docker: starting dockerd" >>"$LOG"
pid=$(start_dockerd)
rc=0; wait_ready "$pid" || rc=$?
if ((rc == 1)) && tail -n 50 "$LOG" | grep -i iptables >/dev/null; then  # no -q: SIGPIPE + pipefail
  # Kernels/sandboxes without usable netfilter make dockerd exit at start. Without iptables,
  # published ports still work through docker-proxy (the userland proxy, on by default), which
  # is all Lattice needs: ports are published on 127.0.0.1 only. Containers then have no NAT to
  # the outside, so image builds use --network host (see build-images.sh).
  log "dockerd failed on iptables; retrying with --iptables=false"
  echo "--- $(date -Is) ensure-docker: retrying with --iptables=false" >>"$LOG"
  pid=$(start_dockerd --iptables=false)
  rc=0; wait_ready "$pid" || rc=$?
fi
if ((rc != 0)); then
  if ((rc == 2)); then log "dockerd did not answer on $SOCK within ${TIMEOUT}s"; else log "dockerd exited"; fi
  log "see $LOG:"; tail -n 15 "$LOG" >&2
  exit 1
fi

# The marker tells stop-docker.sh that this engine is ours to stop.
printf 'pid=%s\nsocket=%s\nlog=%s\nstarted=%s\n' "$(cat "$PIDFILE" 2>/dev/null || echo "$pid")" \
  "$SOCK" "$LOG" "$(date -Is)" >"$MARKER"
log "dockerd ready (pid $(sed -n 's/^pid=//p' "$MARKER"))"
echo "DOCKER_HOST=unix://$SOCK"
