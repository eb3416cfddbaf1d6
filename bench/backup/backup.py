#!/usr/bin/env python3
"""bench/backup: PostgreSQL backups (issue 19) against plain pg_basebackup, in the same run.

Driven by bench/backup/run.sh (see there for the environment). Standard library only; Lattice is
started through tests/e2e/harness.py (`lattice dev`: server plus embedded agent, a temp data dir,
a loopback port, the agent on $DOCKER_HOST).

Set-up: one user, an S3 workload (`minio` template, the lattice/s3:dev stand-in) holding bucket
`bench`, a PostgreSQL workload filled with `pgbench -i -I dtGvp -s SCALE` (server-side data
generation, run from the host through the workload's published port), then a backup target (the
S3 workload) and an on-demand policy without verification, which also starts the WAL archiver.

  a) backup    anchor: `pg_basebackup -D - -Ft -X fetch --checkpoint=fast | zstd -q -T0 -3` into
               a file on a local volume, from a lattice/pgtools:15 container in the database
               container's network namespace: the same command, image and place as Lattice's
               job, minus the upload. Lattice: POST /workloads/{id}/backups, polled until
               `succeeded`; its duration_ms (the tool's own clock: pg_basebackup start to the
               uploaded size checked) and wall time (POST to `succeeded` seen, 100 ms polls).
               ROUNDS rounds, the order alternating. MB/s = the cluster's size (sum of
               pg_database_size) / seconds, the same numerator for both.
  d) tps       `pgbench -c 4 -j 2 -T TPS_SECONDS` (default mix, or PGBENCH_ARGS) with nothing
               else running, then again with a Lattice backup started 1 s into the run.
  b) restore   anchor: `zstd -d | tar -x` of the anchor file into an empty volume (pgtools
               container), then `docker run -d lattice/postgres:15` on it until `psql` answers
               a query through the published port. Lattice: POST /workloads/{id}/restore (its
               backup of the last round of a), taken without load like the anchor's file) until the new workload is `running` and the same query answers
               with its new credentials.
  c) RPO       a writer inserts (clock_timestamp()) every WRITE_EVERY s, one psql per insert,
               keeping the server time of the last acknowledged insert. After RPO_WARM s the
               node is lost at once: the `lattice dev` process gets SIGKILL (so its agent
               restarts nothing), then the archiver and database containers are killed. What
               the bucket holds is then restored with the same tool and command the agent runs
               (`lattice-pgtool restore --to-latest`, newest backup) into a scratch volume,
               started, and the newest row read. Lost = last acknowledged - newest restored.
               Lattice is then started again on the same data dir for the clean-up.

For each backup, the CPU seconds every container used meanwhile (Docker's cgroup counters, read
before and after) say where the time goes: the job (pg_basebackup, zstd, rclone), the S3 server,
the database. Everything created is removed at exit: workloads through the API, the rest by name.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import Client, Docker, LatticeDev, endpoint, wait_until  # noqa: E402

PGTOOLS = "lattice/pgtools:15"
POSTGRES = "lattice/postgres:15"
PGDATA = "/var/lib/postgresql/data"
S3CHECK = os.path.join(ROOT, "tests", "images", "s3check.py")
BUCKET = "bench"
BENCH_LABEL = "lattice.bench=backup"
now = time.monotonic


def log(*a):
    print(f"backup [{datetime.datetime.utcnow():%H:%M:%S}]:", *a, file=sys.stderr, flush=True)


def run(cmd, timeout=3600, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd[:6]}… failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def psql(url, sql, timeout=120):
    return run(["psql", url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
               timeout=timeout).stdout.strip()


def psql_try(url, sql):
    r = run(["psql", url, "-X", "-A", "-t", "-c", sql], timeout=30, check=False,
            env=dict(os.environ, PGCONNECT_TIMEOUT="2"))
    return r.stdout.strip() if r.returncode == 0 else None


def s3(ep, ak, sk, *args):
    return run([sys.executable, S3CHECK, ep, ak, sk, *args], timeout=60, check=False).stdout


def docker(*args, timeout=3600, check=True):
    return run(["docker", *args], timeout=timeout, check=check)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class CpuMeter:
    """CPU seconds each running container used between start() and stop(), by name."""

    def __init__(self, engine):
        self.engine = engine

    def _sample(self):
        out = {}
        status, items = self.engine.call("GET", "/containers/json")
        for c in items if status == 200 else []:
            name = c["Names"][0].lstrip("/")
            st, stats = self.engine.call("GET", f"/containers/{c['Id']}/stats?stream=false&one-shot=true")
            if st == 200 and isinstance(stats, dict):
                out[name] = stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        return out

    @staticmethod
    def _host_busy():
        """Busy CPU seconds of the whole machine (all but idle and iowait), from /proc/stat."""
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")

    def start(self):
        self.before = self._sample()
        self.host0 = self._host_busy()
        self.t0 = now()

    def stop(self, extra=None):
        host = self._host_busy() - self.host0
        after = self._sample()
        used = {n: round(after[n] - self.before.get(n, 0.0), 2) for n in after}
        # Containers that came and went meanwhile (the backup job) are measured by the caller.
        used.update(extra or {})
        return {"wall_s": round(now() - self.t0, 2), "host_busy_cpu_s": round(host, 2),
                "cpu_s": {n: v for n, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.05}}


class JobCpu:
    """Follows the short-lived job container(s) of a backup: polls their CPU counters until they
    are gone and keeps the last reading (the container is removed right after it exits)."""

    def __init__(self, engine, label):
        self.engine, self.label, self.last = engine, label, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                for c in self.engine.containers(self.label):
                    st, stats = self.engine.call("GET", f"/containers/{c['Id']}/stats?stream=false&one-shot=true")
                    if st == 200 and isinstance(stats, dict) and stats.get("cpu_stats", {}).get("cpu_usage"):
                        v = stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
                        if v > 0:
                            self.last[c["Names"][0].lstrip("/")] = v
            except (OSError, KeyError):
                pass
            self._stop.wait(0.5)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return {f"{n} (job, last sample)": round(v, 2) for n, v in self.last.items()}


class Interfered(Exception):
    pass


def lattice_processes():
    """{pid: command line} of every `lattice dev` or `lattice agent` process on this machine (the
    ones with an agent that drives the engine; `lattice server` alone does not touch it)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[0].endswith(b"lattice") and argv[1] in (b"dev", b"agent"):
            out[int(pid)] = b" ".join(argv[:4]).decode(errors="replace")
    return out


class Bench:
    def __init__(self, args):
        self.a = args
        self.engine = Docker()
        self.srv = None
        self.alice = None
        self.anchor_containers = []
        self.anchor_volumes = []
        self.results = {"params": vars(args).copy()}
        self.scratch = tempfile.mkdtemp(prefix="lattice-bench-backup-")
        self.node_lost = False
        self.restored_ids = []
        self.foreign = {}
        self.own_pids = set()
        self.interfered = threading.Event()

    # ---------------------------------------------------------------------------- set-up
    def mine(self):
        """Every Lattice process this run started (a stopped one may linger while it exits)."""
        if self.srv is not None and self.srv.proc is not None:
            self.own_pids.add(self.srv.proc.pid)
        return self.own_pids

    def wait_quiet(self):
        """Lattice agents that share a Docker engine remove each other's WAL archivers and job
        containers (an agent owns every lattice.archiver / lattice.job container it sees): wait
        until no other Lattice process runs, and record any that starts during the run."""
        t = now()
        while True:
            other = lattice_processes()
            if not other:
                break
            if now() - t > self.a.wait_quiet:
                log(f"other Lattice processes still running, going ahead: {other}")
                break
            log(f"waiting for other Lattice processes to end: {sorted(other)}")
            time.sleep(10)
        self.results["waited_for_quiet_s"] = round(now() - t, 1)
        self._watch_stop = threading.Event()
        def watch():
            while not self._watch_stop.wait(1.0):
                for pid, cmd in lattice_processes().items():
                    if pid in self.mine():
                        continue
                    seen = self.foreign.setdefault(pid, {"cmd": cmd, "first": time.time()})
                    seen["last"] = time.time()
                    if self.a.abort_on_other and not self.interfered.is_set():
                        log(f"another Lattice process started ({pid}: {cmd}): aborting this attempt")
                        self.interfered.set()
        threading.Thread(target=watch, daemon=True).start()

    def start_lattice(self):
        os.environ["LATTICE_BIN"] = self.a.binary
        self.srv = LatticeDev().start()
        self.alice = Client(self.srv, "bench@example.com")
        self.wait_node()

    def wait_node(self):
        def ready():
            items = self.alice.call("GET", "/api/v1/nodes")[2]["items"]
            return items and items[0]["status"] == "ready"
        wait_until(ready, 60, "the embedded agent's node to be ready")

    def container_of(self, wid):
        cs = [c for c in self.engine.containers(f"lattice.workload={wid}") if c["State"] == "running"]
        assert len(cs) == 1, f"expected one running container for {wid}: {cs}"
        return cs[0]["Names"][0].lstrip("/")

    def setup(self):
        self.wait_quiet()
        self.start_lattice()
        files = self.alice.deploy({"name": "files", "template": "minio"})
        db = self.alice.deploy({"name": "db", "template": "postgres"})
        self.files = self.alice.wait_status(files["id"], "running")
        self.db = self.alice.wait_status(db["id"], "running")
        self.s3ep = f"127.0.0.1:{endpoint(self.files, 's3')['port']}"
        self.ak = self.files["credentials"]["access_key"]
        self.sk = self.files["credentials"]["secret_key"]
        assert s3(self.s3ep, self.ak, self.sk, "mkbucket", BUCKET).startswith("200")
        cred = self.db["credentials"]
        self.url = cred["connection_string"]
        self.pguser, self.pgpass, self.pgdb = cred["username"], cred["password"], cred["database"]
        self.db_container = self.container_of(self.db["id"])
        self.files_container = self.container_of(self.files["id"])
        log(f"db {self.db['id']} ({self.db_container}), s3 {self.files['id']} ({self.files_container})")
        self.results["containers"] = {self.db_container: "database", self.files_container: "S3"}

        log(f"pgbench -i -I dtGvp -s {self.a.scale} …")
        t = now()
        run(["pgbench", "-i", "-I", "dtGvp", "-s", str(self.a.scale), "-q", self.url], timeout=7200)
        init_s = now() - t
        psql(self.url, "CHECKPOINT")
        self.cluster_bytes = int(psql(self.url, "SELECT sum(pg_database_size(datname)) FROM pg_database"))
        self.results["database"] = {
            "scale": self.a.scale, "pgbench_init_s": round(init_s, 1),
            "cluster_bytes": self.cluster_bytes,
            "db_bytes": int(psql(self.url, "SELECT pg_database_size(current_database())")),
            "accounts": int(psql(self.url, "SELECT count(*) FROM pgbench_accounts"))}
        log(f"filled in {init_s:.1f} s: cluster {self.cluster_bytes / 1e6:.0f} MB")

        status, _, target = self.alice.call("POST", "/api/v1/backup-targets",
                                            {"name": "own", "workload": "files", "bucket": BUCKET})
        assert status == 201, target
        status, _, policy = self.alice.call("PUT", f"/api/v1/workloads/{self.db['id']}/backup-policy",
                                            {"target_id": target["id"], "verify": False,
                                             "interval_seconds": 0, "keep_count": 100})
        assert status == 200, policy
        self.results["policy"] = policy
        self.archiver_container = None
        def archiver():
            cs = [c for c in self.engine.containers(f"lattice.archiver={self.db['id']}")
                  if c["State"] == "running"]
            return cs[0]["Names"][0].lstrip("/") if cs else None
        self.archiver_container = wait_until(archiver, 60, "the WAL archiver to start")
        wait_until(lambda: self.archiver_status() is not None, 90, "the archiver's first archiver.json")
        log(f"policy set, archiver {self.archiver_container} running")

    def archiver_status(self):
        status, _, body = s3(self.s3ep, self.ak, self.sk, "get", BUCKET,
                             f"{self.db['id']}/archiver.json").partition("\n")
        return json.loads(body) if status.startswith("200") else None

    def check(self):
        if self.interfered.is_set():
            raise Interfered("another Lattice process shares the Docker engine")

    def settle(self):
        self.check()
        psql(self.url, "CHECKPOINT")
        time.sleep(self.a.settle)

    # --------------------------------------------------------------------------- a) backup
    def anchor_backup(self, n):
        vol = f"lattice-bench-backup-anchor-{os.getpid()}"
        if vol not in self.anchor_volumes:
            docker("volume", "create", "--label", BENCH_LABEL, vol)
            self.anchor_volumes.append(vol)
        name = f"lattice-bench-basebackup-{os.getpid()}-{n}"
        self.anchor_containers.append(name)
        script = ('rm -f /out/base.tar.zst; t0=$(date +%s%N); '
                  'pg_basebackup -h 127.0.0.1 -U "$PGUSER" -D - -Ft -X fetch --checkpoint=fast -w '
                  '| zstd -q -T0 -3 > /out/base.tar.zst && sync /out/base.tar.zst && '
                  't1=$(date +%s%N) && echo "$(( (t1 - t0) / 1000000 )) $(stat -c %s /out/base.tar.zst)"')
        meter = CpuMeter(self.engine)
        meter.start()
        job = JobCpu(self.engine, BENCH_LABEL)
        t = now()
        r = docker("run", "--name", name, "--label", BENCH_LABEL,
                   "--network", f"container:{self.db_container}", "-v", f"{vol}:/out",
                   "-e", f"PGUSER={self.pguser}", "-e", f"PGPASSWORD={self.pgpass}",
                   "--entrypoint", "sh", PGTOOLS, "-c", script)
        wall = now() - t
        cpu = meter.stop(extra=job.stop())
        docker("rm", "-f", name, check=False)
        self.anchor_containers.remove(name)
        ms, size = (int(x) for x in r.stdout.split())
        self.anchor_file = vol
        return {"side": "anchor", "round": n, "wall_s": round(wall, 2), "duration_s": ms / 1000,
                "size_bytes": size, "cpu": cpu}

    def lattice_backup(self, n, meter=True):
        cpu_meter = CpuMeter(self.engine)
        if meter:
            cpu_meter.start()
        job = JobCpu(self.engine, "lattice.job")
        t = now()
        status, _, started = self.alice.call("POST", f"/api/v1/workloads/{self.db['id']}/backups")
        assert status == 202, started
        bid = started["id"]
        while True:
            status, _, b = self.alice.call("GET", f"/api/v1/workloads/{self.db['id']}/backups/{bid}")
            assert status == 200, b
            if b["status"] != "running":
                break
            if now() - t > self.a.timeout:
                raise RuntimeError(f"backup {bid} still running after {self.a.timeout} s")
            # Another agent that starts removes every lattice.job container it finds, ours too,
            # and our agent then never ends the backup: do not wait for it.
            self.check()
            time.sleep(0.1)
        wall = now() - t
        jobcpu = job.stop()
        assert b["status"] == "succeeded", b
        self.last_backup = b
        out = {"side": "lattice", "round": n, "id": bid, "wall_s": round(wall, 2),
               "duration_s": b["duration_ms"] / 1000, "size_bytes": b["size_bytes"]}
        if meter:
            out["cpu"] = cpu_meter.stop(extra=jobcpu)
        return out

    def backups(self):
        rows = []
        for n in range(1, self.a.rounds + 1):
            order = ["anchor", "lattice"] if n % 2 else ["lattice", "anchor"]
            for side in order:
                self.settle()
                row = self.anchor_backup(n) if side == "anchor" else self.lattice_backup(n)
                self.check()
                row["mb_s"] = round(self.cluster_bytes / 1e6 / row["duration_s"], 1)
                row["mb_s_wall"] = round(self.cluster_bytes / 1e6 / row["wall_s"], 1)
                log(f"backup round {n} {side}: {row['duration_s']:.1f} s (wall {row['wall_s']:.1f} s),"
                    f" {row['size_bytes'] / 1e6:.1f} MB compressed, {row['mb_s']} MB/s; cpu {row['cpu']['cpu_s']}")
                rows.append(row)
        anc = [r for r in rows if r["side"] == "anchor"]
        lat = [r for r in rows if r["side"] == "lattice"]
        s = {"rows": rows,
             "anchor_median_s": median([r["duration_s"] for r in anc]),
             "anchor_median_wall_s": median([r["wall_s"] for r in anc]),
             "lattice_median_s": median([r["duration_s"] for r in lat]),
             "lattice_median_wall_s": median([r["wall_s"] for r in lat])}
        s["throughput_ratio"] = round(s["anchor_median_s"] / s["lattice_median_s"], 3)
        s["throughput_ratio_wall"] = round(s["anchor_median_wall_s"] / s["lattice_median_wall_s"], 3)
        s["anchor_mb_s"] = round(self.cluster_bytes / 1e6 / s["anchor_median_s"], 1)
        s["lattice_mb_s"] = round(self.cluster_bytes / 1e6 / s["lattice_median_s"], 1)
        self.results["backup"] = s
        self.quiet_backup = self.last_backup  # what the restore phase restores (no load meanwhile)
        log(f"backup: anchor {s['anchor_mb_s']} MB/s, Lattice {s['lattice_mb_s']} MB/s, "
            f"ratio {s['throughput_ratio']} (wall {s['throughput_ratio_wall']}; goal ≥ 0.9)")

    # ---------------------------------------------------------------------------- d) tps
    def pgbench(self):
        r = run(["pgbench", "-c", "4", "-j", "2", "-T", str(self.a.tps_seconds), "-n", "-P", "5",
                 *self.a.pgbench_args.split(), self.url], timeout=self.a.tps_seconds + 600)
        tps = None
        for line in r.stdout.splitlines():
            if line.startswith("tps = "):
                tps = float(line.split()[2])
        progress = [l for l in r.stderr.splitlines() if l.startswith("progress:")]
        return tps, progress

    def tps(self):
        self.settle()
        base, base_p = self.pgbench()
        log(f"pgbench alone: {base:.1f} tps")
        self.settle()
        box = {}
        def backup_later():
            time.sleep(1)
            box["t_start"] = now()
            try:
                box["backup"] = self.lattice_backup("tps", meter=False)
            except Exception as e:  # reported below
                box["error"] = repr(e)
            box["t_end"] = now()
        t0 = now()
        th = threading.Thread(target=backup_later)
        th.start()
        during, during_p = self.pgbench()
        t1 = now()
        th.join()
        self.check()
        if "error" in box:
            raise RuntimeError(box["error"])
        overlap = max(0.0, min(t1, box["t_end"]) - max(t0, box["t_start"]))
        s = {"pgbench": f"-c 4 -j 2 -T {self.a.tps_seconds} {self.a.pgbench_args}".strip(),
             "alone_tps": base, "during_backup_tps": during,
             "ratio": round(during / base, 3),
             "backup_overlap_s": round(overlap, 1),
             "backup_during_pgbench": box["backup"],
             "progress_alone": base_p, "progress_during": during_p}
        self.results["tps"] = s
        log(f"pgbench during a backup: {during:.1f} tps ({s['ratio']}×); the backup took "
            f"{box['backup']['wall_s']} s, {overlap:.0f} s of it inside the pgbench run")

    # ---------------------------------------------------------------------------- b) restore
    def anchor_restore(self):
        vol = f"lattice-bench-backup-restored-{os.getpid()}"
        docker("volume", "create", "--label", BENCH_LABEL, vol)
        self.anchor_volumes.append(vol)
        untar = f"lattice-bench-untar-{os.getpid()}"
        pg = f"lattice-bench-pg-{os.getpid()}"
        self.anchor_containers += [untar, pg]
        t = now()
        docker("run", "--name", untar, "--label", BENCH_LABEL, "-v", f"{self.anchor_file}:/in:ro",
               "-v", f"{vol}:{PGDATA}", "--entrypoint", "sh", PGTOOLS, "-c",
               f"zstd -d -q -c /in/base.tar.zst | tar -x --numeric-owner -C {PGDATA} && "
               f"chmod 700 {PGDATA}")
        t_untar = now() - t
        docker("rm", "-f", untar, check=False)
        docker("run", "-d", "--name", pg, "--label", BENCH_LABEL, "-v", f"{vol}:{PGDATA}",
               "-p", "127.0.0.1::5432", "-e", f"POSTGRES_USER={self.pguser}",
               "-e", f"POSTGRES_PASSWORD={self.pgpass}", "-e", f"POSTGRES_DB={self.pgdb}", POSTGRES)
        port = docker("port", pg, "5432/tcp").stdout.split()[0].rsplit(":", 1)[1]
        url = f"postgresql://{self.pguser}:{self.pgpass}@127.0.0.1:{port}/{self.pgdb}"
        self.wait_query(url, t)
        total = now() - t
        docker("rm", "-f", "-v", pg, check=False)
        self.anchor_containers.remove(pg)
        self.anchor_containers.remove(untar)
        return {"untar_s": round(t_untar, 2), "total_s": round(total, 2)}

    def wait_query(self, url, t):
        while psql_try(url, "SELECT count(*) FROM pgbench_branches") != str(self.a.scale):
            if now() - t > self.a.timeout:
                raise RuntimeError(f"{url} did not answer in {self.a.timeout} s")
            time.sleep(0.1)

    def lattice_restore(self, name):
        t = now()
        status, _, w = self.alice.call("POST", f"/api/v1/workloads/{self.db['id']}/restore",
                                       {"name": name, "backup_id": self.quiet_backup["id"]})
        assert status == 202, w
        self.restored_ids.append(w["id"])
        t_running = None
        while True:
            status, _, w = self.alice.get(w["id"])
            assert status == 200, w
            if w["status"] == "running" and t_running is None:
                t_running = now() - t
                break
            if w["status"] == "failed":
                raise RuntimeError(f"restore failed: {w}")
            if now() - t > self.a.timeout:
                raise RuntimeError(f"restore not running after {self.a.timeout} s: {w}")
            time.sleep(0.1)
        self.wait_query(w["credentials"]["connection_string"], t)
        total = now() - t
        events = [e for e in self.alice.call("GET", f"/api/v1/workloads/{w['id']}/events")[2]["items"]]
        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")
        self.alice.wait_gone(w["id"], timeout=120)
        return {"running_s": round(t_running, 2), "total_s": round(total, 2), "backup": self.quiet_backup["id"],
                "events": [(e.get("time") or e.get("at"), e["message"]) for e in events]}

    def verify_quiet_backup(self):
        """The restore phase restores a verified backup, as a user with the default policy
        (verify on) would: verification is not timed, and a verified backup's restore skips the
        manifest check the verification made on the same bytes (docs/backups.md "Restore")."""
        path = f"/api/v1/workloads/{self.db['id']}/backups/{self.quiet_backup['id']}"
        if self.quiet_backup["verification"]["status"] != "verified":
            status, _, b = self.alice.call("POST", path + "/verify")
            assert status == 202, b
            t = now()
            while True:
                b = self.alice.call("GET", path)[2]
                if b["verification"]["status"] not in ("pending", "running"):
                    break
                if now() - t > self.a.timeout:
                    raise RuntimeError(f"verification still running after {self.a.timeout} s")
                self.check()
                time.sleep(0.5)
            assert b["verification"]["status"] == "verified", b
            self.quiet_backup = b
        log(f"restoring verified backup {self.quiet_backup['id']}")

    def restores(self):
        self.verify_quiet_backup()
        rows = []
        for n in range(1, self.a.rounds + 1):
            order = ["anchor", "lattice"] if n % 2 else ["lattice", "anchor"]
            for side in order:
                self.settle()
                row = self.anchor_restore() if side == "anchor" else self.lattice_restore(f"db-r{n}")
                self.check()
                row.update(side=side, round=n)
                log(f"restore round {n} {side}: {row['total_s']} s")
                rows.append(row)
        a = median([r["total_s"] for r in rows if r["side"] == "anchor"])
        l = median([r["total_s"] for r in rows if r["side"] == "lattice"])
        self.results["restore"] = {"rows": rows, "anchor_median_s": a, "lattice_median_s": l,
                                   "ratio": round(l / a, 3)}
        log(f"restore: anchor {a} s, Lattice {l} s, ratio {l / a:.2f} (goal ≤ 1.2)")

    # ---------------------------------------------------------------------------- c) RPO
    def rpo(self):
        psql(self.url, "CREATE TABLE IF NOT EXISTS rpo (id bigserial PRIMARY KEY, "
                       "ts timestamptz NOT NULL DEFAULT clock_timestamp())")
        # A backup after the table exists, so the restore below replays only the writer's WAL.
        self.lattice_backup("rpo", meter=False)
        acked = []  # (server time as text, epoch seconds)
        stop = threading.Event()
        def writer():
            while not stop.is_set():
                t = now()
                r = psql_try(self.url, "INSERT INTO rpo DEFAULT VALUES RETURNING "
                                       "id || ' ' || extract(epoch FROM ts)")
                if r and not stop.is_set():
                    i, e = r.splitlines()[0].split()
                    acked.append((int(i), float(e)))
                stop.wait(max(0.0, self.a.write_every - (now() - t)))
        th = threading.Thread(target=writer, daemon=True)
        th.start()
        # Meanwhile, once a second: how far behind the present the archive's confirmed point
        # (archiver.json covered_until) is, i.e. what a node lost at that moment would lose.
        lags = []
        end = now() + self.a.rpo_warm
        while now() < end:
            st = self.archiver_status()
            if st and st.get("covered_until"):
                until = datetime.datetime.fromisoformat(st["covered_until"].replace("Z", "+00:00"))
                lags.append(round(time.time() - until.timestamp(), 2))
            time.sleep(max(0.0, min(1.0, end - now())))
        if self.interfered.is_set():
            stop.set()
            self.check()
        before = self.archiver_status()
        # The node is lost: nothing may restart or finish anything from here on.
        self.srv.kill9()
        self.node_lost = True
        t_kill = time.time()
        docker("kill", self.archiver_container, check=False)
        docker("kill", self.db_container, check=False)
        stop.set()
        th.join(timeout=30)
        last_id, last_ts = acked[-1]
        log(f"node lost at {t_kill:.3f}: {len(acked)} inserts acknowledged, the last at {last_ts:.3f}")

        # What the bucket holds, restored as the agent would (same image, command, config).
        vol = f"lattice-bench-backup-pitr-{os.getpid()}"
        docker("volume", "create", "--label", BENCH_LABEL, vol)
        self.anchor_volumes.append(vol)
        conf = os.path.join(self.scratch, "target.conf")
        with open(conf, "w") as f:
            f.write(f"[target]\ntype = s3\nprovider = Other\nendpoint = http://127.0.0.1:9000\n"
                    f"access_key_id = {self.ak}\nsecret_access_key = {self.sk}\nregion = us-east-1\n"
                    "force_path_style = true\nuse_multipart_etag = false\n")
        os.chmod(conf, 0o644)
        name = f"lattice-bench-pitr-{os.getpid()}"
        self.anchor_containers.append(name)
        t = now()
        r = docker("run", "--name", name, "--label", BENCH_LABEL,
                   "--network", f"container:{self.files_container}",
                   "-v", f"{conf}:/run/secrets/target.conf:ro", "-v", f"{vol}:{PGDATA}",
                   PGTOOLS, "restore", "--id", self.last_backup["id"], "--data", PGDATA,
                   "--to-latest", "--bucket", BUCKET, "--prefix", self.db["id"], check=False)
        restore_s = now() - t
        docker("rm", "-f", name, check=False)
        self.anchor_containers.remove(name)
        result = json.loads(r.stdout.strip().splitlines()[-1])
        assert result.get("ok"), (result, r.stderr[-3000:])
        pg = f"lattice-bench-pitr-pg-{os.getpid()}"
        self.anchor_containers.append(pg)
        docker("run", "-d", "--name", pg, "--label", BENCH_LABEL, "-v", f"{vol}:{PGDATA}",
               "-p", "127.0.0.1::5432", POSTGRES)
        port = docker("port", pg, "5432/tcp").stdout.split()[0].rsplit(":", 1)[1]
        url = f"postgresql://{self.pguser}:{self.pgpass}@127.0.0.1:{port}/{self.pgdb}"
        t = now()
        got = None
        while got is None and now() - t < self.a.timeout:
            got = psql_try(url, "SELECT max(id) || ' ' || extract(epoch FROM max(ts)) FROM rpo")
            time.sleep(0.2)
        assert got, "the recovered database did not answer"
        rid, rts = got.split()
        docker("rm", "-f", "-v", pg, check=False)
        self.anchor_containers.remove(pg)
        s = {"write_every_s": self.a.write_every, "writes_acked": len(acked),
             "last_acked_id": last_id, "last_acked_epoch": last_ts, "kill_epoch": round(t_kill, 3),
             "restored_last_id": int(rid), "restored_last_epoch": float(rts),
             "lost_s": round(last_ts - float(rts), 2), "lost_rows": last_id - int(rid),
             "archiver_before_kill": before,
             "covered_until_lag_s": {"samples": len(lags), "median": median(lags) if lags else None,
                                     "max": max(lags) if lags else None, "all": lags}, "restore_result": result,
             "restore_s": round(restore_s, 1)}
        self.results["rpo"] = s
        log(f"RPO: {s['lost_s']} s of acknowledged writes lost ({s['lost_rows']} rows); goal ≤ 60 s. "
            f"The archive's confirmed point lagged the present by {s['covered_until_lag_s']['median']} s "
            f"(median), {s['covered_until_lag_s']['max']} s (max) over the {self.a.rpo_warm:.0f} s before")

    # ---------------------------------------------------------------------------- profile
    def pipeline(self, label, script, extra=()):
        """Runs `script` (sh) in a pgtools container in the database's network namespace; returns
        its own timing (ms, printed by the script) and the CPU seconds of the containers."""
        vol = self.anchor_volumes[0]
        name = f"lattice-bench-profile-{os.getpid()}"
        self.anchor_containers.append(name)
        self.settle()
        meter = CpuMeter(self.engine)
        meter.start()
        job = JobCpu(self.engine, BENCH_LABEL)
        r = docker("run", "--name", name, "--label", BENCH_LABEL,
                   "--network", f"container:{self.db_container}", "-v", f"{vol}:/out",
                   "-e", f"PGUSER={self.pguser}", "-e", f"PGPASSWORD={self.pgpass}", *extra,
                   "--entrypoint", "bash", PGTOOLS, "-c",
                   "t0=$(date +%s%N); " + script + '; echo "$(( ($(date +%s%N) - t0) / 1000000 ))"')
        cpu = meter.stop(extra=job.stop())
        docker("rm", "-f", name, check=False)
        self.anchor_containers.remove(name)
        ms = int(r.stdout.split()[-1])
        row = {"step": label, "duration_s": ms / 1000, "cpu": cpu}
        log(f"profile {label}: {ms / 1000:.1f} s; cpu {cpu['cpu_s']} (host busy {cpu['host_busy_cpu_s']} s)")
        return row

    def profile(self):
        """Where a backup's and a restore's time goes: the tool's pipeline taken apart."""
        if not self.anchor_volumes:
            self.anchor_backup("profile")
        conf = os.path.join(self.scratch, "profile-target.conf")
        with open(conf, "w") as f:
            f.write(f"[target]\ntype = s3\nprovider = Other\nendpoint = http://files:9000\n"
                    f"access_key_id = {self.ak}\nsecret_access_key = {self.sk}\nregion = us-east-1\n"
                    "force_path_style = true\nuse_multipart_etag = false\n")
        os.chmod(conf, 0o644)
        bb = 'pg_basebackup -h 127.0.0.1 -U "$PGUSER" -D - -Ft -X fetch --checkpoint=fast -w'
        rclone = ("rclone --config /conf --s3-no-check-bucket --contimeout 10s --timeout 120s "
                  "--retries 3 --low-level-retries 5 --stats 0 --s3-chunk-size 16M "
                  "--s3-upload-concurrency 4")
        mount = ("-v", f"{conf}:/conf:ro")
        rows = [
            self.pipeline("pg_basebackup > /dev/null", f"{bb} > /dev/null"),
            self.pipeline("pg_basebackup | zstd -T0 -3 > file (the anchor)",
                          f"{bb} | zstd -q -T0 -3 > /out/p.tar.zst"),
            self.pipeline("… | zstd | tee sha256sum, wc -c > file",
                          f"{bb} | zstd -q -T0 -3 | tee >(sha256sum >/dev/null) >(wc -c >/dev/null) "
                          "> /out/p.tar.zst"),
            self.pipeline("… | zstd | rclone rcat (S3 workload)",
                          f"{bb} | zstd -q -T0 -3 | {rclone} rcat target:{BUCKET}/profile/p.tar.zst",
                          mount),
            self.pipeline("… | zstd | tee sha256sum, wc -c | rclone rcat (the tool's pipeline)",
                          f"{bb} | zstd -q -T0 -3 | tee >(sha256sum >/dev/null) >(wc -c >/dev/null) "
                          f"| {rclone} rcat target:{BUCKET}/profile/p.tar.zst", mount),
            self.pipeline("rclone lsjson --stat (one of the tool's 3 small S3 calls)",
                          f"{rclone} lsjson --stat target:{BUCKET}/profile/p.tar.zst > /dev/null", mount),
        ]
        lat = self.lattice_backup("profile")
        rows.append({"step": "Lattice backup (API; the tool's duration_ms)", "duration_s": lat["duration_s"],
                     "cpu": lat["cpu"]})
        log(f"profile Lattice backup: {lat['duration_s']:.1f} s; cpu {lat['cpu']['cpu_s']}")

        # The restore, step by step: the tool as the agent runs it, its log lines timed here.
        vol = f"lattice-bench-backup-profile-restore-{os.getpid()}"
        docker("volume", "create", "--label", BENCH_LABEL, vol)
        self.anchor_volumes.append(vol)
        pw = os.path.join(self.scratch, "pw")
        with open(pw, "w") as f:
            f.write("bench-new-password")
        os.chmod(pw, 0o644)
        rconf = os.path.join(self.scratch, "profile-target2.conf")
        with open(rconf, "w") as f:
            f.write(open(conf).read().replace("http://files:9000", "http://127.0.0.1:9000"))
        os.chmod(rconf, 0o644)
        name = f"lattice-bench-profile-restore-{os.getpid()}"
        self.anchor_containers.append(name)
        self.settle()
        t = now()
        proc = subprocess.Popen(
            ["docker", "run", "--name", name, "--label", BENCH_LABEL,
             "--network", f"container:{self.files_container}",
             "-v", f"{rconf}:/run/secrets/target.conf:ro", "-v", f"{pw}:/pw:ro",
             "-v", f"{vol}:{PGDATA}", PGTOOLS, "restore", "--id", lat["id"], "--data", PGDATA,
             "--bucket", BUCKET, "--prefix", self.db["id"], "--new-password-file", "/pw"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        steps = []
        for line in proc.stderr:
            if "lattice-pgtool:" in line:
                steps.append((round(now() - t, 2), line.split("lattice-pgtool:", 1)[1].strip()[:120]))
        out = proc.stdout.read()
        proc.wait()
        steps.append((round(now() - t, 2), "tool exited"))
        docker("rm", "-f", name, check=False)
        self.anchor_containers.remove(name)
        for ts, what in steps:
            log(f"profile restore +{ts:6.2f} s  {what}")
        verify = self.pipeline("pg_verifybackup of the restored directory (a second time)",
                               f"pg_verifybackup -q -n -i .lattice-restore-incomplete {PGDATA} || true",
                               ("-v", f"{vol}:{PGDATA}"))
        try:
            owner = json.loads(out.strip().splitlines()[-1])["owner"]
        except (ValueError, IndexError, KeyError):
            owner = "100:102"
        chown = self.pipeline("chown -R of the restored directory (a second time)",
                              f"chown -R {owner} {PGDATA}", ("-v", f"{vol}:{PGDATA}"))
        self.results["profile"] = {"backup": rows, "restore_tool_log": steps,
                                   "restore_result": out.strip()[-2000:],
                                   "restore_parts": [verify, chown]}

    # ---------------------------------------------------------------------------- clean-up
    def save_server_log(self):
        """The server's log (every start) next to the results; and how often the agent had to
        start this database's archiver, and stopped archivers that were not its own."""
        text = ""
        for n in range(1, 10):
            for kind in ("stdout", "stderr"):
                path = os.path.join(self.srv.tmp_dir, f"{kind}.{n}.log")
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        text += f.read()
        with open(self.a.results.replace(".json", ".server.log"), "w") as f:
            f.write(text)
        if hasattr(self, "db"):
            mine = f"workload={self.db['id']} "
            starts = [l[:24] for l in text.splitlines() if "event=wal_archiver_start" in l and mine in l]
            foreign = [l for l in text.splitlines() if "event=wal_archiver_stop" in l and mine not in l
                       and not any(f"workload={w} " in l for w in self.restored_ids)]
            self.results["archiver_starts"] = starts
            self.results["foreign_archivers_stopped_by_our_agent"] = len(foreign)

    def cleanup(self):
        for c in list(self.anchor_containers):
            docker("rm", "-f", "-v", c, check=False)
        try:
            if self.srv is not None:
                if self.node_lost:
                    log("starting Lattice again for the clean-up")
                    self.srv.start()
                    self.wait_node()
                if self.srv.proc is not None and self.alice is not None:
                    items = self.alice.call("GET", "/api/v1/workloads")[2]["items"]
                    for w in items:
                        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")
                    for w in items:
                        self.alice.wait_gone(w["id"], timeout=180)
        except Exception as e:
            log(f"clean-up through the API failed: {e!r}")
        finally:
            ids = [self.db["id"], self.files["id"]] if hasattr(self, "files") else []
            if self.srv is not None:
                self.save_server_log()
                try:
                    self.srv.stop(timeout=60)
                except Exception as e:
                    log(f"stopping Lattice: {e!r}")
                self.srv.cleanup()
            # Whatever the API could not remove, and only ours: other Lattice processes may share
            # this engine, so job containers (lattice.job) are not touched by label.
            for wid in ids + self.restored_ids:
                self.engine.remove_labelled(f"lattice.workload={wid}")
                self.engine.remove_labelled(f"lattice.archiver={wid}")
                docker("rm", "-f", "-v", f"lattice-restore-{wid}", check=False)
            for v in self.anchor_volumes:
                docker("volume", "rm", "-f", v, check=False)
            shutil.rmtree(self.scratch, ignore_errors=True)


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "loadavg_at_start": os.getloadavg(), "kernel": platform.release(),
            "docker": docker("version", "--format", "{{.Server.Version}}", check=False).stdout.strip()}


def report(r):
    """Markdown tables of a results file (what docs/BENCHMARKS.md records)."""
    out = []
    d = r["database"]
    roles = r.get("containers", {})

    def role(name):
        if name in roles:
            return roles[name]
        for prefix, what in (("lattice-wal-", "archiver"), ("lattice-job-", "job"),
                             ("lattice-bench-", "bench job")):
            if name.startswith(prefix):
                return what
        return name
    out.append(f"Run {r['started']} – {r['finished']}, scale {d['scale']} "
               f"({d['cluster_bytes'] / 1e6:.0f} MB cluster, {d['accounts']} accounts), "
               f"load average {r['machine']['loadavg_at_start'][0]:.1f} → {r['machine']['loadavg_at_end'][0]:.1f}, "
               f"other Lattice agents during the run: {len(r.get('other_lattice_processes_during_run', []))}, "
               f"archiver starts: {len(r.get('archiver_starts') or [])}\n")
    if "backup" in r:
        b = r["backup"]
        out.append("| backup, round | anchor s (wall) | Lattice s (wall) | compressed MB |")
        out.append("| --- | --- | --- | --- |")
        rounds = sorted({x["round"] for x in b["rows"]})
        for n in rounds:
            a = next(x for x in b["rows"] if x["round"] == n and x["side"] == "anchor")
            l = next(x for x in b["rows"] if x["round"] == n and x["side"] == "lattice")
            out.append(f"| {n} | {a['duration_s']:.1f} ({a['wall_s']:.1f}) | {l['duration_s']:.1f} "
                       f"({l['wall_s']:.1f}) | {a['size_bytes'] / 1e6:.1f} / {l['size_bytes'] / 1e6:.1f} |")
        out.append(f"| median | {b['anchor_median_s']:.1f} ({b['anchor_median_wall_s']:.1f}) | "
                   f"{b['lattice_median_s']:.1f} ({b['lattice_median_wall_s']:.1f}) | |")
        out.append(f"\nthroughput {b['anchor_mb_s']} vs {b['lattice_mb_s']} MB/s: ratio "
                   f"{b['throughput_ratio']} (wall {b['throughput_ratio_wall']})\n")
    if "tps" in r:
        t = r["tps"]
        out.append(f"tps ({t['pgbench']}): alone {t['alone_tps']:.0f}, during a backup "
                   f"{t['during_backup_tps']:.0f} ({t['ratio']}×); the backup took "
                   f"{t['backup_during_pgbench']['duration_s']:.1f} s, {t['backup_overlap_s']} s inside the run\n")
    if "restore" in r:
        x = r["restore"]
        out.append("| restore, round | anchor s (untar) | Lattice s (running) |")
        out.append("| --- | --- | --- |")
        for n in sorted({y["round"] for y in x["rows"]}):
            a = next(y for y in x["rows"] if y["round"] == n and y["side"] == "anchor")
            l = next(y for y in x["rows"] if y["round"] == n and y["side"] == "lattice")
            out.append(f"| {n} | {a['total_s']:.1f} ({a['untar_s']:.1f}) | {l['total_s']:.1f} ({l['running_s']:.1f}) |")
        out.append(f"| median | {x['anchor_median_s']:.1f} | {x['lattice_median_s']:.1f} |")
        out.append(f"\nrestore ratio {x['ratio']}\n")
    if "profile" in r:
        out.append("| step | s | CPU s by container |")
        out.append("| --- | --- | --- |")
        for row in r["profile"]["backup"] + r["profile"]["restore_parts"]:
            cpu = ", ".join(f"{role(k.split(' ')[0])} {v}" for k, v in row["cpu"]["cpu_s"].items())
            step = row["step"].replace("|", "\\|")
            out.append(f"| {step} | {row['duration_s']:.1f} | {cpu} |")
        out.append("")
        for ts, what in r["profile"]["restore_tool_log"]:
            out.append(f"    +{ts:6.2f} s  {what}")
        out.append("")
    if "rpo" in r:
        x = r["rpo"]
        lag = x.get("covered_until_lag_s", {})
        out.append(f"RPO: {x['writes_acked']} inserts acknowledged, {x['lost_rows']} lost = "
                   f"{x['lost_s']} s; archive lag median {lag.get('median')} s, max {lag.get('max')} s "
                   f"({lag.get('samples')} samples); restore {x['restore_s']} s ({x['restore_result'].get('recovery')})")
    return "\n".join(out)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        with open(sys.argv[2]) as f:
            print(report(json.load(f)))
        return
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--scale", type=int, default=130)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--tps-seconds", type=int, default=60)
    p.add_argument("--pgbench-args", default="")
    p.add_argument("--rpo-warm", type=float, default=60)
    p.add_argument("--write-every", type=float, default=0.1)
    p.add_argument("--settle", type=float, default=3)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--wait-quiet", type=float, default=900)
    p.add_argument("--abort-on-other", type=int, default=1)
    p.add_argument("--phases", default="backup,tps,restore,rpo")
    p.add_argument("--results", required=True)
    a = p.parse_args()
    b = Bench(a)
    b.results["started"] = datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z"
    b.results["machine"] = machine()
    phases = a.phases.split(",")

    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    rc = 0
    try:
        b.setup()
        if "backup" in phases:
            b.backups()
        if "tps" in phases:
            b.tps()
        if "restore" in phases:
            if not hasattr(b, "quiet_backup"):
                b.settle()
                b.quiet_backup = b.lattice_backup("restore", meter=False) and b.last_backup
            if not hasattr(b, "anchor_file"):
                b.anchor_backup("restore")
            b.restores()
        if "profile" in phases:
            b.profile()
        if "rpo" in phases:
            b.rpo()
    except Interfered as e:
        log(f"INTERFERED: {e}")
        b.results["error"] = repr(e)
        rc = 3
    except BaseException as e:
        log(f"FAILED: {e!r}")
        b.results["error"] = repr(e)
        rc = 2
    finally:
        b.results["finished"] = datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z"
        b.results["other_lattice_processes_during_run"] = [
            {"pid": p, "cmd": v["cmd"],
             "from": datetime.datetime.utcfromtimestamp(v["first"]).isoformat(timespec="seconds") + "Z",
             "to": datetime.datetime.utcfromtimestamp(v["last"]).isoformat(timespec="seconds") + "Z"}
            for p, v in b.foreign.items()]
        if b.foreign:
            log(f"WARNING: other Lattice processes ran on this machine during the run: "
                f"{b.results['other_lattice_processes_during_run']}")
        b.results["machine"]["loadavg_at_end"] = os.getloadavg()
        os.makedirs(os.path.dirname(os.path.abspath(a.results)), exist_ok=True)
        with open(a.results, "w") as f:
            json.dump(b.results, f, indent=1)
        b.cleanup()
        with open(a.results, "w") as f:  # again, with what the clean-up read from the server log
            json.dump(b.results, f, indent=1)
    if rc == 0:
        r = b.results
        goals = []
        if "backup" in r:
            goals.append(r["backup"]["throughput_ratio"] >= 0.9)
        if "restore" in r:
            goals.append(r["restore"]["ratio"] <= 1.2)
        if "rpo" in r:
            goals.append(r["rpo"]["lost_s"] <= 60)
        rc = 0 if all(goals) else 1
    log(f"results in {a.results}")
    sys.exit(rc)


if __name__ == "__main__":
    main()
