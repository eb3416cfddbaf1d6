"""Metrics query latency (docs/BENCHMARKS.md, "Metrics query"): a `lattice server` on SQLite
holding N workloads (default 1,000), each with full retention of metric rows — 24 h of raw
samples at 10 s, 7 days of 1-minute rollups, 90 days of 1-hour rollups (~21,000 rows per
series, as docs/metrics.md bounds it) — and the latency of the console's 7-day chart of one
workload (`GET /api/v1/workloads/{id}/metrics?from=-7d`, and the same at a 5-minute step,
about 2,000 points) over
HTTP on loopback, p50 and p99 over Q queries of random workloads. The same run times the same buckets computed by the
SQLite library straight on the database file (Python's sqlite3 module, an open connection): the
floor the server's answer is compared to.

Run: python3 bench/metrics/query.py [N] [Q]. Needs build/lattice.
Everything lives in a temp dir, removed at the end.
"""
import os
import random
import sqlite3
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "api"))
from lattice_server import LatticeServer  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
Q = int(sys.argv[2]) if len(sys.argv) > 2 else 200
RAW_EVERY = 10  # seconds between raw samples, the agent's default interval


def check(status, body, what):
    if status >= 300:
        raise SystemExit(f"{what}: HTTP {status}: {body}")
    return body


def make_workloads(server):
    """N custom workloads of one user (no agent: they stay pending, which is all the store needs)."""
    _, _, b = server.request("POST", "/api/v1/auth/register",
                             {"email": "bench@example.com", "password": "correct horse battery"})
    token = b["token"]
    ids = []
    conn = server.connection(timeout=30)
    for i in range(N):
        st, _, b = server.request("POST", "/api/v1/workloads",
                                  {"name": f"m{i}", "template": "custom", "image": "lattice/busybox:dev",
                                   "resources": {"memory_mb": 16, "cpus": 0.01}},
                                  token=token, conn=conn)
        ids.append(check(st, b, "create")["id"])
    conn.close()
    return token, ids


def row(series, resolution, at, samples, rnd):
    cpu = rnd.random() * 100
    mem = 50e6 + rnd.random() * 10e6
    net = rnd.random() * 1e5
    disk = rnd.random() * 1e5
    return (series, resolution, at, samples, cpu * samples, cpu, mem * samples, mem, 256e6,
            net * samples, net, net * samples, net, disk * samples, disk, disk * samples, disk)


def fill(db_path, ids, now):
    """Writes every series' retained rows straight into the database (the server is stopped)."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    sql = "INSERT INTO metric_points VALUES (" + ",".join("?" * 17) + ")"
    rnd = random.Random(1)
    minute_end = now - now % 60
    hour_end = now - now % 3600
    for n, series in enumerate(ids):
        rows = [row(series, 0, at, 1, rnd) for at in range(now - 86400, now, RAW_EVERY)]
        rows += [row(series, 60, at, 6, rnd) for at in range(minute_end - 7 * 86400, minute_end, 60)]
        rows += [row(series, 3600, at, 360, rnd) for at in range(hour_end - 90 * 86400, hour_end, 3600)]
        db.executemany(sql, rows)
        if n % 50 == 49:
            db.commit()
            print(f"  filled {n + 1}/{len(ids)} series", flush=True)
    db.commit()
    count = db.execute("SELECT count(*) FROM metric_points").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return count


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    server = LatticeServer("--quota-workloads", str(N + 10), "--quota-memory-mb", str(16 * N + 100),
                           "--quota-cpus", str(N), "--log-level", "warn")
    try:
        server.start()
        token, ids = make_workloads(server)
        server.stop()
        db_path = os.path.join(server.data_dir, "lattice.db")
        t0 = time.monotonic()
        rows = fill(db_path, ids, int(time.time()))
        print(f"{N} workloads, {rows} metric rows written in {time.monotonic() - t0:.0f} s; "
              f"database {os.path.getsize(db_path) / 2**30:.2f} GiB", flush=True)
        server.start()
        rnd = random.Random(2)
        results = {}
        # The console's 7-day chart (the default step), and a fine one (2,016 points of 5 min).
        for label, query in (("7-day chart, default step", "from=-7d"), ("7-day, 5-minute step", "from=-7d&step=5m")):
            conn = server.connection(timeout=30)
            for _ in range(10):  # warm the connection and the page cache a little
                server.request("GET", f"/api/v1/workloads/{rnd.choice(ids)}/metrics?{query}", token=token, conn=conn)
            lat, shape = [], None
            for _ in range(Q):
                wid = rnd.choice(ids)
                t = time.perf_counter()
                st, _, b = server.request("GET", f"/api/v1/workloads/{wid}/metrics?{query}", token=token, conn=conn)
                lat.append((time.perf_counter() - t) * 1000)
                b = check(st, b, "metrics")
                if len(b["points"]) < 100:
                    raise SystemExit(f"only {len(b['points'])} points: the data was not read")
                shape = (b["step"], b["resolution"], len(b["points"]))
            conn.close()
            results[label] = (lat, shape)
        server.stop()

        # The floor: the same buckets read by SQLite itself (Python's sqlite3 module, one open
        # connection, read-only) on the same file: no HTTP, no JSON, no authorization.
        floor = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        resolution_seconds = {"raw": 0, "1m": 60, "1h": 3600}
        for label, (lat, (step, resolution, points)) in results.items():
            sh = []
            for _ in range(Q):
                wid = rnd.choice(ids)
                now = int(time.time())
                q = (f"SELECT (at / {step}) * {step} AS b, sum(samples), sum(cpu_sum), max(cpu_max), "
                     f"sum(memory_sum), max(memory_max), max(memory_limit), sum(net_rx_sum), max(net_rx_max), "
                     f"sum(net_tx_sum), max(net_tx_max), sum(disk_read_sum), max(disk_read_max), "
                     f"sum(disk_write_sum), max(disk_write_max) FROM metric_points WHERE series='{wid}' "
                     f"AND resolution={resolution_seconds[resolution]} AND at >= {now - 7 * 86400} "
                     f"AND at < {now} GROUP BY b;")
                t = time.perf_counter()
                out = floor.execute(q).fetchall()
                sh.append((time.perf_counter() - t) * 1000)
                if len(out) < 100:
                    raise SystemExit("the sqlite3 floor read nothing")
            print(f"{label}: step {step} s from {resolution} rows, {points} points")
            print(f"  server over HTTP: p50 {statistics.median(lat):.1f} ms  p99 {pct(lat, 99):.1f} ms  "
                  f"max {max(lat):.1f} ms  ({Q} queries)")
            print(f"  SQLite alone:     p50 {statistics.median(sh):.1f} ms  p99 {pct(sh, 99):.1f} ms")
            print(f"  ratio p50 server/SQLite: {statistics.median(lat) / statistics.median(sh):.2f}")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
