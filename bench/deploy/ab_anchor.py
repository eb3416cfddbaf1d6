#!/usr/bin/env python3
"""Diagnostic for bench/deploy: is a gap in PostgreSQL time-to-first-query caused by the container
configuration Lattice asks for, rather than by Lattice itself?

Runs `docker run -d` of lattice/postgres:15 in three variants, interleaved over N rounds, and
times each until `psql ... -c 'select 1'` first succeeds (retried every 50 ms, as in deploy.py):

  plain    what the benchmark's anchor runs (anonymous volume from the image's VOLUME)
  mem512   + --memory 512m (Lattice's default for managed templates: Memory=512 MiB,
           MemorySwap=1 GiB on this engine)
  lattice  + --memory 512m + a named, labelled volume via --mount (what Lattice's container
           adds to the anchor's HostConfig; its labels differ)

  python3 bench/deploy/ab_anchor.py [ROUNDS]      (DOCKER_HOST as for run.sh)

Containers carry --label lattice.bench=1 and are removed with their volumes.
"""
import os
import secrets
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy import BENCH_LABEL, POSTGRES, TIMEOUT, Engine, docker_cli, now, wait_psql  # noqa: E402


def run(engine, variant):
    user, db, pw = "bench", "bench", secrets.token_hex(12)
    extra, vol = [], None
    if variant in ("mem512", "lattice"):
        extra += ["--memory", "512m"]
    if variant == "lattice":
        vol = f"lattice-bench-ab-{secrets.token_hex(4)}"
        extra += ["--mount", f"type=volume,src={vol},dst=/var/lib/postgresql/data,"
                             f"volume-label={BENCH_LABEL}"]
    t0 = now()
    cid = docker_cli("run", "-d", "--label", BENCH_LABEL, "-p", "127.0.0.1::5432", *extra,
                     "-e", f"POSTGRES_PASSWORD={pw}", "-e", f"POSTGRES_USER={user}",
                     "-e", f"POSTGRES_DB={db}", POSTGRES)
    try:
        port = engine.published_port(cid, 5432)
        t_q, _ = wait_psql(f"postgres://{user}:{pw}@127.0.0.1:{port}/{db}", t0 + TIMEOUT)
    finally:
        docker_cli("rm", "-f", "-v", cid)
        if vol:
            docker_cli("volume", "rm", vol)
    return t_q - t0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    engine = Engine()
    variants = ["plain", "mem512", "lattice"]
    res = {v: [] for v in variants}
    for r in range(rounds):
        order = variants[r % 3:] + variants[:r % 3]
        for v in order:
            time.sleep(1)
            load = os.getloadavg()[0]
            t = run(engine, v)
            res[v].append(t)
            print(f"round {r + 1} {v}: {t:.3f} s (load {load:.1f})", flush=True)
    for v in variants:
        print(f"{v:8s} median {statistics.median(res[v]):.3f} s  "
              f"[{', '.join(f'{x:.2f}' for x in res[v])}]")


if __name__ == "__main__":
    main()
