#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its seed corpus (copied to a temp dir so
# the repository's corpus is not modified). Usage: scripts/run-fuzz.sh TARGET SECONDS
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$1"; seconds="${2:-20}"
bin="$root/build-fuzz/fuzz/$target"
[[ -x "$bin" ]] || { echo "run-fuzz: $bin is not built (cmake --preset fuzz && cmake --build build-fuzz)" >&2; exit 1; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cp -r "$root/fuzz/corpus/$target/." "$work/" 2>/dev/null || true
cd "$work"
"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$work" 2>&1 | tail -20
