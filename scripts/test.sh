#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs every test
# (unit, component, API system tests, a bounded fuzz run, the format check) with CTest.
# With CI=true warnings are errors. Ends with CTest's summary; exit status is CTest's.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
jobs=$(nproc)

cmake --preset release -DLATTICE_WERROR=$werror >/dev/null
cmake --build build -j "$jobs"
# libFuzzer targets need clang; they live in their own build tree.
cmake --preset fuzz -DLATTICE_WERROR=$werror >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_all

cd build
exec ctest --output-on-failure -j "$jobs" --timeout 600 "$@"
