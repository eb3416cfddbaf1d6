#!/usr/bin/env bash
# Installs, from Debian 12 packages only, everything Lattice needs to build and test.
# Idempotent: installs only what is missing and runs `apt-get update` only when it must.
# Usage: scripts/setup.sh [--run | --bench]
#   --run    only what building and running Lattice needs (scripts/up.sh): no test browser,
#            no PostgreSQL server, no clang or fuzzing toolchain — about half the download
#   --bench  everything, plus the benchmark tools: wrk, nginx, iperf3, and the peers that
#            bench/tunnel/peers.sh compares tunnels with: stunnel4, openssh-server (the script
#            runs its own sshd on a loopback port; on a machine with systemd, installing the
#            package also enables and starts the system's sshd)
set -euo pipefail

run_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsodium-dev
  libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libpq-dev
  libcurl4-openssl-dev
  mmdebstrap docker.io curl ca-certificates nodejs npm
)
packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev clang-format git
  # libraries (DESIGN.md's dependency table)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsodium-dev
  libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev
  # notifications: webhooks over HTTP(S) and e-mail over SMTP (docs/notifications.md)
  libcurl4-openssl-dev
  # local images (scripts/build-images.sh) and the Docker engine (scripts/ensure-docker.sh)
  mmdebstrap docker.io
  # system tests: real clients for what Lattice deploys
  python3 python3-yaml python3-jsonschema curl ca-certificates iproute2 procps jq
  postgresql-client
  # notification tests: a real SMTP sink
  python3-aiosmtpd
  # the PostgreSQL store's tests start their own throwaway server from its binaries
  postgresql
  # web console: its build (Node.js 20+, npm) and its end-to-end test browser
  nodejs npm chromium
  # packaging: the .deb's Depends (dpkg-shlibdeps, in dpkg-dev) and the compose test
  dpkg-dev docker-compose
)
case "${1:-}" in
  --run) packages=("${run_packages[@]}") ;;
  --bench) packages+=(wrk nginx-light iperf3 stunnel4 openssh-server) ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--run | --bench]" >&2; exit 2 ;;
esac

# A package whose program is already on the PATH from elsewhere (a newer Node.js, a psql or
# dockerd installed another way) counts as present: installing Debian's over it can conflict.
declare -A provides=([nodejs]=node [npm]=npm [chromium]=chromium [postgresql-client]=psql
                     [docker.io]=dockerd [jq]=jq [curl]=curl [git]=git
                     [docker-compose]=docker-compose)
missing=()
for p in "${packages[@]}"; do
  if [[ -n ${provides[$p]:-} ]] && command -v "${provides[$p]}" >/dev/null; then continue; fi
  if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all ${1:+${1#--} }dependencies present" >&2
