#!/usr/bin/env python3
"""bench/isolation: what tenant isolation costs a deploy (issue 17).

Two `lattice dev` servers on the same Docker engine, in the same run: one as shipped (one
private network per user, created with the user's first workload on the node), one started
with `--tenant-networks=false` (every container on the engine's default bridge, as before).
Everything else — confinement, images, engine — is the same. Per round, on each side in
alternating order, a fresh user deploys:

  first    a busybox httpd (custom, port 8080): POST → `running` and → its public endpoint
           answers HTTP. On the isolated side this includes creating the user's network.
  second   the same user's second workload: the network exists already.

then both workloads are deleted (the isolated side removes the network with the last one).
In the same rounds the engine alone is timed as the anchor: `docker run -d` of the same image
on the default bridge against one on a user-defined bridge network like a tenant's (created
once), and `docker network create` of one such network — the share of the difference that is
the engine's own.
Times are from just before the POST; `running` is polled every 20 ms, HTTP every 10 ms.
Prints medians and isolated/plain ratios as Markdown and writes JSON. Goal: within 5 %.

    python3 bench/isolation/isolation.py [--rounds N] [--json FILE]
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import BUSYBOX, Client, Docker, LatticeDev, endpoint, wait_until  # noqa: E402

now = time.monotonic
SPEC = {"template": "custom", "image": BUSYBOX, "command": ["httpd", "-f", "-p", "8080", "-h", "/"],
        "ports": [{"port": 8080}], "resources": {"memory_mb": 32}}


def http_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def deploy(client, name):
    t0 = now()
    status, _, w = client.call("POST", "/api/v1/workloads", {**SPEC, "name": name})
    assert status == 201, (status, w)
    while True:
        status, _, w = client.get(w["id"])
        assert status == 200, w
        if w["status"] == "running":
            break
        assert w["status"] not in ("failed", "lost"), w
        assert now() - t0 < 120, w
        time.sleep(0.02)
    t_running = now() - t0
    port = endpoint(w)["port"]
    while not http_answers(port):
        assert now() - t0 < 120, "endpoint never answered"
        time.sleep(0.01)
    return w["id"], t_running, now() - t0


def one_round(srv, n, side):
    client = Client(srv, f"{side}-{n}-{os.getpid()}@example.com")
    first_id, f_run, f_ready = deploy(client, "first")
    second_id, s_run, s_ready = deploy(client, "second")
    for wid in (first_id, second_id):
        client.call("DELETE", f"/api/v1/workloads/{wid}")
    for wid in (first_id, second_id):
        client.wait_gone(wid, timeout=60)
    return {"first_running": f_run, "first_ready": f_ready,
            "second_running": s_run, "second_ready": s_ready}


def docker_run(network=None):
    """Seconds for `docker run -d` (until the CLI returns: created and started)."""
    name = f"lattice-bench-iso-{os.getpid()}-{time.monotonic_ns()}"
    cmd = ["docker", "run", "-d", "--label", "lattice.bench=1", "--name", name]
    if network:
        cmd += ["--network", network]
    t0 = now()
    subprocess.run(cmd + [BUSYBOX, "sleep", "60"], check=True, capture_output=True)
    took = now() - t0
    subprocess.run(["docker", "rm", "-f", name], check=True, capture_output=True)
    return took


def network_create(n):
    name = f"lattice-bench-iso-net-{os.getpid()}-{n}"
    t0 = now()
    subprocess.run(["docker", "network", "create", "--subnet", f"10.217.{n % 250}.0/26",
                    "--label", "lattice.bench=1", name], check=True, capture_output=True)
    took = now() - t0
    subprocess.run(["docker", "network", "rm", name], check=True, capture_output=True)
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "7")))
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "isolation.json"))
    args = ap.parse_args()
    docker = Docker()
    sides = {"isolated": LatticeDev().start(),
             "plain": LatticeDev("--tenant-networks=false").start()}
    results = {k: [] for k in sides}
    anchor = {"run_default_bridge": [], "run_user_network": [], "network_create": []}
    anchor_net = f"lattice-bench-iso-{os.getpid()}"
    subprocess.run(["docker", "network", "create", "--subnet", "10.218.0.0/26", "--label",
                    "lattice.bench=1", anchor_net], check=True, capture_output=True)
    try:
        for srv in sides.values():
            c = Client(srv, f"probe-{os.getpid()}-{srv.port}@example.com")
            wait_until(lambda: c.call("GET", "/api/v1/nodes")[2]["items"], 30, "a node")
        for n in range(args.rounds + 1):  # round 0 warms both sides up and is discarded
            order = list(sides) if n % 2 == 0 else list(reversed(list(sides)))
            for side in order:
                r = one_round(sides[side], n, side)
                if n > 0:
                    results[side].append(r)
                print(f"isolation: round {n} {side}: " +
                      " ".join(f"{k}={v * 1000:.0f}ms" for k, v in r.items()), file=sys.stderr)
            a = {"run_default_bridge": docker_run(), "run_user_network": docker_run(anchor_net),
                 "network_create": network_create(n)}
            if n > 0:
                for k, v in a.items():
                    anchor[k].append(v)
    finally:
        subprocess.run(["docker", "network", "rm", anchor_net], capture_output=True)
        for srv in sides.values():
            srv.stop()
            srv.cleanup()
    keys = ["first_running", "first_ready", "second_running", "second_ready"]
    med = {s: {k: statistics.median(r[k] for r in results[s]) for k in keys} for s in sides}
    print(f"| measure ({args.rounds} rounds, medians) | isolated | plain | ratio |")
    print("| --- | --- | --- | --- |")
    for k in keys:
        i, p = med["isolated"][k], med["plain"][k]
        print(f"| {k.replace('_', ' → ')} | {i * 1000:.0f} ms | {p * 1000:.0f} ms | {i / p:.3f}× |")
    am = {k: statistics.median(v) for k, v in anchor.items()}
    print(f"| engine anchor: `docker run -d` on a user network vs the default bridge | "
          f"{am['run_user_network'] * 1000:.0f} ms | {am['run_default_bridge'] * 1000:.0f} ms | "
          f"{am['run_user_network'] / am['run_default_bridge']:.3f}× |")
    print(f"| engine anchor: `docker network create` | {am['network_create'] * 1000:.0f} ms | | |")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"rounds": results, "medians": med, "anchor": anchor}, f, indent=1)
    del docker


if __name__ == "__main__":
    main()
