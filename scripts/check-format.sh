#!/usr/bin/env bash
# Fails if any C++ file differs from .clang-format's style. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard 'src/*.h' 'src/*.cc' 'fuzz/*.cc' 'bench/*.cc' 'tests/*.cc')
if [[ "${1:-}" == "--fix" ]]; then clang-format -i "${files[@]}"; exit 0; fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
