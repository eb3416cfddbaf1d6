#!/usr/bin/env bash
# Runs every libFuzzer target for longer than CI does (CI: 20 s each, scripts/run-fuzz.sh).
#
#   scripts/fuzz-long.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 600 s, every target)
#
# Builds the fuzz preset first (clang). Each target starts from its seed corpus in
# fuzz/corpus/<target>/ plus what earlier long runs found (build-fuzz/corpus-long/<target>/,
# kept between runs, never committed), so coverage accumulates. LATTICE_FUZZ_JOBS=N runs N
# workers per target (libFuzzer -fork) on a machine with cores to spare.
#
# A crash, leak, timeout or out-of-memory input is saved in build-fuzz/findings/<target>/ and
# the script exits 1 after the summary. To keep it as a regression test, copy the file into
# fuzz/corpus/<target>/ (CI replays the corpus on every run) and, when the parser has a unit
# test, add the input there too (see docs/RELIABILITY.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-600}"
shift || true
jobs="${LATTICE_FUZZ_JOBS:-1}"

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(sed -n 's/^lattice_fuzz(\([a-z_]*\).*/\1/p' fuzz/CMakeLists.txt)
fi

cmake --preset fuzz >/dev/null
cmake --build build-fuzz --target fuzz_all >/dev/null

summary=()
found=0
for target in "${targets[@]}"; do
  bin="build-fuzz/fuzz/$target"
  [[ -x $bin ]] || { echo "fuzz-long: $bin is not built" >&2; exit 2; }
  corpus="build-fuzz/corpus-long/$target"
  findings="build-fuzz/findings/$target"
  mkdir -p "$corpus" "$findings"
  log="build-fuzz/findings/$target.log"
  echo "fuzz-long: $target for ${seconds}s (log: $log)" >&2
  marker="$findings/.started"
  touch "$marker"  # findings of earlier runs stay, but only this run's count
  extra=()
  ((jobs > 1)) && extra+=("-fork=$jobs" "-ignore_crashes=1")
  set +e
  # New inputs go to the first corpus directory; the seeds are read only.
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${extra[@]}" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  artifacts=$(find "$findings" -maxdepth 1 -type f ! -name .started -newer "$marker" | wc -l)
  summary+=("$(printf '%-24s %6ss  execs %-10s cov %-6s corpus %-5s findings %s  exit %s' \
    "$target" "$seconds" "${execs:-?}" "${cov:-?}" "$(find "$corpus" -type f | wc -l)" \
    "$artifacts" "$rc")")
  ((artifacts > 0 || rc != 0)) && found=1
done

printf '%s\n' "${summary[@]}"
if ((found)); then
  echo "fuzz-long: findings in build-fuzz/findings/ (see the logs there)" >&2
  exit 1
fi
