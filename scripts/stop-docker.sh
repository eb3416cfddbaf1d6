#!/usr/bin/env bash
# Stop the dockerd that scripts/ensure-docker.sh started, and only that one: an engine we found
# already running (the user's own) has no marker and is left alone.
set -euo pipefail

MARKER=${LATTICE_DOCKER_RUN_DIR:-/run/lattice}/docker.started-by-lattice
TIMEOUT=${LATTICE_DOCKER_STOP_TIMEOUT:-60}

log() { echo "stop-docker: $*" >&2; }

if [[ ! -f $MARKER ]]; then
  log "no marker ($MARKER): not ours to stop; nothing done"
  exit 0
fi
pid=$(sed -n 's/^pid=//p' "$MARKER")

# Guard against pid reuse after a reboot or crash: only signal a process that is dockerd.
if [[ -z $pid || $(cat "/proc/$pid/comm" 2>/dev/null) != dockerd ]]; then
  log "dockerd from the marker (pid ${pid:-?}) is not running; removing stale marker"
  rm -f "$MARKER"
  exit 0
fi

# SIGTERM makes dockerd stop its containers (each gets its stop timeout) and its containerd.
log "stopping dockerd pid $pid"
kill -TERM "$pid"
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$pid" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    log "dockerd pid $pid still running after ${TIMEOUT}s; leaving marker, see $(sed -n 's/^log=//p' "$MARKER")"
    exit 1
  fi
  sleep 0.5
done
rm -f "$MARKER"
log "stopped"
