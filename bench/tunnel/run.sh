#!/usr/bin/env bash
# Tunnel benchmark (issue #5), every number against its anchor in the same run:
#   throughput  iperf3 through the tunnel (client → edge → TLS → agent → iperf3 server) vs iperf3
#               on raw loopback, ROUNDS interleaved rounds of SECONDS each; median ratio.
#               A third anchor, "plain": the same three hops and relay without TLS or edge,
#               shows what the copies alone cost on this machine
#   latency     64-byte ping-pongs through the tunnel vs direct; p50/p99 and what the tunnel adds
#   memory      RSS growth per idle tunneled connection, N open, of the edge process and of the
#               agent process (separate processes, as on two machines) and of the two together
# Usage: bench/tunnel/run.sh   (env: ROUNDS=5 SECONDS_PER=5 CONNS=10000)
# Needs: iperf3 (scripts/setup.sh --bench) and build/bench/tunnel/tunnel_bench.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
B="$root/build/bench/tunnel/tunnel_bench"
ROUNDS="${ROUNDS:-5}"; SECS="${SECONDS_PER:-5}"; CONNS="${CONNS:-10000}"
# The edge and the agent process each hold two descriptors per tunneled connection (client
# and TLS; TLS and target): CONNS is capped by the descriptor limit rather than failing half-way.
fd_max=$(ulimit -Hn); [[ "$fd_max" == unlimited ]] && fd_max=1048576
if (( CONNS * 2 + 256 > fd_max )); then
  CONNS=$(( (fd_max - 256) / 2 ))
  echo "note: the descriptor limit ($fd_max) allows $CONNS held connections; using that" >&2
fi
[[ -x "$B" ]] || { echo "build first: cmake --build build --target tunnel_bench" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 missing: scripts/setup.sh --bench" >&2; exit 1; }
out="$root/bench/results"; mkdir -p "$out"
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
            [[ -f "$work/iperf.pid" ]] && kill "$(cat "$work/iperf.pid")" 2>/dev/null || true
            rm -rf "$work"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 100); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }

IP=$(free_port); EP=$(free_port); T1=$(free_port); T2=$(free_port); T3=$(free_port)
C1=$(free_port); C2=$(free_port)
iperf3 -s -p "$IP" -D -I "$work/iperf.pid" --logfile "$work/iperf.log"
"$B" echo "$EP" > "$work/echo.out" 2>&1 & pids+=($!)
"$B" plain "$T3" "$IP" > "$work/plain.out" 2>&1 & pids+=($!)
# tunnel 1 (throughput) → iperf3; tunnel 2 (latency, memory) → the echo server
"$B" edge "$T1" "$C1" > "$work/edge1.out" 2>&1 & pids+=($!)
"$B" edge "$T2" "$C2" > "$work/edge2.out" 2>&1 & E2=$!; pids+=($E2)
wait_ready "$work/edge1.out"; wait_ready "$work/edge2.out"
"$B" agent "$C1" "$IP" > "$work/agent1.out" 2>&1 & pids+=($!)
"$B" agent "$C2" "$EP" > "$work/agent2.out" 2>&1 & A2=$!; pids+=($A2)
wait_ready "$work/echo.out"; wait_ready "$work/plain.out"
wait_ready "$work/agent1.out"; wait_ready "$work/agent2.out"; sleep 1

gbps() { iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -J | /usr/bin/python3 -c \
  'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
raw=(); tun=(); plain=()
for i in $(seq 1 "$ROUNDS"); do
  raw+=("$(gbps "$IP")"); tun+=("$(gbps "$T1")"); plain+=("$(gbps "$T3")")
  echo "round $i: raw ${raw[-1]} Gbit/s, tunnel ${tun[-1]} Gbit/s, plain 3-hop ${plain[-1]} Gbit/s" >&2
done
read -r raw_rtt50 raw_rtt99 < <("$B" rtt "$EP" 20000 64)
read -r tun_rtt50 tun_rtt99 < <("$B" rtt "$T2" 20000 64)

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
edge_before=$(rss "$E2"); agent_before=$(rss "$A2")
mkfifo "$work/hold.in"
"$B" hold "$T2" "$CONNS" < "$work/hold.in" > "$work/hold.out" 2>&1 & H=$!; pids+=($H)
exec 9> "$work/hold.in"
for _ in $(seq 1 300); do grep -q held "$work/hold.out" && break; sleep 0.5; done
grep -q held "$work/hold.out" || { cat "$work/hold.out" >&2; exit 1; }
sleep 2; edge_after=$(rss "$E2"); agent_after=$(rss "$A2"); exec 9>&-

/usr/bin/python3 - "$out/tunnel.json" "$CONNS" "$edge_before $agent_before" "$edge_after $agent_after" \
  "$raw_rtt50" "$raw_rtt99" "$tun_rtt50" "$tun_rtt99" "${raw[*]}" "${tun[*]}" "${plain[*]}" <<'PY'
import json, statistics, sys
path, conns = sys.argv[1], int(sys.argv[2])
(eb, ab), (ea, aa) = [map(int, x.split()) for x in sys.argv[3:5]]
r50, r99, t50, t99 = map(float, sys.argv[5:9])
raw = [float(x) for x in sys.argv[9].split()]; tun = [float(x) for x in sys.argv[10].split()]
plain = [float(x) for x in sys.argv[11].split()]
ratios = [t / r for r, t in zip(raw, tun)]
plain_ratios = [p / r for r, p in zip(raw, plain)]
res = {
  "throughput_gbps": {"raw": raw, "tunnel": tun, "plain_3hop": plain,
                      "median_ratio": round(statistics.median(ratios), 3),
                      "plain_median_ratio": round(statistics.median(plain_ratios), 3)},
  "rtt_us": {"raw_p50": r50, "raw_p99": r99, "tunnel_p50": t50, "tunnel_p99": t99,
             "added_p50": round(t50 - r50, 1), "added_p99": round(t99 - r99, 1)},
  "memory": {"connections": conns,
             "edge_rss_kb": [eb, ea], "agent_rss_kb": [ab, aa],
             "edge_per_connection_kb": round((ea - eb) / conns, 2),
             "agent_per_connection_kb": round((aa - ab) / conns, 2),
             "both_per_connection_kb": round((ea - eb + aa - ab) / conns, 2)},
}
json.dump(res, open(path, "w"), indent=2)
t = res["throughput_gbps"]; m = res["memory"]; l = res["rtt_us"]
print(f"throughput: tunnel/raw median {t['median_ratio']}x (target >= 0.5x); "
      f"raw {statistics.median(raw):.1f} Gbit/s, tunnel {statistics.median(tun):.1f} Gbit/s; "
      f"plain 3-hop relay (no TLS) {t['plain_median_ratio']}x")
print(f"latency (64 B round trip): raw p50 {r50} us p99 {r99} us; tunnel p50 {t50} us p99 {t99} us; "
      f"added p50 {l['added_p50']} us p99 {l['added_p99']} us")
print(f"memory per idle tunneled connection ({conns} open; target <= 32 KB): "
      f"edge process {m['edge_per_connection_kb']} KB, agent process {m['agent_per_connection_kb']} KB, "
      f"both together {m['both_per_connection_kb']} KB")
PY
