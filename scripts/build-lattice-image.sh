#!/usr/bin/env bash
# Builds Lattice's own images from its Debian package, on the local Debian base:
#   lattice/lattice:TAG          the server (images/lattice/)
#   lattice/lattice-agent:TAG    the node agent, for the host's Docker socket (images/lattice-agent/)
#
#   scripts/build-lattice-image.sh [--tag TAG] [--latest] [DEB]
#
# DEB defaults to the package scripts/build-deb.sh builds; TAG defaults to the package's
# version; --latest also tags both images `latest` (what compose.yaml runs by default).
# An image whose LABEL lattice.recipe-hash matches (Dockerfile + package) is not rebuilt.
# Prints the two image references on stdout, one per line.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag="" latest=0 deb=""
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --latest) latest=1; shift ;;
    -*) echo "usage: $0 [--tag TAG] [--latest] [DEB]" >&2; exit 2 ;;
    *) deb=$1; shift ;;
  esac
done
[[ -n $deb ]] || deb=$("$ROOT/scripts/build-deb.sh" | tail -1)
deb=$(realpath "$deb")
[[ -n $tag ]] || tag=$(dpkg-deb -f "$deb" Version)

engine=$("$ROOT/scripts/ensure-docker.sh" | tail -1)
export DOCKER_HOST=${engine#DOCKER_HOST=}
export DOCKER_BUILDKIT=0  # the classic builder, as scripts/build-images.sh (--network host)
"$ROOT/scripts/build-images.sh" debian >&2

log_dir=$ROOT/.cache/images/logs
ctx=$(mktemp -d "${TMPDIR:-/tmp}/lattice-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$log_dir" "$ctx/server" "$ctx/agent"
cp "$ROOT/images/lattice/Dockerfile" "$ctx/server/"
cp "$ROOT/images/lattice-agent/Dockerfile" "$ctx/agent/"
ln "$deb" "$ctx/server/lattice.deb" 2>/dev/null || cp "$deb" "$ctx/server/lattice.deb"
# apt-get install arguments from Depends: the first of each set of alternatives, no versions
# (the base is the same Debian release the package was built on).
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' | grep . | tr '\n' ' ')

base_hash=$(docker image inspect -f '{{ index .Config.Labels "lattice.recipe-hash" }}' lattice/debian:bookworm)
label_of() { docker image inspect -f '{{ index .Config.Labels "lattice.recipe-hash" }}' "$1" 2>/dev/null || true; }
build() {  # build NAME CONTEXT HASH ARGS...
  local name=$1 dir=$2 hash=$3 ref=lattice/$1:$tag t0=$SECONDS; shift 3
  if [[ $(label_of "$ref") == "$hash" ]]; then
    echo "build-lattice-image: $ref cached (recipe $hash)" >&2
  elif docker build --network host --force-rm --label "lattice.recipe-hash=$hash" -t "$ref" \
        "$@" "$dir" >"$log_dir/$name.log" 2>&1; then
    echo "build-lattice-image: $ref built ($((SECONDS - t0))s)" >&2
  else
    tail -n 30 "$log_dir/$name.log" >&2
    echo "build-lattice-image: $ref FAILED (see $log_dir/$name.log)" >&2
    return 1
  fi
  if ((latest)); then docker tag "$ref" "lattice/$name:latest"; fi
  echo "$ref"
}
server_hash=$({ echo "$base_hash"; cat "$ctx/server/Dockerfile"; sha256sum <"$deb"; } | sha256sum | cut -c1-16)
agent_hash=$({ echo "$server_hash"; cat "$ctx/agent/Dockerfile"; } | sha256sum | cut -c1-16)
build lattice "$ctx/server" "$server_hash" --build-arg "DEPENDS=$depends"
build lattice-agent "$ctx/agent" "$agent_hash" --build-arg "BASE=lattice/lattice:$tag"
