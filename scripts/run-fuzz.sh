#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its seed corpus (copied to a temp dir so
# the repository's corpus is not modified). Usage: scripts/run-fuzz.sh TARGET SECONDS
# A crashing input is kept in build-fuzz/crashes/ and shown (hex) with the top of the stack, so
# a CI log is enough to reproduce it: `build-fuzz/fuzz/TARGET build-fuzz/crashes/FILE`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$1"; seconds="${2:-20}"
bin="$root/build-fuzz/fuzz/$target"
[[ -x "$bin" ]] || { echo "run-fuzz: $bin is not built (cmake --preset fuzz && cmake --build build-fuzz)" >&2; exit 1; }
crashes="$root/build-fuzz/crashes"
mkdir -p "$crashes"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$root/fuzz/corpus/$target/." "$work/corpus/" 2>/dev/null || true
cd "$work"
set +e
"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$crashes/$target-" "$work/corpus" >"$work/log" 2>&1
rc=$?
set -e
if ((rc != 0)); then
  # The error and the frames nearest it, then the input.
  grep -m1 -A14 -E '^==[0-9]+== ?ERROR|^INFO: a leak|deadly signal' "$work/log" |
    grep -v 'Test unit written' || tail -40 "$work/log"
  for f in $(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$work/log" | sort -u); do
    [[ -f $f ]] || continue
    echo "input ($f, $(stat -c %s "$f") bytes):"
    head -c 2048 "$f" | od -An -c | head -40
  done
else
  tail -8 "$work/log"
fi
exit $rc
