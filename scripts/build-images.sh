#!/usr/bin/env bash
# Build Lattice's local images (no container registry is reachable here), skipping any whose
# recipe is unchanged.
#
#   scripts/build-images.sh [NAME...]      NAME = debian postgres s3 busybox pgtools (default: all)
#
# lattice/debian:bookworm is `mmdebstrap --variant=minbase` of the host's Debian apt sources,
# imported with `docker import`; the other images are `docker build` of images/<name>/ FROM it.
# Every image carries LABEL lattice.recipe-hash; an image whose label matches the recipe's
# current hash is not rebuilt, and the base tarball is cached in .cache/images/ under its hash.
# One summary line per image goes to stdout; build logs go to .cache/images/logs/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache/images
mkdir -p "$CACHE/logs"
# One build at a time per checkout: concurrent runs would share the partial tarball and contexts.
exec 9>"$CACHE/.lock"
flock 9

# name -> tag; children are built in this order, after the base.
declare -A TAGS=([debian]=lattice/debian:bookworm [postgres]=lattice/postgres:15
                 [s3]=lattice/s3:dev [busybox]=lattice/busybox:dev [pgtools]=lattice/pgtools:15)
CHILDREN=(postgres s3 busybox pgtools)

log() { echo "build-images: $*" >&2; }

engine=$("$ROOT/scripts/ensure-docker.sh" | tail -1)  # fails the script if no engine
export DOCKER_HOST=${engine#DOCKER_HOST=}
# The classic builder: it honours --network host without BuildKit entitlements, and needs no
# buildx plugin (Debian's docker.io has none).
export DOCKER_BUILDKIT=0

# The host's Debian apt sources: every sources file whose URIs end in /debian or
# /debian-security (third-party repositories are left out: their keys are not in the chroot).
# LATTICE_APT_SOURCES=<file> overrides this.
apt_sources() {
  if [[ -n ${LATTICE_APT_SOURCES:-} ]]; then echo "$LATTICE_APT_SOURCES"; return; fi
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && grep -qE '^[^#]*://[^ ]*/debian(-security)?/?( |$)' "$f" && echo "$f"
  done
  return 0
}
mapfile -t SOURCES < <(apt_sources)
((${#SOURCES[@]})) || { log "no Debian apt sources found in /etc/apt; set LATTICE_APT_SOURCES"; exit 1; }

# minbase keeps the base small; docs and man pages are never read in a container (dpkg applies
# the filter to packages installed later, e.g. by the images' Dockerfiles).
MMDEBSTRAP_ARGS=(--variant=minbase --mode=root --aptopt='APT::Install-Recommends "false"'
  --aptopt='Acquire::Languages "none"'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright')

# Image config for the imported base (part of its recipe hash too).
IMPORT_CHANGES=(--change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]')

label_of() { docker image inspect -f '{{ index .Config.Labels "lattice.recipe-hash" }}' "$1" 2>/dev/null || true; }

# Hash of a recipe directory: every file's path, mode and content, plus the parent's hash
# (a local node_modules, e.g. from trying front.js by hand, is not part of the recipe).
recipe_hash() {
  local dir=$1 parent=$2 files
  mapfile -t files < <(cd "$dir" && find . -name node_modules -prune -o -type f -print | LC_ALL=C sort)
  { echo "$parent"; (cd "$dir" && stat -c '%n %a' "${files[@]}" && cat "${files[@]}"); } | sha256sum | cut -c1-16
}

# A recipe with a package-lock.json gets its node_modules installed here on the host, into a copy
# of the recipe that becomes the build context (see images/s3/Dockerfile for why).
npm_context() {
  local name=$1 ctx=$CACHE/context/$1
  command -v npm >/dev/null || { log "installing npm from Debian"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >&2; }
  rm -rf "$ctx" && mkdir -p "$ctx" && cp -a "$ROOT/images/$name/." "$ctx/" && rm -rf "$ctx/node_modules"
  (cd "$ctx" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund) >>"$CACHE/logs/$name.log" 2>&1 ||
    { tail -n 20 "$CACHE/logs/$name.log" >&2; return 1; }
  echo "$ctx"
}

summary() { printf '%-26s %-7s %s\n' "$1" "$2" "$3"; }

build_base() {
  local tag=${TAGS[debian]} hash tarball t0=$SECONDS
  hash=$({ printf '%s\n' bookworm "${MMDEBSTRAP_ARGS[@]}" "${IMPORT_CHANGES[@]}"; cat "${SOURCES[@]}"; } | sha256sum | cut -c1-16)
  BASE_HASH=$hash
  if [[ $(label_of "$tag") == "$hash" ]]; then summary "$tag" cached "recipe $hash"; return; fi
  tarball=$CACHE/debian-bookworm-$hash.tar
  if [[ ! -f $tarball ]]; then
    log "mmdebstrap bookworm from ${SOURCES[*]} (log: $CACHE/logs/debian.log)"
    # The .tar suffix tells mmdebstrap the output format; rename only once it is complete.
    mmdebstrap "${MMDEBSTRAP_ARGS[@]}" bookworm "$CACHE/.partial-$hash.tar" "${SOURCES[@]}" \
      >"$CACHE/logs/debian.log" 2>&1 || { tail -n 20 "$CACHE/logs/debian.log" >&2; exit 1; }
    mv "$CACHE/.partial-$hash.tar" "$tarball"
    # Older base tarballs are dead weight once a new one exists.
    find "$CACHE" -maxdepth 1 -name 'debian-bookworm-*.tar' ! -name "${tarball##*/}" -delete
  fi
  docker import --change "LABEL lattice.recipe-hash=$hash" "${IMPORT_CHANGES[@]}" "$tarball" "$tag" >/dev/null ||
    { summary "$tag" FAILED "docker import of $tarball"; exit 1; }
  summary "$tag" built "recipe $hash, $((SECONDS - t0))s"
}

build_child() {
  local name=$1 tag=${TAGS[$1]} hash t0=$SECONDS logf=$CACHE/logs/$1.log
  hash=$(recipe_hash "$ROOT/images/$name" "$BASE_HASH")
  if [[ $(label_of "$tag") == "$hash" ]]; then summary "$tag" cached "recipe $hash"; return; fi
  log "building $tag (log: $logf)"
  : >"$logf"
  local ctx=$ROOT/images/$name
  if [[ -f $ctx/package-lock.json ]]; then ctx=$(npm_context "$name") || { summary "$tag" FAILED "npm ci, see $logf"; return 1; }; fi
  # --network host: RUN steps reach the apt mirror even when dockerd runs without iptables
  # (no NAT for containers). --force-rm: no intermediate containers left on failure.
  if ! docker build --network host --force-rm --label "lattice.recipe-hash=$hash" -t "$tag" \
      "$ctx" >>"$logf" 2>&1; then
    tail -n 30 "$logf" >&2; summary "$tag" FAILED "see $logf"; return 1
  fi
  summary "$tag" built "recipe $hash, $((SECONDS - t0))s"
}

want=("$@"); ((${#want[@]})) || want=(debian "${CHILDREN[@]}")
for name in "${want[@]}"; do [[ -n ${TAGS[$name]:-} ]] || { log "unknown image '$name' (know: ${!TAGS[*]})"; exit 2; }; done
build_base  # always: the children's hashes include the base's
failed=0
for name in "${CHILDREN[@]}"; do
  [[ " ${want[*]} " == *" $name "* ]] || continue
  build_child "$name" || failed=1
done
# Drop our own images that rebuilds left untagged (only ours: the engine may be the user's).
docker image prune -f --filter label=lattice.recipe-hash >/dev/null 2>&1 || true
exit $failed
