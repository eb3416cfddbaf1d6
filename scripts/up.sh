#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts Lattice on its
# embedded default (SQLite under ./data, everything on loopback). Ctrl-C stops it.
# Environment: LATTICE_LISTEN (default 127.0.0.1:8080), LATTICE_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset release >/dev/null
cmake --build build -j "$(nproc)"

listen="${LATTICE_LISTEN:-127.0.0.1:8080}"
data_dir="${LATTICE_DATA_DIR:-./data}"
url="http://${listen}"
cat <<MSG

  Lattice is starting at ${url}   (data: ${data_dir})

  Sign in: the first account registered becomes the administrator.
    curl -s ${url}/api/v1/auth/register -H 'Content-Type: application/json' \\
         -d '{"email":"you@example.com","password":"choose-a-long-password"}'
  The answer holds a token; send it as 'Authorization: Bearer <token>':
    curl -s ${url}/api/v1/auth/me -H "Authorization: Bearer <token>"

MSG
exec build/lattice server --listen "$listen" --data-dir "$data_dir"
