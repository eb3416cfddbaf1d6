#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts Lattice on its
# embedded default — `lattice dev`: the server and one local agent in one process, SQLite under
# ./data, everything on loopback — on a Docker engine (the one that answers, or a private
# dockerd it starts) with the template images built locally. Ctrl-C stops it.
# Environment: LATTICE_LISTEN (default 127.0.0.1:8080), LATTICE_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent >/dev/null)
cmake --preset release >/dev/null
cmake --build build -j "$(nproc)"
eval "export $(scripts/ensure-docker.sh | tail -1)"
scripts/build-images.sh

listen="${LATTICE_LISTEN:-127.0.0.1:8080}"
data_dir="${LATTICE_DATA_DIR:-./data}"
url="http://${listen}"
cat <<MSG

  Lattice is starting at ${url}   (data: ${data_dir}, Docker: ${DOCKER_HOST})

  Open ${url} in a browser and sign up: the first account becomes the administrator.
  Or from a terminal:
    curl -s ${url}/api/v1/auth/register -H 'Content-Type: application/json' \\
         -d '{"email":"you@example.com","password":"choose-a-long-password"}'
  The answer holds a token; send it as 'Authorization: Bearer <token>', e.g. deploy PostgreSQL:
    curl -s ${url}/api/v1/workloads -H "Authorization: Bearer \$TOKEN" \\
         -H 'Content-Type: application/json' -d '{"name":"db","template":"postgres"}'

MSG
exec build/lattice dev --listen "$listen" --data-dir "$data_dir" \
  --image postgres=lattice/postgres:15 --image minio=lattice/s3:dev
