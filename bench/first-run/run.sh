#!/usr/bin/env bash
# Issue 21's benchmark: from a fresh `git clone` to the console answering with the README's
# first command (scripts/up.sh), split into its steps, then a second run with nothing changed.
#
#   bench/first-run/run.sh [--cold] [--ref REF] [--keep]
#
#   --cold   nothing reused from this machine: an empty ccache (CCACHE_DIR), an empty npm cache
#            and a Docker engine of its own with an empty data root (so the images are built
#            from Debian packages, as on a fresh machine), all in the temp dir. Without it the
#            machine's ccache, npm cache and Docker engine (with its images) are used: the
#            "clone again on a machine that has run Lattice before" case.
#   --ref    what to clone (default: HEAD of this checkout; commit first, the clone has no
#            uncommitted changes)
#   --keep   keep the temp dir (clone, build, logs) for inspection
#
# Debian packages: the first step of up.sh (scripts/setup.sh --run) finds them installed here;
# bench/first-run/apt.sh measures installing them into a clean Debian 12 container.
# Writes bench/results/first-run-<mode>-<time>.json and prints a table. On this 2-core machine
# only one C++ build should run at a time: run it under the build lock if others share it, e.g.
#   flock /tmp/lattice-build.lock bench/first-run/run.sh --cold
# Every request goes to 127.0.0.1; the servers and the engine it started are stopped at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(git -C "$HERE" rev-parse --show-toplevel)
cold=0 ref=HEAD keep=0
while (($#)); do
  case $1 in
    --cold) cold=1; shift ;;
    --ref) ref=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--cold] [--ref REF] [--keep]" >&2; exit 2 ;;
  esac
done
commit=$(git -C "$SRC" rev-parse "$ref")
mode=$([[ $cold == 1 ]] && echo cold || echo warm)

# A short path: the private engine's sockets live under it (unix socket paths are short).
tmp=$(mktemp -d /tmp/lfr.XXXXXX)
clone=$tmp/lattice
up_pid=""
cleanup() {
  if [[ -n $up_pid ]] && kill -0 "$up_pid" 2>/dev/null; then
    kill -TERM "$up_pid"; wait "$up_pid" 2>/dev/null || true
  fi
  if ((cold)) && [[ -f $tmp/docker-run/docker.started-by-lattice ]]; then
    LATTICE_DOCKER_RUN_DIR=$tmp/docker-run "$SRC/scripts/stop-docker.sh" || true
  fi
  # A stopped dockerd can leave its default network namespace mounted under its exec root.
  if ((cold)); then
    awk -v d="$tmp/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount || true
  fi
  if ((cold)) && [[ -n ${bridge:-} ]]; then ip link del "$bridge" 2>/dev/null || true; fi
  if ((keep)); then echo "first-run: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export LATTICE_LISTEN=127.0.0.1:$port LATTICE_DATA_DIR=$tmp/data
if ((cold)); then
  export CCACHE_DIR=$tmp/ccache npm_config_cache=$tmp/npm-cache
  export LATTICE_DOCKER_RUN_DIR=$tmp/docker-run LATTICE_DOCKER_DATA_ROOT=$tmp/docker-data
  export LATTICE_DOCKER_LOG=$tmp/dockerd.log
  # A bridge of its own and no iptables rules: the engine must not touch the machine's own
  # engine's docker0 or chains (image builds use --network host anyway). Not --bridge=none:
  # dockerd then deletes the host's docker0, which the machine's engine still uses. The
  # bridge's address is link-local: nothing is routed through it.
  bridge=lfrbr${tmp##*.}
  ip link add "$bridge" type bridge
  ip addr add 169.254.213.1/24 dev "$bridge"
  ip link set "$bridge" up
  export LATTICE_DOCKERD_ARGS="--bridge=$bridge --iptables=false"
  unset DOCKER_HOST
  if curl -sf --max-time 3 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
    echo "first-run: /var/run/docker.sock answers; up.sh would use it, so --cold can't start a cold engine" >&2
    exit 1
  fi
fi

now() { echo "$EPOCHREALTIME"; }
since() { python3 -c "print(round($(now) - $1, 1))"; }

# up_run NAME: starts scripts/up.sh in the clone, stamps each line it prints on stderr, waits
# for the console to answer (GET / → 200 with the console's page), stops it. Sets run_t0 (its
# start) and run_s (seconds until the console answered).
up_run() {
  local name=$1 t0 fifo=$tmp/$1.fifo
  mkfifo "$fifo"
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done <"$fifo" >"$tmp/$name.steps" &
  local stamper=$!
  t0=$(now)
  (cd "$clone" && exec scripts/up.sh) </dev/null >"$tmp/$name.out" 2>"$fifo" &
  up_pid=$!
  until curl -sf --max-time 2 "http://$LATTICE_LISTEN/" 2>/dev/null | grep -qi '<html'; do
    if ! kill -0 "$up_pid" 2>/dev/null; then
      echo "first-run: up.sh ($name) exited before the console answered:" >&2
      tail -n 40 "$tmp/$name.steps" >&2; exit 1
    fi
    sleep 0.2
  done
  run_s=$(since "$t0") run_t0=$t0
  kill -TERM "$up_pid"; wait "$up_pid" 2>/dev/null || true; up_pid=""
  wait "$stamper" 2>/dev/null || true
}

echo "first-run: $mode, commit ${commit:0:12}, temp dir $tmp" >&2
t=$(now)
git clone -q "file://$SRC" "$clone"
git -C "$clone" -c advice.detachedHead=false checkout -q "$commit"
clone_s=$(since "$t")

up_run first; t1=$run_t0 first_s=$run_s
# The background image build's last summary line, before the second run rewrites the file.
images_mtime=$(stat -c %Y "$clone/.cache/up/images.out" 2>/dev/null || echo "")
echo "first-run: first run: console answered after ${first_s}s (+ ${clone_s}s clone)" >&2
up_run second; t2=$run_t0 second_s=$run_s
echo "first-run: second run: console answered after ${second_s}s" >&2

ninja_log=$clone/build/.ninja_log
mkdir -p "$SRC/bench/results"
out=$SRC/bench/results/first-run-$mode-$(date +%Y%m%dT%H%M%S).json
python3 - "$tmp/first.steps" "$t1" "$first_s" "$tmp/second.steps" "$t2" "$second_s" \
  "$clone_s" "$mode" "$commit" "$ninja_log" "$out" "$images_mtime" <<'EOF'
import json, os, re, sys
(first, t1, first_s, second, t2, second_s, clone_s, mode, commit, ninja_log, out,
 images_mtime) = sys.argv[1:]

# Phases: each is timed from its line in up.sh's output to the next line that starts a phase.
PHASES = [("packages", r"^\[\d+/\d+\] Debian packages"),
          ("console: npm ci", r"installing the console's packages"),
          ("console: build", r"building the console"),
          ("console: up to date", r"web/dist is up to date"),
          ("cmake configure", r"^\s*configuring \(cmake"),
          ("compile (lattice target)", r"^\s*compiling$"),
          ("docker engine", r"^\[\d+/\d+\] Docker engine"),
          ("images (what is left after the compile)", r"^\[\d+/\d+\] images"),
          ("start until the console answers", r"^\[\d+/\d+\] start")]

def phases(path, t0, total):
    marks = []
    for line in open(path):
        ts, _, text = line.rstrip("\n").partition(" ")
        for name, rx in PHASES:
            if re.search(rx, text):
                marks.append((name, float(ts)))
    end = float(t0) + float(total)
    res = {}
    for i, (name, ts) in enumerate(marks):
        nxt = marks[i + 1][1] if i + 1 < len(marks) else end
        res[name] = round(nxt - ts, 1)
    first_mark = marks[0][1] if marks else end
    res["(script start)"] = round(first_mark - float(t0), 1)
    return res

def images_done(mtime, t0):
    """When the background image build wrote its last summary line (up.sh's images.out)."""
    return round(float(mtime) - float(t0), 1) if mtime else None

def slowest_units(path, n=15):
    if not os.path.exists(path):
        return []
    rows = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        start, end, _, target, _ = line.split("\t")
        if target.endswith(".o"):
            rows[target] = (int(end) - int(start)) / 1000
    top = sorted(rows.items(), key=lambda kv: -kv[1])
    return {"units": len(rows), "sum_s": round(sum(rows.values()), 1),
            "slowest": [[t, round(s, 1)] for t, s in top[:n]]}

r = {"benchmark": "first-run", "mode": mode, "commit": commit, "cores": os.cpu_count(),
     "load_avg_at_end": os.getloadavg(), "clone_s": float(clone_s),
     "first_run_s": float(first_s), "first_run_phases_s": phases(first, t1, first_s),
     "first_run_images_done_at_s": images_done(images_mtime, t1),
     "second_run_s": float(second_s), "second_run_phases_s": phases(second, t2, second_s),
     "compile": slowest_units(ninja_log)}
json.dump(r, open(out, "w"), indent=2)
print(f"first-run ({mode}, commit {commit[:12]}, {r['cores']} cores)")
print(f"  clone                              {float(clone_s):7.1f} s")
for k, v in r["first_run_phases_s"].items():
    print(f"  first run: {k:<32} {v:7.1f} s")
if r["first_run_images_done_at_s"] is not None:
    print(f"  first run: images built in the background, done {r['first_run_images_done_at_s']} s after the start")
print(f"  first run, clone excluded          {float(first_s):7.1f} s   (target <= 300 s)")
print(f"  second run, nothing changed        {float(second_s):7.1f} s")
c = r["compile"]
if c:
    print(f"  compile: {c['units']} translation units, {c['sum_s']} s of compiler time; slowest:")
    for t, s in c["slowest"][:10]:
        print(f"    {s:6.1f} s  {t}")
print(f"  results: {out}")
EOF
