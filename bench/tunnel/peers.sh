#!/usr/bin/env bash
# Tunnel peers benchmark (issue 22): Lattice's public endpoint against the container's own
# address (the limit), docker's published port, a stunnel4 pair and `ssh -L`, all to the same
# iperf3 and echo servers in one container, in one run; plus pgbench select-only against a
# Lattice postgres workload through its endpoint, its published port and its own address.
# bench/tunnel/peers.py does the measuring and says what each path is.
#
# Usage: bench/tunnel/peers.sh        (env: ROUNDS=3 SECONDS_PER=5 RTT_COUNT=10000,
#                                      LATTICE_BIN=build/lattice,
#                                      TUNNEL_BENCH=build/bench/tunnel/tunnel_bench)
# Writes bench/results/tunnel-peers.json. Exits non-zero only when something does not work; a
# goal that is not met is reported as such.
# Needs: scripts/setup.sh --bench (iperf3, stunnel4, openssh-server, pgbench), a Docker engine
# (scripts/ensure-docker.sh, run here), `cmake --build build --target lattice tunnel_bench`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export LATTICE_BIN="${LATTICE_BIN:-$root/build/lattice}"
export TUNNEL_BENCH="${TUNNEL_BENCH:-$root/build/bench/tunnel/tunnel_bench}"
[[ -x "$LATTICE_BIN" ]] || { echo "build first: cmake --build build --target lattice" >&2; exit 1; }
[[ -x "$TUNNEL_BENCH" ]] || { echo "build first: cmake --build build --target tunnel_bench" >&2; exit 1; }
for tool in iperf3 pgbench pg_isready ssh ssh-keygen openssl; do
  command -v "$tool" >/dev/null || { echo "$tool missing: scripts/setup.sh --bench" >&2; exit 1; }
done
command -v stunnel4 >/dev/null || command -v stunnel >/dev/null ||
  { echo "stunnel4 missing: scripts/setup.sh --bench" >&2; exit 1; }
[[ -x /usr/sbin/sshd ]] || { echo "sshd missing: scripts/setup.sh --bench" >&2; exit 1; }

engine=$("$root/scripts/ensure-docker.sh" | tail -1)
export DOCKER_HOST="${engine#DOCKER_HOST=}"
# lattice/postgres:15 and the base image, rebuilt only if their recipes changed.
"$root/scripts/build-images.sh" postgres >&2
# The benchmark's own image (iperf3 + an echo server), rebuilt when its recipe or the base changed.
recipe="$root/bench/tunnel/netbench"
hash=$({ docker image inspect -f '{{.Id}}' lattice/debian:bookworm; cat "$recipe/Dockerfile"; } |
       sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{ index .Config.Labels "lattice.recipe-hash" }}' \
       lattice/netbench:dev 2>/dev/null || true)
if [[ "$have" != "$hash" ]]; then
  echo "peers: building lattice/netbench:dev" >&2
  # As scripts/build-images.sh: the classic builder, --network host for the apt mirror.
  DOCKER_BUILDKIT=0 docker build -q --network host --force-rm --label "lattice.recipe-hash=$hash" \
    -t lattice/netbench:dev "$recipe" >&2
fi
exec /usr/bin/python3 "$root/bench/tunnel/peers.py"
