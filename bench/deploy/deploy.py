#!/usr/bin/env python3
"""bench/deploy: deploy latency of Lattice against a plain `docker run -d` of the same image.

Driven by bench/deploy/run.sh (see there for the environment). Standard library only; the
Lattice process is started through tests/e2e/harness.py (`lattice dev` on a temp data dir and a
loopback port, the embedded agent on $DOCKER_HOST).

Four measurements per round, interleaved (the order alternates between rounds so that neither
side always runs right after the other's clean-up):

  small/anchor   `docker run -d --label lattice.bench=1 -p 127.0.0.1::8080 lattice/busybox:dev
                  httpd -f -p 8080 -h /`: t_cli when the CLI returns, t_ready when the published
                  port first answers HTTP (see READY below).
  small/lattice  POST /api/v1/workloads (custom, same image, same command, port 8080):
                  t_running when the event stream reports `running`, t_ready when the endpoint
                  then first answers HTTP.
  pg/anchor      `docker run -d ... -p 127.0.0.1::5432 -e POSTGRES_{USER,PASSWORD,DB}
                  lattice/postgres:15`: t_first_query when `psql URL -c 'select 1'` first
                  succeeds (retried every 50 ms once the CLI has returned).
  pg/lattice     POST template postgres: GET polled every 20 ms until the endpoint has a host
                  port, then `psql <connection_string> -c 'select 1'` retried every 50 ms;
                  t_first_query when it first succeeds; t_running from the event stream.

All times are seconds from just before the `docker run` process is spawned / the POST is sent.
Lattice's `running` is the first sighting on GET /api/v1/events (SSE, read on a thread), not a
GET poll. For the breakdown, each row also gets engine_create/engine_start (the engine's own
/events, same wall clock for both sides) and, for Lattice, agent_* (the embedded agent's log:
status reported, container created, container started).

READY (both sides, identical): a TCP connect to 127.0.0.1:<published port> succeeds AND the
server answers `GET / HTTP/1.0` with an HTTP status line (any status: busybox httpd answers 404
for `/`), tried every 10 ms. A bare connect is not enough: docker-proxy accepts on the host port
before the process in the container listens.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import harness  # noqa: E402
from harness import Docker, LatticeDev  # noqa: E402

BUSYBOX = "lattice/busybox:dev"
POSTGRES = "lattice/postgres:15"
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/"]
BENCH_LABEL = "lattice.bench=1"
PROBE_EVERY = 0.010   # HTTP readiness retry
PSQL_EVERY = 0.050    # psql retry
GET_EVERY = 0.020     # endpoint poll (Lattice postgres)
TIMEOUT = 180.0

now = time.monotonic


def log(*a):
    print("deploy:", *a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ probes

def http_answers(port):
    """True when 127.0.0.1:port accepts a connection and answers with an HTTP status line."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.settimeout(1.0)
            s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while len(data) < 12:
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.")
    except OSError:
        return False


def wait_http(port, deadline):
    while now() < deadline:
        if http_answers(port):
            return now()
        time.sleep(PROBE_EVERY)
    raise TimeoutError(f"127.0.0.1:{port} did not answer HTTP in time")


PSQL_ENV = dict(os.environ, PGCONNECT_TIMEOUT="2")


def psql_ok(url):
    r = subprocess.run(["psql", url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", "select 1"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, env=PSQL_ENV,
                       timeout=30)
    return r.returncode == 0 and r.stdout.strip() == "1", r.stderr.strip()


def wait_psql(url, deadline):
    """Retries psql every 50 ms; returns (time of first success, attempts, last error)."""
    attempts, err = 0, ""
    while now() < deadline:
        attempts += 1
        ok, err = psql_ok(url)
        if ok:
            return now(), attempts
        time.sleep(PSQL_EVERY)
    raise TimeoutError(f"psql never succeeded against {url}: {err}")


# ------------------------------------------------------------------------------------ docker

class Engine(Docker):
    def published_port(self, cid, container_port):
        status, body = self.call("GET", f"/containers/{cid}/json")
        assert status == 200, body
        binds = (body["NetworkSettings"]["Ports"] or {}).get(f"{container_port}/tcp") or []
        for b in binds:
            if b.get("HostIp") in ("127.0.0.1", "0.0.0.0", "") and b.get("HostPort"):
                return int(b["HostPort"])
        raise AssertionError(f"container {cid} publishes no port for {container_port}: {binds}")

    def log_lines(self, cid):
        """The container's log as [(wall time, text)] (timestamps=1, stdout and stderr)."""
        status, body = self.call("GET", f"/containers/{cid}/logs?stdout=1&stderr=1&timestamps=1")
        if status != 200 or not isinstance(body, bytes):
            return []
        text, i = b"", 0
        while i + 8 <= len(body) and body[i] in (0, 1, 2):  # multiplexed frames (no TTY)
            size = int.from_bytes(body[i + 4:i + 8], "big")
            text += body[i + 8:i + 8 + size]
            i += 8 + size
        if i == 0:
            text = body
        out = []
        for line in text.decode("utf-8", "replace").splitlines():
            ts, _, rest = line.partition(" ")
            try:  # RFC 3339 with nanoseconds: keep microseconds for fromisoformat
                head, _, frac = ts.rstrip("Z").partition(".")
                t = datetime.datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")
            except ValueError:
                continue
            out.append((t.timestamp(), rest))
        return out

    def volumes_of(self, cid):
        status, body = self.call("GET", f"/containers/{cid}/json")
        if status != 200:
            return []
        return [m["Name"] for m in body.get("Mounts") or [] if m.get("Type") == "volume"]

    def volume_names(self):
        status, body = self.call("GET", "/volumes")
        return {v["Name"] for v in (body or {}).get("Volumes") or []}


def docker_cli(*args, timeout=120):
    r = subprocess.run(["docker", *args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout.strip()


def pg_log_steps(lines, t0_wall):
    """Steps of the postgres image's first start, from its log: s after t0.

    initdb_synced: "syncing data to disk ... ok" (initdb's fsync of the new cluster, the step
    that swings with the host's disk load); ready: the last "ready to accept connections"
    (the final server, after the entrypoint's temporary one)."""
    out = {}
    for t, text in lines:
        if "pg_first_log" not in out:
            out["pg_first_log"] = round(t - t0_wall, 4)
        if "performing post-bootstrap initialization" in text:
            out["pg_bootstrapped"] = round(t - t0_wall, 4)
        elif "syncing data to disk" in text:
            out["pg_initdb_synced"] = round(t - t0_wall, 4)
        elif "ready to accept connections" in text:
            out["pg_ready"] = round(t - t0_wall, 4)
    return out


class EngineEvents(threading.Thread):
    """Follows the engine's /events stream: wall-clock time of each container's create/start, as
    the engine saw them (the same clock for both sides, so the two paths can be split up)."""

    def __init__(self, engine):
        super().__init__(daemon=True)
        self.engine = engine
        self.lock = threading.Lock()
        self.by_id = {}        # container id -> {action: wall time}
        self.by_workload = {}  # lattice.workload label -> container id
        self.sock = None

    def run(self):
        try:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.engine.path)
            conn = http.client.HTTPConnection("docker")
            conn.sock = self.sock
            f = urllib.parse.quote(json.dumps({"type": ["container"],
                                               "event": ["create", "start"]}))
            conn.request("GET", f"/events?filters={f}")
            resp = conn.getresponse()
            while True:
                line = resp.readline()
                if not line:
                    return
                e = json.loads(line)
                attrs = (e.get("Actor") or {}).get("Attributes") or {}
                with self.lock:
                    self.by_id.setdefault(e["id"], {}).setdefault(e["Action"],
                                                                  e["timeNano"] / 1e9)
                    if attrs.get("lattice.workload"):
                        self.by_workload[attrs["lattice.workload"]] = e["id"]
        except (OSError, ValueError, http.client.HTTPException):
            return

    def times(self, cid=None, workload=None, t0_wall=0.0):
        """{create, start}: seconds after t0_wall (waits briefly for the events to arrive)."""
        for _ in range(50):
            with self.lock:
                if workload:
                    cid = self.by_workload.get(workload, cid)
                got = dict(self.by_id.get(cid, {})) if cid else {}
            if "start" in got:
                break
            time.sleep(0.02)
        return {f"engine_{k}": round(v - t0_wall, 4) for k, v in got.items()}

    def stop(self):
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


AGENT_LINE = re.compile(r"^(\S+) level=\w+ event=(\w+) workload=(\S+)(?: generation=\d+)?"
                        r"(?: state=(\w+))?")


def agent_timeline(log_path):
    """workload id -> {step: wall time} from the embedded agent's log lines."""
    out = {}
    try:
        with open(log_path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return out
    for line in lines:
        m = AGENT_LINE.match(line)
        if not m:
            continue
        ts, event, wid, state = m.groups()
        try:
            t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
        step = {"workload_status": f"agent_{state}", "container_create": "agent_created",
                "container_start": "agent_started", "workload_ready": "agent_ready"}.get(event)
        if step:
            out.setdefault(wid, {}).setdefault(step, t)
    return out


# ------------------------------------------------------------------------------------ lattice

class EventStream(threading.Thread):
    """Reads GET /api/v1/events; remembers, per workload, the first time each status was seen."""

    def __init__(self, host, port, token):
        super().__init__(daemon=True)
        self.host, self.port, self.token = host, port, token
        self.cond = threading.Condition()
        self.seen = {}      # id -> {status: monotonic time of first sighting}
        self.last = {}      # id -> last data
        self.connected = threading.Event()
        self.error = None
        self.conn = None

    def run(self):
        try:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=None)
            self.conn.request("GET", "/api/v1/events",
                              headers={"Authorization": f"Bearer {self.token}",
                                       "Accept": "text/event-stream"})
            resp = self.conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"GET /api/v1/events answered {resp.status}")
            self.connected.set()
            event, data = None, []
            while True:
                line = resp.fp.readline()
                if not line:
                    raise RuntimeError("event stream closed")
                t = now()
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if event == "workload" and data:
                        self._workload(json.loads("\n".join(data)), t)
                    event, data = None, []
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
        except Exception as e:  # noqa: BLE001 - reported to the waiters
            with self.cond:
                self.error = e
                self.cond.notify_all()
            self.connected.set()

    def _workload(self, w, t):
        wid = w.get("id")
        if not wid:
            return
        with self.cond:
            self.seen.setdefault(wid, {}).setdefault(w.get("status"), t)
            self.last[wid] = w
            self.cond.notify_all()

    def wait_status(self, wid, statuses, deadline):
        """Time at which any of `statuses` was first seen for `wid` (may be in the past)."""
        statuses = {statuses} if isinstance(statuses, str) else set(statuses)
        with self.cond:
            while True:
                hits = [t for s, t in self.seen.get(wid, {}).items() if s in statuses]
                if hits:
                    return min(hits)
                if self.error:
                    raise RuntimeError(f"event stream failed: {self.error}")
                if "failed" in self.seen.get(wid, {}):
                    raise RuntimeError(f"workload {wid} failed: {self.last.get(wid)}")
                left = deadline - now()
                if left <= 0:
                    raise TimeoutError(f"workload {wid} never reached {statuses}: "
                                       f"{self.last.get(wid)}")
                self.cond.wait(left)

    def phases(self, wid, t0):
        with self.cond:
            return {s: round(t - t0, 4) for s, t in sorted(self.seen.get(wid, {}).items(),
                                                           key=lambda kv: kv[1])}


class Lattice:
    def __init__(self, binary):
        os.environ["LATTICE_BIN"] = binary
        self.srv = LatticeDev("--access-log", "false")
        self.srv.start()
        status, _, body = self.srv.request("POST", "/api/v1/auth/register",
                                           {"email": f"bench-{secrets.token_hex(4)}@example.com",
                                            "password": "deploy benchmark pw"})
        assert status == 201, (status, body)
        self.token = body["token"]
        self.conn = None
        self.events = EventStream(self.srv.host, self.srv.port, self.token)
        self.events.start()
        if not self.events.connected.wait(10) or self.events.error:
            raise RuntimeError(f"could not open the event stream: {self.events.error}")
        self.created = []  # every workload id, for the final clean-up check

    def call(self, method, path, body=None):
        """One request on a kept-alive connection (reopened if the server closed it)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=30)
            try:
                payload = json.dumps(body).encode() if body is not None else None
                hdrs = {"Authorization": f"Bearer {self.token}"}
                if payload:
                    hdrs["Content-Type"] = "application/json"
                self.conn.request(method, path, body=payload, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, (json.loads(data) if data[:1] in (b"{", b"[") else data)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def create(self, spec):
        status, body = self.call("POST", "/api/v1/workloads", spec)
        assert status == 201, (status, body)
        self.created.append(body["id"])
        return body

    def get(self, wid):
        status, body = self.call("GET", f"/api/v1/workloads/{wid}")
        assert status == 200, (status, body)
        return body

    def delete(self, wid, timeout=90):
        status, body = self.call("DELETE", f"/api/v1/workloads/{wid}")
        assert status in (202, 404), (status, body)
        deadline = now() + timeout
        while now() < deadline:
            status, _ = self.call("GET", f"/api/v1/workloads/{wid}")
            if status == 404:
                return
            time.sleep(0.05)
        raise TimeoutError(f"workload {wid} still exists {timeout}s after DELETE")

    def stop(self):
        try:
            if self.conn:
                self.conn.close()
            if self.events.conn and self.events.conn.sock:
                try:
                    self.events.conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.srv.stop()
        finally:
            self.srv.cleanup()


# ------------------------------------------------------------------------------------ runs

class Bench:
    def __init__(self, engine, lattice, events):
        self.engine = engine
        self.lat = lattice
        self.events = events
        self.anchor_volumes = []  # anonymous volumes of anchor containers, checked at the end

    def _anchor_cleanup(self, cid):
        self.anchor_volumes += self.engine.volumes_of(cid)
        docker_cli("rm", "-f", "-v", cid)

    def small_anchor(self):
        t0, t0_wall = now(), time.time()
        cid = docker_cli("run", "-d", "--label", BENCH_LABEL, "-p", "127.0.0.1::8080",
                         BUSYBOX, *HTTPD)
        t_cli = now()
        try:
            port = self.engine.published_port(cid, 8080)
            t_ready = wait_http(port, t0 + TIMEOUT)
        finally:
            self._anchor_cleanup(cid)
        return {"cli": t_cli - t0, "ready": t_ready - t0,
                **self.events.times(cid=cid, t0_wall=t0_wall)}

    def small_lattice(self, i):
        spec = {"name": f"bench-httpd-{i}", "template": "custom", "image": BUSYBOX,
                "command": HTTPD, "ports": [{"port": 8080}]}
        t0, t0_wall = now(), time.time()
        w = self.lat.create(spec)
        t_created = now()
        wid = w["id"]
        try:
            t_running = self.lat.events.wait_status(wid, "running", t0 + TIMEOUT)
            w = self.lat.get(wid)
            port = harness.endpoint(w)["port"]
            assert port, w
            t_ready = wait_http(port, t0 + TIMEOUT)
            phases = self.lat.events.phases(wid, t0)
        finally:
            self.lat.delete(wid)
        return {"post": t_created - t0, "running": t_running - t0, "ready": t_ready - t0,
                "phases": phases, "id": wid, "t0_wall": t0_wall,
                **self.events.times(workload=wid, t0_wall=t0_wall)}

    def pg_anchor(self):
        user, db, pw = "bench", "bench", secrets.token_hex(12)
        t0, t0_wall = now(), time.time()
        cid = docker_cli("run", "-d", "--label", BENCH_LABEL, "-p", "127.0.0.1::5432",
                         "-e", f"POSTGRES_PASSWORD={pw}", "-e", f"POSTGRES_USER={user}",
                         "-e", f"POSTGRES_DB={db}", POSTGRES)
        t_cli = now()
        try:
            port = self.engine.published_port(cid, 5432)
            url = f"postgres://{user}:{pw}@127.0.0.1:{port}/{db}"
            t_q, attempts = wait_psql(url, t0 + TIMEOUT)
            steps = pg_log_steps(self.engine.log_lines(cid), t0_wall)
        finally:
            self._anchor_cleanup(cid)
        return {"cli": t_cli - t0, "first_query": t_q - t0, "psql_attempts": attempts,
                **self.events.times(cid=cid, t0_wall=t0_wall), **steps}

    def pg_lattice(self, i):
        t0, t0_wall = now(), time.time()
        w = self.lat.create({"name": f"bench-pg-{i}", "template": "postgres"})
        t_created = now()
        wid = w["id"]
        try:
            deadline = t0 + TIMEOUT
            while True:
                ep = harness.endpoint(w)
                if ep.get("port"):
                    break
                if w["status"] == "failed" or now() > deadline:
                    raise RuntimeError(f"no endpoint for {wid}: {w}")
                time.sleep(GET_EVERY)
                w = self.lat.get(wid)
            t_endpoint = now()
            url = w["credentials"]["connection_string"]
            t_q, attempts = wait_psql(url, deadline)
            t_running = self.lat.events.wait_status(wid, "running", deadline)
            phases = self.lat.events.phases(wid, t0)
            steps = {}
            for c in self.engine.containers(f"lattice.workload={wid}"):
                steps = pg_log_steps(self.engine.log_lines(c["Id"]), t0_wall)
        finally:
            self.lat.delete(wid)
        return {"post": t_created - t0, "endpoint": t_endpoint - t0, "first_query": t_q - t0,
                "running": t_running - t0, "psql_attempts": attempts, "phases": phases,
                "id": wid, "t0_wall": t0_wall,
                **self.events.times(workload=wid, t0_wall=t0_wall), **steps}


def rnd(x):
    return round(x, 4) if isinstance(x, float) else x


def median_of(rows, key):
    return round(statistics.median(r[key] for r in rows), 4)


def machine_notes(engine):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    _, info = engine.call("GET", "/info")
    _, ver = engine.call("GET", "/version")
    try:
        psql_v = subprocess.run(["psql", "--version"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        psql_v = ""
    return {
        "cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_start": os.getloadavg(),
        "docker_server": (ver or {}).get("Version"), "storage_driver": (info or {}).get("Driver"),
        "cgroup": f"{(info or {}).get('CgroupDriver')} v{(info or {}).get('CgroupVersion')}",
        "docker_cli": docker_cli("version", "--format", "{{.Client.Version}}"),
        "psql": psql_v, "python": platform.python_version(),
    }


def foreign_containers(engine, ours):
    """Containers on the engine that this benchmark did not create (other users' load)."""
    status, body = engine.call("GET", "/containers/json")
    out = []
    for c in body or []:
        labels = c.get("Labels") or {}
        if labels.get("lattice.bench") == "1" or labels.get("lattice.workload") in ours:
            continue
        out.append((c.get("Names") or ["?"])[0])
    return out


def summarize(rows, small_target, pg_target):
    """Medians and Lattice/anchor ratios (of the medians and per round)."""
    for key in ("pg_anchor", "pg_lattice"):  # derived: without initdb's fsync step
        for r in rows[key]:
            if "pg_initdb_synced" in r and "pg_bootstrapped" in r:
                r["first_query_nosync"] = round(
                    r["first_query"] - (r["pg_initdb_synced"] - r["pg_bootstrapped"]), 4)
    fields = {"small_anchor": ["cli", "ready", "engine_create", "engine_start"],
              "small_lattice": ["post", "running", "ready", "engine_create", "engine_start",
                                "agent_creating", "agent_created", "agent_started",
                                "agent_running"],
              "pg_anchor": ["cli", "first_query", "first_query_nosync", "engine_create",
                            "engine_start", "pg_first_log", "pg_bootstrapped",
                            "pg_initdb_synced", "pg_ready"],
              "pg_lattice": ["post", "endpoint", "first_query", "first_query_nosync", "running",
                             "engine_create", "engine_start", "agent_creating",
                             "agent_created", "agent_started", "agent_running",
                             "pg_first_log", "pg_bootstrapped", "pg_initdb_synced",
                             "pg_ready"]}
    med = {}
    for key, names in fields.items():
        for n in names:
            vals = [r[n] for r in rows[key] if n in r]
            if len(vals) == len(rows[key]) and vals:
                med[f"{key}_{n}"] = round(statistics.median(vals), 4)

    def ratio(name, num, den, target, headline):
        a, b = num.split(":"), den.split(":")
        v = round(med[f"{a[0]}_{a[1]}"] / med[f"{b[0]}_{b[1]}"], 3)
        per_round = [round(x[a[1]] / y[b[1]], 3) for x, y in zip(rows[a[0]], rows[b[0]])]
        return {"name": name, "lattice": num, "anchor": den, "ratio": v,
                "per_round": per_round, "median_per_round": statistics.median(per_round),
                "target": target, "pass": v <= target, "headline": headline}

    ratios = [
        ratio("small: POST→running vs docker run -d returned", "small_lattice:running",
              "small_anchor:cli", small_target, False),
        ratio("small: POST→running vs docker run -d + port answers", "small_lattice:running",
              "small_anchor:ready", small_target, True),
        ratio("small: port answers, both sides (apples to apples)", "small_lattice:ready",
              "small_anchor:ready", small_target, True),
        ratio("postgres: time to first query", "pg_lattice:first_query",
              "pg_anchor:first_query", pg_target, True),
        ratio("postgres: POST→running vs anchor first query", "pg_lattice:running",
              "pg_anchor:first_query", pg_target, False),
    ]
    if "pg_lattice_first_query_nosync" in med and "pg_anchor_first_query_nosync" in med:
        ratios.append(ratio("postgres: first query without initdb's fsync step (diagnostic)",
                            "pg_lattice:first_query_nosync", "pg_anchor:first_query_nosync",
                            pg_target, False))
    return med, ratios


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--results")
    ap.add_argument("--binary")
    ap.add_argument("--small-target", type=float, default=1.25)
    ap.add_argument("--pg-target", type=float, default=1.2)
    ap.add_argument("--report", metavar="JSON",
                    help="only recompute the ratios and print the report of an earlier run")
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            result = json.load(f)
        result["median_s"], result["ratios"] = summarize(result["rounds_data"],
                                                         args.small_target, args.pg_target)
        result["pass"] = all(x["pass"] for x in result["ratios"] if x["headline"])
        with open(args.report, "w") as f:
            json.dump(result, f, indent=2)
        print_report(result)
        return 0 if result["pass"] else 1
    if not args.results or not args.binary:
        ap.error("--results and --binary are required (unless --report)")

    engine = Engine()
    if not engine.available():
        log(f"no Docker engine at {harness.docker_host()}")
        return 2
    for img in (BUSYBOX, POSTGRES):
        if not engine.has_image(img):
            log(f"image {img} is missing (scripts/build-images.sh)")
            return 2
    if not shutil.which("psql"):
        log("psql is not installed")
        return 2

    notes = machine_notes(engine)
    volumes_before = engine.volume_names()
    events = EngineEvents(engine)
    events.start()
    lat = Lattice(args.binary)
    bench = Bench(engine, lat, events)
    rows = {"small_anchor": [], "small_lattice": [], "pg_anchor": [], "pg_lattice": []}
    foreign = set()
    failed = None
    try:
        total = args.warmup + args.rounds
        for r in range(total):
            warm = r < args.warmup
            tag = f"warm-up {r + 1}" if warm else f"round {r - args.warmup + 1}/{args.rounds}"
            steps = [("small_anchor", bench.small_anchor),
                     ("small_lattice", lambda: bench.small_lattice(r)),
                     ("pg_anchor", bench.pg_anchor),
                     ("pg_lattice", lambda: bench.pg_lattice(r))]
            if r % 2 == 1:  # alternate who goes first within each pair
                steps = [steps[1], steps[0], steps[3], steps[2]]
            for name, fn in steps:
                foreign.update(foreign_containers(engine, set(lat.created)))
                time.sleep(args.settle)
                load1 = os.getloadavg()[0]
                res = {k: rnd(v) for k, v in fn().items()}
                res["load1"] = round(load1, 2)
                log(f"{tag} {name}: " + " ".join(
                    f"{k}={v}" for k, v in res.items()
                    if k in ("cli", "post", "running", "ready", "endpoint", "first_query"))
                    + f" (load {load1:.1f})")
                if not warm:
                    rows[name].append(res)
    except Exception as e:  # noqa: BLE001
        failed = e
        log(f"benchmark failed: {e!r}")
        log(lat.srv.output()[-4000:])
    finally:
        server_log = ""
        try:
            with open(lat.srv._stderr_path, errors="replace") as f:
                server_log = f.read()
        except (OSError, TypeError):
            pass
        timeline = agent_timeline(lat.srv._stderr_path) if lat.srv._stderr_path else {}
        lat.stop()
        events.stop()
        # Clean-up check: nothing of ours may be left on the engine.
        leftovers = engine.containers(BENCH_LABEL)
        for wid in lat.created:
            leftovers += engine.containers(f"lattice.workload={wid}")
        for c in leftovers:
            log(f"removing leftover container {c['Id'][:12]}")
            engine.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        left_vols = [v for v in engine.volume_names() - volumes_before
                     if v in bench.anchor_volumes or any(v.startswith(f"lattice-{w}-")
                                                         for w in lat.created)]
        for v in left_vols:
            log(f"removing leftover volume {v}")
            engine.call("DELETE", f"/volumes/{v}")
    if failed:
        return 2
    for key in ("small_lattice", "pg_lattice"):
        for r in rows[key]:
            t0_wall = r.pop("t0_wall")
            for step, t in timeline.get(r["id"], {}).items():
                r[step] = round(t - t0_wall, 4)

    med, ratios = summarize(rows, args.small_target, args.pg_target)
    notes["loadavg_end"] = os.getloadavg()
    notes["foreign_containers_seen"] = sorted(foreign)
    result = {
        "benchmark": "deploy", "rounds": args.rounds, "warmup_rounds": args.warmup,
        "settle_s": args.settle, "binary": args.binary,
        "method": {
            "ready": "TCP connect to 127.0.0.1:<published port> + HTTP status line for GET /, "
                     f"retried every {int(PROBE_EVERY * 1000)} ms (both sides)",
            "psql_retry_ms": int(PSQL_EVERY * 1000), "endpoint_poll_ms": int(GET_EVERY * 1000),
            "lattice_running": "first `running` on GET /api/v1/events (SSE), client clock",
            "engine_*": "the engine's own create/start events (GET /events), s after t0",
            "agent_*": "the embedded agent's log lines (status reported, container created/"
                       "started), s after t0",
            "order": "interleaved; anchor first in odd rounds, Lattice first in even rounds",
        },
        "machine": notes, "rounds_data": rows, "median_s": med, "ratios": ratios,
        "pass": all(x["pass"] for x in ratios if x["headline"]),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.splitext(args.results)[0] + ".server.log", "w") as f:
        f.write(server_log)
    print_report(result)
    return 0 if result["pass"] else 1


def print_report(res):
    rows = res["rounds_data"]
    n = res["rounds"]
    cols = [("small anchor: `docker run -d` returned", "small_anchor", "cli"),
            ("small anchor: port answers", "small_anchor", "ready"),
            ("small Lattice: POST answered 201", "small_lattice", "post"),
            ("small Lattice: POST→`running` (SSE)", "small_lattice", "running"),
            ("small Lattice: port answers", "small_lattice", "ready"),
            ("pg anchor: `docker run -d` returned", "pg_anchor", "cli"),
            ("pg anchor: first query", "pg_anchor", "first_query"),
            ("pg Lattice: endpoint known (GET)", "pg_lattice", "endpoint"),
            ("pg Lattice: first query", "pg_lattice", "first_query"),
            ("pg Lattice: POST→`running` (SSE)", "pg_lattice", "running")]
    print("| measurement (s) | " + " | ".join(f"r{i + 1}" for i in range(n)) + " | median |")
    print("|" + "---|" * (n + 2))
    for label, key, field in cols:
        vals = [r[field] for r in rows[key]]
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in vals) +
              f" | **{statistics.median(vals):.3f}** |")
    print("| load average (1 min) at the small / pg anchor | " +
          " | ".join(f"{a['load1']:.1f} / {b['load1']:.1f}"
                     for a, b in zip(rows["small_anchor"], rows["pg_anchor"])) + " | |")
    print()
    print("| ratio Lattice / anchor | of medians | per round | target | result |")
    print("|---|---|---|---|---|")
    for r in res["ratios"]:
        tag = "" if r["headline"] or "diagnostic" in r["name"] else " (secondary)"
        print(f"| {r['name']}{tag} | **{r['ratio']:.3f}** | "
              f"{', '.join(f'{x:.2f}' for x in r['per_round'])} | ≤ {r['target']} | "
              f"{'PASS' if r['pass'] else 'FAIL'} |")
    print()
    def m(key, a, b=None):
        """Median over the rounds of row[a] - row[b] (or row[a]), as text."""
        vals = [r[a] - (r[b] if b else 0.0) for r in rows[key] if a in r and (not b or b in r)]
        return f"{statistics.median(vals):.3f}" if vals and len(vals) == len(rows[key]) else "n/a"

    print("Where the time goes (median over the rounds of each step, s; engine_* from the "
          "engine's event stream, agent_* from the agent's log, same clock):")
    print()
    print("| step | small anchor | small Lattice | pg anchor | pg Lattice |")
    print("|---|---|---|---|---|")
    print("| t0 → engine `create` event | "
          + " | ".join(m(k, "engine_create") for k in
                       ("small_anchor", "small_lattice", "pg_anchor", "pg_lattice")) + " |")
    print("| `create` → `start` event | "
          + " | ".join(m(k, "engine_start", "engine_create") for k in
                       ("small_anchor", "small_lattice", "pg_anchor", "pg_lattice")) + " |")
    print("| `start` event → CLI returned / `running` seen (pg Lattice: endpoint known) | "
          f"{m('small_anchor', 'cli', 'engine_start')} | "
          f"{m('small_lattice', 'running', 'engine_start')} | "
          f"{m('pg_anchor', 'cli', 'engine_start')} | "
          f"{m('pg_lattice', 'endpoint', 'engine_start')} |")
    for label, a, b in (("`start` event → postgres' first log line", "pg_first_log",
                         "engine_start"),
                        ("→ initdb bootstrapped", "pg_bootstrapped", "pg_first_log"),
                        ("→ initdb synced to disk (fsync; swings with disk load)",
                         "pg_initdb_synced", "pg_bootstrapped"),
                        ("→ final server ready to accept connections", "pg_ready",
                         "pg_initdb_synced"),
                        ("→ first query succeeded (psql every 50 ms)", "first_query",
                         "pg_ready"),
                        ("`start` event → first query", "first_query", "engine_start")):
        print(f"| {label} | | | {m('pg_anchor', a, b)} | {m('pg_lattice', a, b)} |")
    print()
    print("| Lattice step (median, s) | small | pg |")
    print("|---|---|---|")
    for label, a, b in (("POST sent → agent reports `creating`", "agent_creating", None),
                        ("→ container created (image check, volumes, create)", "agent_created",
                         "agent_creating"),
                        ("→ container started (inspect, start)", "agent_started",
                         "agent_created"),
                        ("→ agent reports `running` (inspect, readiness)", "agent_running",
                         "agent_started"),
                        ("→ client sees `running` on the event stream", "running",
                         "agent_running"),
                        ("first successful query → `running` seen", "running", "first_query")):
        small = "" if a == "running" and b == "first_query" else m("small_lattice", a, b)
        print(f"| {label} | {small} | {m('pg_lattice', a, b)} |")


if __name__ == "__main__":
    sys.exit(main())
