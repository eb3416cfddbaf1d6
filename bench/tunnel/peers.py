#!/usr/bin/env python3
"""Lattice's tunnel against the tunnels users know, in one run, against one backend (issue 22).

Run through bench/tunnel/peers.sh, which checks the tools, starts or finds the Docker engine and
builds the images. This script starts a real `lattice server` and a separate `lattice agent` on
127.0.0.1 (as tests/e2e does), deploys two workloads and measures five paths to the same
containers:

  container   the container's own address on its bridge network: the limit
  published   docker's published port on 127.0.0.1 (docker-proxy)
  stunnel     plain → stunnel client mode → TLS 1.3 → stunnel server mode → the container's
              address: two processes, the shape of edge → agent
  ssh         `ssh -L` through a throw-away sshd on a loopback port → the container's address
  lattice     the workload's public endpoint: the real edge, TLS data connection, the agent

For each path, in ROUNDS interleaved rounds: iperf3 with 1 and with 8 streams (SECONDS_PER
seconds each) and RTT_COUNT 64-byte round trips (tunnel_bench rtt); median over rounds. Then
pgbench select-only (8 clients, 2 threads) against a `postgres` workload on its container
address, its published port and its public endpoint, interleaved the same way. Ratios are
taken within a round and their median reported; each goal of the issue is reported as met or
not met (a missed goal is a result, not a failure). Writes bench/results/tunnel-peers.json.

Environment: ROUNDS (3), SECONDS_PER (5), RTT_COUNT (10000), LATTICE_BIN, TUNNEL_BENCH, OUT.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import IMAGES, Agent, Client, Docker, wait_until  # noqa: E402
from lattice_server import LatticeServer, lattice_bin  # noqa: E402
from peers_relays import (SSH_CIPHER, STUNNEL_SUITE, Failure, Processes,  # noqa: E402
                          cpu_seconds, docker_proxies, echo_works, ensure_privsep_dir, log, run,
                          start_ssh, start_stunnel, who_dials, with_descendants)

ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECS = int(os.environ.get("SECONDS_PER", "5"))
RTT_COUNT = int(os.environ.get("RTT_COUNT", "10000"))
TUNNEL_BENCH = os.environ.get("TUNNEL_BENCH",
                              os.path.join(ROOT, "build", "bench", "tunnel", "tunnel_bench"))
OUT = os.environ.get("OUT", os.path.join(ROOT, "bench", "results", "tunnel-peers.json"))
NETBENCH_IMAGE = "lattice/netbench:dev"
IPERF, ECHO, PG = 5201, 7000, 5432
PATHS = ["container", "published", "stunnel", "ssh", "lattice"]
PG_PATHS = ["container", "published", "lattice"]

RETRIED = []  # iperf3 runs that failed once and were run again: reported with the results


# -- Lattice ---------------------------------------------------------------------------------


def strip_publish(spec):
    spec = {k: v for k, v in spec.items() if k != "publish"}
    if "ports" in spec:
        spec["ports"] = [{k: v for k, v in p.items() if k != "publish"} for p in spec["ports"]]
    return spec


def deploy(client, spec):
    """Creates the workload asking for published host ports; a server that does not know the
    `publish` field yet (every port is published there anyway) gets the request without it."""
    status, _, body = client.call("POST", "/api/v1/workloads", spec)
    if status == 400 and "publish" in json.dumps(body):
        log(f"note: the server refused 'publish' ({body.get('errors')}); its ports are published "
            "anyway, creating without it")
        status, _, body = client.call("POST", "/api/v1/workloads", strip_publish(spec))
    if status != 201:
        raise Failure(f"creating {spec['name']}: {status} {body}")
    return body


def container_of(docker, wid, timeout=60):
    """The workload's running container: its address and its ports published on 127.0.0.1."""
    def find():
        for c in docker.containers(f"lattice.workload={wid}"):
            if c.get("State") == "running":
                return c
        return None
    c = wait_until(find, timeout, f"a running container of workload {wid}")
    nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
    addr = next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), None)
    if not addr:
        raise Failure(f"container {c['Id'][:12]} has no address: {nets}")
    published = {p["PrivatePort"]: p["PublicPort"] for p in c.get("Ports") or []
                 if p.get("Type") == "tcp" and p.get("PublicPort") and
                 p.get("IP") in ("127.0.0.1", "0.0.0.0")}
    return addr, published


def public_endpoint(workload, container_port):
    for ep in workload["endpoints"]:
        if ep["container_port"] == container_port and ep.get("port"):
            return ep["host"], ep["port"]
    raise Failure(f"workload {workload['name']} has no public endpoint for {container_port}: "
                  f"{workload['endpoints']}")


# -- measurements ----------------------------------------------------------------------------


def iperf3(host, port, streams, seconds, attempts=3):
    """(Gbit/s, bytes) received. iperf3's server runs one test at a time and may still be closing the
    previous one, so "busy" is retried (after a second) before it counts as a failure."""
    cmd = ["iperf3", "-c", host, "-p", str(port), "-t", str(seconds), "-P", str(streams), "-J"]
    for attempt in range(attempts):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                           stdin=subprocess.DEVNULL)
        try:
            res = json.loads(r.stdout)
        except ValueError:
            res = {"error": r.stderr.strip() or r.stdout.strip()}
        received = res.get("end", {}).get("sum_received", {})
        if r.returncode == 0 and not res.get("error") and received.get("bits_per_second"):
            return received["bits_per_second"] / 1e9, received["bytes"]
        error = res.get("error") or f"exit {r.returncode}, no result"
        if attempt + 1 < attempts:
            log(f"note: iperf3 to {host}:{port} ({streams} streams): {error}; again")
            RETRIED.append(f"{host}:{port} {streams} streams: {error}")
            time.sleep(1)
    raise Failure(f"iperf3 to {host}:{port} ({streams} streams): {error}")


def rtt(host, port, count):
    out = run([TUNNEL_BENCH, "rtt", f"{host}:{port}", str(count), "64"], 120,
              f"tunnel_bench rtt {host}:{port}")
    p50, p99 = map(float, out.split())
    return p50, p99


def pgbench(conninfo, seconds):
    out = run(["pgbench", "-n", "-S", "-c", "8", "-j", "2", "-T", str(seconds), conninfo],
              seconds + 120, "pgbench")
    m = re.search(r"^tps = ([0-9.]+)", out, re.M)
    if not m:
        raise Failure(f"no tps in pgbench's output:\n{out}")
    return float(m.group(1))


def with_host(url, host, port):
    u = urllib.parse.urlsplit(url)
    userinfo = u.netloc.rpartition("@")[0]
    return urllib.parse.urlunsplit(u._replace(netloc=f"{userinfo}@{host}:{port}"))


def median(xs):
    return round(statistics.median(xs), 3)


def rotated(items, i):
    """The order of a round: rotated by one each round, so no path is always first."""
    return items[i % len(items):] + items[:i % len(items)]


def measure(paths, relays, pg_targets, pg_url):
    tput = {p: {"1": [], "8": []} for p in paths}
    cpu = {p: {"1": [], "8": []} for p in paths}
    rtts = {p: {"p50": [], "p99": []} for p in paths}
    for i in range(ROUNDS):
        for p in rotated(PATHS, i):
            host, iport, ehost, eport = paths[p]
            for streams in ("1", "8"):
                pids = relays[p]()
                before = cpu_seconds(pids)
                gbps, nbytes = iperf3(host, iport, int(streams), SECS)
                tput[p][streams].append(round(gbps, 3))
                cpu[p][streams].append(round((cpu_seconds(pids) - before) / (nbytes / 1e9), 3))
            p50, p99 = rtt(ehost, eport, RTT_COUNT)
            rtts[p]["p50"].append(p50)
            rtts[p]["p99"].append(p99)
        log(f"round {i + 1}/{ROUNDS}: " + "; ".join(
            f"{p} {tput[p]['1'][-1]:.2f}/{tput[p]['8'][-1]:.2f} Gbit/s "
            f"{rtts[p]['p50'][-1]:.0f}/{rtts[p]['p99'][-1]:.0f} us" for p in PATHS))
    tps = {p: [] for p in PG_PATHS}
    for i in range(ROUNDS):
        for p in rotated(PG_PATHS, i):
            host, port = pg_targets[p]
            tps[p].append(round(pgbench(with_host(pg_url, host, port), SECS), 1))
        log(f"pgbench round {i + 1}/{ROUNDS}: " +
            "; ".join(f"{p} {tps[p][-1]:.0f} tps" for p in PG_PATHS))
    return tput, cpu, rtts, tps


def report(tput, cpu, rtts, tps, notes):
    def ratio(num, den):  # the median of the rounds' ratios
        return median([a / b for a, b in zip(num, den)])

    res = {
        "config": {"rounds": ROUNDS, "seconds_per": SECS, "rtt_count": RTT_COUNT,
                   "stunnel_ciphersuite": STUNNEL_SUITE, "ssh_cipher": SSH_CIPHER,
                   "cpus": os.cpu_count(), "notes": notes},
        "throughput_gbps": {p: {s: {"rounds": tput[p][s], "median": median(tput[p][s])}
                                for s in ("1", "8")} for p in PATHS},
        "relay_cpu_seconds_per_gb": {p: {s: median(cpu[p][s]) for s in ("1", "8")}
                                     for p in PATHS},
        "rtt_us": {p: {"p50": median(rtts[p]["p50"]), "p99": median(rtts[p]["p99"]),
                       "rounds": rtts[p]} for p in PATHS},
        "pgbench_tps": {p: {"rounds": tps[p], "median": median(tps[p])} for p in PG_PATHS},
        "lattice_ratio": {},
    }
    for anchor in ("container", "published", "stunnel", "ssh"):
        res["lattice_ratio"][anchor] = {
            f"{s}_stream{'s' if s == '8' else ''}": ratio(tput["lattice"][s], tput[anchor][s])
            for s in ("1", "8")}
    res["lattice_ratio"]["pgbench_vs_published"] = ratio(tps["lattice"], tps["published"])
    res["lattice_ratio"]["pgbench_vs_container"] = ratio(tps["lattice"], tps["container"])
    added99 = round(res["rtt_us"]["lattice"]["p99"] - res["rtt_us"]["container"]["p99"], 1)
    added50 = round(res["rtt_us"]["lattice"]["p50"] - res["rtt_us"]["container"]["p50"], 1)
    res["rtt_us"]["lattice_added"] = {"p50": added50, "p99": added99}
    r = res["lattice_ratio"]
    goals = []
    for anchor, want in (("stunnel", 2.0), ("ssh", 2.0), ("container", 0.4)):
        for key in ("1_stream", "8_streams"):
            goals.append({"goal": f"throughput ({key.replace('_', ' ')}) >= {want}x {anchor}",
                          "value": r[anchor][key], "met": r[anchor][key] >= want})
    goals.append({"goal": "pgbench -S through the endpoint >= 0.8x the published port",
                  "value": r["pgbench_vs_published"], "met": r["pgbench_vs_published"] >= 0.8})
    goals.append({"goal": "added 64-byte round trip p99 <= 60 us (vs the container address)",
                  "value": added99, "met": added99 <= 60})
    res["goals"] = goals
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(res, f, indent=2)

    print(f"\n{'path':<10} {'1 stream':>9} {'8 streams':>9} {'CPU 1':>6} {'CPU 8':>6} "
          f"{'RTT p50':>8} {'RTT p99':>8}\n(Gbit/s and the relay processes' CPU seconds per GB "
          f"carried, medians of {ROUNDS} rounds; 64-byte round trips in us)")
    for p in PATHS:
        t, l, c = res["throughput_gbps"][p], res["rtt_us"][p], res["relay_cpu_seconds_per_gb"][p]
        print(f"{p:<10} {t['1']['median']:>9.2f} {t['8']['median']:>9.2f} {c['1']:>6.2f} "
              f"{c['8']:>6.2f} {l['p50']:>8.1f} {l['p99']:>8.1f}")
    print("\nlattice / anchor (median of per-round ratios):")
    for anchor in ("container", "published", "stunnel", "ssh"):
        print(f"  vs {anchor:<10} 1 stream {r[anchor]['1_stream']:.3f}x   "
              f"8 streams {r[anchor]['8_streams']:.3f}x")
    print(f"  added RTT vs container: p50 +{added50} us, p99 +{added99} us")
    print("\npgbench -S -c 8 -j 2 (tps, median): " + ", ".join(
        f"{p} {res['pgbench_tps'][p]['median']:.0f}" for p in PG_PATHS) +
        f"; lattice/published {r['pgbench_vs_published']:.3f}x, "
        f"lattice/container {r['pgbench_vs_container']:.3f}x")
    print("\ngoals:")
    for g in goals:
        print(f"  {'met    ' if g['met'] else 'NOT MET'}  {g['goal']}: {g['value']}")
    for note in notes:
        print(f"note: {note}")
    print(f"\nwrote {OUT}")


def main():
    for tool in ("iperf3", "pgbench", "pg_isready", "ssh", "ssh-keygen", "openssl", "ss"):
        if not shutil.which(tool):
            log(f"peers: {tool} is missing (scripts/setup.sh --bench)")
            return 1
    if not os.access(TUNNEL_BENCH, os.X_OK):
        log(f"peers: {TUNNEL_BENCH} is missing: cmake --build build --target tunnel_bench")
        return 1
    # SIGTERM ends the run through the same clean-up as an error or Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    notes = []
    tmp = tempfile.mkdtemp(prefix="lattice-peers-")
    # A copy, so a rebuild during the run cannot change what is measured (the server and the
    # agent start from it; lattice_server.lattice_bin() reads LATTICE_BIN at each start).
    binary = os.path.join(tmp, "lattice")
    shutil.copy2(lattice_bin(), binary)
    os.environ["LATTICE_BIN"] = binary
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL).stdout.strip()
    notes.append(f"measured {version or 'lattice (no --version)'}")
    procs = Processes(tmp)
    docker = Docker()
    srv, admin, agent, workloads, made_privsep = None, None, None, [], None
    load_before = os.getloadavg()
    try:
        srv = LatticeServer(*IMAGES).start()
        admin = Client(srv, "bench@example.com")
        status, _, tok = admin.call("POST", "/api/v1/nodes/join-tokens")
        if status != 201:
            raise Failure(f"join token: {status} {tok}")
        agent = Agent(srv.agent_url, tok["token"], os.path.join(srv.tmp_dir, "node"),
                      "--name", "bench-node").start()
        wait_until(lambda: any(n["status"] == "ready" for n in
                               admin.call("GET", "/api/v1/nodes")[2]["items"]),
                   30, "the agent's node to be ready")
        net = deploy(admin, {"name": "netbench", "template": "custom", "image": NETBENCH_IMAGE,
                             "ports": [{"port": IPERF, "publish": True},
                                       {"port": ECHO, "publish": True}]})
        workloads.append(net["id"])
        pg = deploy(admin, {"name": "pgbench", "template": "postgres", "publish": True})
        workloads.append(pg["id"])
        net = admin.wait_status(net["id"], "running", timeout=120)
        pg = admin.wait_status(pg["id"], "running", timeout=180)

        addr, published = container_of(docker, net["id"])
        pg_addr, pg_published = container_of(docker, pg["id"])
        for port, pub in ((IPERF, published), (ECHO, published), (PG, pg_published)):
            if port not in pub:
                raise Failure(f"container port {port} is not published on 127.0.0.1: {pub}")
        targets = {"iperf": (addr, IPERF), "echo": (addr, ECHO)}
        st = start_stunnel(procs, tmp, targets)
        made_privsep = ensure_privsep_dir()
        sh = start_ssh(procs, tmp, targets)
        lat_iperf = public_endpoint(net, IPERF)
        lat_echo = public_endpoint(net, ECHO)
        paths = {  # name: (iperf host, iperf port, echo host, echo port)
            "container": (addr, IPERF, addr, ECHO),
            "published": ("127.0.0.1", published[IPERF], "127.0.0.1", published[ECHO]),
            "stunnel": ("127.0.0.1", st["iperf"], "127.0.0.1", st["echo"]),
            "ssh": ("127.0.0.1", sh["iperf"], "127.0.0.1", sh["echo"]),
            "lattice": (*lat_iperf, *lat_echo),
        }
        # The processes each path's bytes go through on this node, for their CPU time per GB
        # (the iperf3 ends and the kernel's work for the container's own sockets are the same
        # on every path and not counted).
        relays = {
            "container": lambda: [],
            "published": lambda: docker_proxies([published[IPERF]]),
            "stunnel": lambda: [procs.procs["stunnel-client"].pid,
                                procs.procs["stunnel-server"].pid],
            "ssh": lambda: [procs.procs["ssh"].pid, *with_descendants(procs.procs["sshd"].pid)],
            "lattice": lambda: [srv.proc.pid, agent.proc.pid],
        }
        log("paths: " + "; ".join(f"{p} iperf3 {v[0]}:{v[1]}, echo {v[2]}:{v[3]}"
                                  for p, v in paths.items()))
        # Every path carries bytes before anything is timed (the servers in the container may
        # still be starting when the workload reports running), and warms up with 1 s of iperf3.
        for p, (host, iport, ehost, eport) in paths.items():
            wait_until(lambda: echo_works(ehost, eport), 30, f"an echo through {p}")
            iperf3(host, iport, 1, 1, attempts=20)
        if not relays["published"]():
            notes.append("no docker-proxy serves the published port (the engine's userland proxy "
                         "is off): the published path's relay CPU reads 0")

        dialer = who_dials(addr, ECHO, lat_echo)
        log(f"the container's echo port is dialled by: {', '.join(dialer) or 'nobody seen'}")
        notes.append(f"through the endpoint, the node connects to the container from: "
                     f"{', '.join(dialer) or 'not seen'}")

        pg_url = pg["credentials"]["connection_string"]
        pg_targets = {"container": (pg_addr, PG), "published": ("127.0.0.1", pg_published[PG]),
                      "lattice": public_endpoint(pg, PG)}
        wait_until(lambda: subprocess.run(
            ["pg_isready", "-q", "-d", with_host(pg_url, *pg_targets["container"])],
            stdin=subprocess.DEVNULL).returncode == 0, 60, "postgres to accept connections")
        run(["pgbench", "-i", "-q", with_host(pg_url, *pg_targets["container"])], 300,
            "pgbench -i")

        RETRIED.clear()  # the warm-ups' retries are expected (servers still starting)
        tput, cpu, rtts, tps = measure(paths, relays, pg_targets, pg_url)
        by_port = {f"{v[0]}:{v[1]}": p for p, v in paths.items()}
        for r in RETRIED:
            notes.append(f"iperf3 run again on the {by_port.get(r.split()[0], '?')} path "
                         f"after: {r}")
        load_after = os.getloadavg()
        notes.append(f"load average (1 min) {load_before[0]:.1f} at the start, "
                     f"{load_after[0]:.1f} at the end, on {os.cpu_count()} CPUs")
        report(tput, cpu, rtts, tps, notes)
    except (Failure, AssertionError, subprocess.TimeoutExpired) as e:
        log(f"peers: {e}")
        if agent:
            log(f"--- agent ---\n{agent.output()[-3000:]}")
        if srv:
            log(srv.output()[-3000:])
        return 1
    finally:
        procs.stop_all()
        if made_privsep:
            try:
                os.rmdir(made_privsep)
            except OSError:
                pass
        if srv and srv.running and admin:
            for wid in workloads:  # best effort: the engine clean-up below removes them anyway
                try:
                    admin.call("DELETE", f"/api/v1/workloads/{wid}")
                except Exception:
                    pass
        if agent:
            agent.stop()
        if srv:
            try:
                srv.stop()
            except Exception as e:
                log(f"stopping the server: {e}")
            srv.cleanup()  # removes what the node left on the engine (harness hook)
        for wid in workloads:
            docker.remove_labelled(f"lattice.workload={wid}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
