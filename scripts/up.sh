#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts Lattice on its
# embedded default — `lattice dev`: the server and one local agent in one process, SQLite under
# ./data, everything on loopback — on a Docker engine (the one that answers, or a private
# dockerd it starts) with the template images built locally. Ctrl-C stops it.
#
# It builds only what running needs: the `lattice` binary (not the tests: scripts/test.sh
# builds those) and the console, and skips every step whose inputs did not change — ccache
# keeps compiled objects across clones, web/dist is rebuilt only when web/ changed, images
# only when their recipe did. The images (network and disk) build in the background while the
# binary compiles (CPU). A second run with nothing changed starts in seconds.
#
# On a terminal each step shows its progress; elsewhere (CI, a pipe) it prints one line per
# step and keeps the build output in .cache/up/*.log, shown only when a step fails.
# Environment: LATTICE_LISTEN (default 127.0.0.1:8080), LATTICE_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."

LOGS=.cache/up
mkdir -p "$LOGS"
tty=0; [[ -t 1 && -z ${CI:-} ]] && tty=1
t_all=$SECONDS
step_n=0
STEPS=6

step() {  # step TITLE: announces the next step
  step_n=$((step_n + 1)); t_step=$SECONDS
  printf '[%d/%d] %s\n' "$step_n" "$STEPS" "$1" >&2
}
done_step() { ((tty)) && printf '      done in %ds\n' $((SECONDS - t_step)) >&2 || true; }

# quiet LOG CMD...: on a terminal the command's output streams through; otherwise it goes to
# LOG and only its last lines are shown if it fails.
quiet() {
  local log=$1; shift
  if ((tty)); then "$@"; return; fi
  if ! "$@" >"$log" 2>&1; then
    echo "up: failed: $* (last lines of $log):" >&2; tail -n 40 "$log" >&2; return 1
  fi
}

step "Debian packages (scripts/setup.sh --run)"
quiet "$LOGS/setup.log" scripts/setup.sh --run
done_step

step "Docker engine, then the images in the background"
engine=$(scripts/ensure-docker.sh 2>"$LOGS/engine.log" | tail -1) ||
  { cat "$LOGS/engine.log" >&2; exit 1; }
export "${engine?}"
# The images need the network and the disk, the compile below needs the CPU: building them
# side by side saves the images' time (minutes when they are built for the first time).
scripts/build-images.sh debian postgres s3 pgtools >"$LOGS/images.out" 2>"$LOGS/images.log" &
images_pid=$!
trap '[[ -z ${images_pid:-} ]] || kill "$images_pid" 2>/dev/null || true' EXIT
echo "      building in the background (log: $LOGS/images.log)" >&2
done_step

step "web console (web/dist)"
# npm ci only when package-lock.json changed since the last install; the build only when a
# console source is newer than web/dist.
if [[ ! -f web/node_modules/.package-lock.json || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  echo "      installing the console's packages (npm ci)" >&2
  (cd web && quiet "../$LOGS/npm-ci.log" npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ ! -f web/dist/index.html ]] ||
   [[ -n $(find web -path web/node_modules -prune -o -path web/dist -prune -o -path web/e2e -prune -o \
            -type f -newer web/dist/index.html -print -quit) ]]; then
  echo "      building the console (npm run build)" >&2
  (cd web && quiet "../$LOGS/npm-build.log" npm run build --silent)
else
  echo "      web/dist is up to date" >&2
fi
done_step

step "lattice binary (cmake --build build --target lattice)"
if [[ ! -f build/CMakeCache.txt ]]; then
  echo "      configuring (cmake --preset release)" >&2
  quiet "$LOGS/configure.log" cmake --preset release
fi
echo "      compiling" >&2
# Ninja shows one status line on a terminal: [finished/total] and the file being compiled.
if ((tty)); then
  NINJA_STATUS='      [%f/%t %p] ' cmake --build build --target lattice -j "$(nproc)"
else
  quiet "$LOGS/build.log" cmake --build build --target lattice -j "$(nproc)"
fi
done_step

step "images (scripts/build-images.sh debian postgres s3 pgtools)"
# Started in the background after the engine; here we wait for it and show its summary.
if ! wait "$images_pid"; then
  images_pid=""
  echo "up: failed: scripts/build-images.sh (last lines of $LOGS/images.log):" >&2
  tail -n 40 "$LOGS/images.log" >&2
  exit 1
fi
images_pid=""
sed 's/^/      /' "$LOGS/images.out" >&2
done_step

listen="${LATTICE_LISTEN:-127.0.0.1:8080}"
data_dir="${LATTICE_DATA_DIR:-./data}"
url="http://${listen}"
step "start (ready in $((SECONDS - t_all))s)"
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
