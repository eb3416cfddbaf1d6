#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs every test
# (unit, component, API and end-to-end system tests against a real Docker engine, a bounded
# fuzz run, the format check) with CTest.
# With CI=true warnings are errors. Ends with CTest's summary; exit status is CTest's.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# The web console first: the server embeds web/dist at build time.
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent >/dev/null)

werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
jobs=$(nproc)

cmake --preset release -DLATTICE_WERROR=$werror >/dev/null
cmake --build build -j "$jobs"
# libFuzzer targets need clang; they live in their own build tree.
cmake --preset fuzz -DLATTICE_WERROR=$werror >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_all

# The system tests need a Docker engine and the local images. ensure-docker.sh uses one that
# answers or starts a private dockerd; we stop it afterwards only if we started it.
marker=/run/lattice/docker.started-by-lattice
had_engine=0; [[ -f $marker ]] && had_engine=1
# Captured first: inside `eval "export $(...)"` a failure would be lost and the tests would run
# against no engine at all.
engine=$(scripts/ensure-docker.sh | tail -1)
export "$engine"
if [[ $had_engine == 0 && -f $marker ]]; then
  trap 'scripts/stop-docker.sh >/dev/null 2>&1 || true' EXIT
fi
scripts/build-images.sh
export LATTICE_REQUIRE_DOCKER=1  # docker-backed tests must run, not skip

cd build
set +e
ctest --output-on-failure -j "$jobs" --timeout 900 "$@"
rc=$?
exit $rc
