#!/usr/bin/env bash
# The packages step of a first run on a machine without them: scripts/setup.sh --run (what
# scripts/up.sh runs first) in a clean Debian 12 container of the local base image
# (lattice/debian:bookworm, minbase), with the host's network for the Debian mirror.
# Prints the seconds it took, the number of packages and the size of the download.
#
#   bench/first-run/apt.sh [--preinstall "PKG..."]   (needs a Docker engine: ensure-docker.sh)
#
# --preinstall installs PKG... first, untimed: what the machine comes with. A machine of the
# kind this project's CI runs on ships g++, CMake, GoogleTest, git, curl and Node.js with npm:
#   --preinstall "build-essential cmake git curl ca-certificates libgtest-dev libgmock-dev nodejs npm"
# The container is removed afterwards. Its apt lists start empty, so `apt-get update` is part
# of the time, as on a fresh machine.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pre=""
if [[ ${1:-} == --preinstall ]]; then pre=$2; shift 2; fi
(($# == 0)) || { echo "usage: $0 [--preinstall \"PKG...\"]" >&2; exit 2; }
name=lattice-first-run-apt-$$
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker run --name "$name" --network host -e PRE="$pre" -v "$SRC/scripts:/src/scripts:ro" \
  lattice/debian:bookworm bash -ec '
    export DEBIAN_FRONTEND=noninteractive
    if [[ -n $PRE ]]; then
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $PRE >/dev/null
      echo "apt: preinstalled (untimed): $PRE"
      rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb  # setup.sh starts from no lists
    fi
    before=$(dpkg-query -W | wc -l)
    t0=$EPOCHREALTIME
    /src/scripts/setup.sh --run
    t1=$EPOCHREALTIME
    echo "apt: setup.sh --run took $(awk "BEGIN{print $t1 - $t0}") s;" \
         "$(($(dpkg-query -W | wc -l) - before)) packages installed;" \
         "downloaded $(du -sm /var/cache/apt/archives | cut -f1) MB"'
