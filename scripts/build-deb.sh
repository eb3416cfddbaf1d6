#!/usr/bin/env bash
# Builds the Debian package: the `lattice` binary (only it, not the tests), then CPack's DEB
# generator (packaging/CMakeLists.txt). Prints the package's path as the last line of stdout.
#
#   scripts/build-deb.sh [BUILD_DIR]      (default: build, configured with the release preset)
#
# Needs dpkg-dev (dpkg-shlibdeps computes Depends); scripts/setup.sh installs it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(realpath -m "${1:-$ROOT/build}")

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  (cd "$ROOT" && cmake --preset release -B "$BUILD" >&2)
fi
cmake --build "$BUILD" --target lattice >&2
# The version comes from the configured project; the file name is Debian's.
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb=$BUILD/lattice_${version}_${arch}.deb
rm -f "$deb"
(cd "$BUILD" && cpack -G DEB --config CPackConfig.cmake >"$BUILD/cpack.log" 2>&1) ||
  { tail -n 30 "$BUILD/cpack.log" >&2; exit 1; }
[[ -f $deb ]] || { echo "build-deb: cpack did not produce $deb (see $BUILD/cpack.log)" >&2; exit 1; }
echo "build-deb: $deb ($(du -h "$deb" | cut -f1))" >&2
echo "$deb"
