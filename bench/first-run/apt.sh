#!/usr/bin/env bash
# The packages step of a first run on a machine without them: scripts/setup.sh --run (what
# scripts/up.sh runs first) in a clean Debian 12 container of the local base image
# (lattice/debian:bookworm, minbase), with the host's network for the Debian mirror.
# Prints the seconds it took, the number of packages and the size of the download.
#
#   bench/first-run/apt.sh              (needs a Docker engine: scripts/ensure-docker.sh)
#
# The container is removed afterwards. Its own apt lists start empty, so `apt-get update` is
# part of the time, as on a fresh machine.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=lattice-first-run-apt-$$
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker run --name "$name" --network host -v "$SRC/scripts:/src/scripts:ro" lattice/debian:bookworm \
  bash -ec '
    t0=$EPOCHREALTIME
    /src/scripts/setup.sh --run
    t1=$EPOCHREALTIME
    echo "apt: setup.sh --run took $(python3 -c "print(round($t1 - $t0, 1))" 2>/dev/null ||
                                     awk "BEGIN{print $t1 - $t0}") s"
    echo "apt: $(dpkg-query -W | wc -l) packages installed in all;" \
         "downloaded $(du -sm /var/cache/apt/archives | cut -f1) MB;" \
         "$(ls /var/cache/apt/archives/*.deb | wc -l) .deb files"'
