#!/usr/bin/env python3
"""Scale benchmark (issue #8): NODES simulated agents × WORKLOADS workloads each, against one
real `lattice server` on SQLite or on a real (durable) PostgreSQL, all on this machine.

Each simulated agent is what a real agent is on the wire, minus Docker: a TLS connection to
the server's one port that trusts only the server's CA (its ca.crt, host name checked), a
WebSocket upgrade to /api/v1/agent/link, `hello` with its own single-use join token, then
`welcome`, `assignments`/`upsert` answered with `status` reports for the generation it was
given, and a `heartbeat` every `heartbeat_seconds` (started at a random phase). No container
runs: the agent reports `running` at once.

Phases (timed and reported): start the server; sign up USERS users; mint NODES join tokens;
connect the agents; create NODES × WORKLOADS workloads through the API (the scheduler spreads
them, WORKLOADS per node); wait until every one is `running`. Then, for DURATION seconds of
steady state:
  - heartbeats keep flowing (NODES / heartbeat_seconds per second);
  - FLIPS per second, an agent reports a new status reason for one workload of a watched user,
    and that user's SSE client (GET /api/v1/events) times the change's arrival;
  - API clients time GET /api/v1/workloads (one user's list) and GET /api/v1/workloads/{id};
  - the server's CPU (utime+stime) and RSS are sampled from /proc.
At the end every node must still be `ready` with a heartbeat no older than 3 × the interval
(the server processed them all). Prints one JSON object (also written to --out).

    bench/scale/run.sh                         # both engines, 10,000 × 20
    NODES=500 WORKLOADS=4 bench/scale/run.sh   # a quick look
Standard library only.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import ssl
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "load"))

import load  # noqa: E402
from agent_link import ws_frame  # noqa: E402
from lattice_server import LatticeServer  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402

PROTOCOL = 2  # link::kProtocolVersion (src/link/protocol.h)
MEMORY_PER_WORKLOAD_MB = 64
PASSWORD = "correct horse battery"


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


# ------------------------------------------------------------------------------ HTTP client

class Http(load.Http):
    """bench/load's keep-alive HTTP/1.1 client, with a generous timeout (a user's list of 1,000
    workloads under load) and `must`."""

    def __init__(self, host, port):
        super().__init__(host, port, timeout=120)

    async def must(self, method, path, body=None, token=None, expect=(200, 201)):
        status, answer = await self.request(method, path, body, token)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer


# ------------------------------------------------------------------------------ agent link

def ws_control(opcode, payload=b""):
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + masked


class SimAgent:
    def __init__(self, bench, index):
        self.bench = bench
        self.name = f"sim-{index:05d}"
        self.node_id = None
        self.generations = {}  # workload id → the generation last reported
        self.writer = None
        self.heartbeats = 0
        self.closed = asyncio.Event()

    def send(self, messages):
        self.writer.write(b"".join(ws_frame(json.dumps(m)) for m in messages))

    async def read_message(self, reader):
        parts, first_opcode = [], None
        while True:
            b0, b1 = await reader.readexactly(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await reader.readexactly(8))[0]
            payload = await reader.readexactly(n)
            if opcode == 0x8:
                return None
            if opcode == 0x9:  # ping
                self.writer.write(ws_control(0xA, payload))
                continue
            if opcode == 0xA:
                continue
            if opcode != 0:
                first_opcode = opcode
            parts.append(payload)
            if b0 & 0x80:
                if first_opcode == 0x1:
                    return json.loads(b"".join(parts))
                parts, first_opcode = [], None

    async def connect(self, join_token):
        b = self.bench
        reader, self.writer = await asyncio.open_connection(
            b.host, b.port, ssl=b.tls, server_hostname=b.host, limit=1 << 24)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET /api/v1/agent/link HTTP/1.1\r\nHost: {b.host}:{b.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
            raise RuntimeError(f"{self.name}: no upgrade: {head[:200]!r}")
        self.send([{"type": "hello", "protocol": PROTOCOL, "join_token": join_token,
                    "node_id": "", "node_secret": "", "name": self.name, "cpus": 64,
                    "memory_mb": b.workloads * MEMORY_PER_WORKLOAD_MB, "disk_mb": 100000,
                    "labels": {"sim": "1"}, "agent_version": "scale-bench",
                    "address": "127.0.0.1", "running": []}])
        welcome = await self.read_message(reader)
        if not welcome or welcome.get("type") != "welcome":
            raise RuntimeError(f"{self.name}: refused: {welcome}")
        self.node_id = welcome["node_id"]
        b.agents_by_node[self.node_id] = self
        return reader, welcome["heartbeat_seconds"]

    async def run(self, reader, heartbeat_seconds):
        hb = asyncio.create_task(self.heartbeat_loop(heartbeat_seconds))
        try:
            while True:
                m = await self.read_message(reader)
                if m is None:
                    break
                kind = m.get("type")
                if kind == "assignments":
                    self.apply(m["items"])
                elif kind == "upsert":
                    self.apply([m["assignment"]])
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            hb.cancel()
            self.closed.set()
            self.bench.links_lost += 1

    def apply(self, assignments):
        reports = []
        for a in assignments:
            state = {"running": "running", "stopped": "stopped",
                     "deleted": "deleted"}[a["desired_state"]]
            self.generations[a["workload_id"]] = a["generation"]
            reports.append({"type": "status", "workload_id": a["workload_id"],
                            "generation": a["generation"], "state": state, "reason": "",
                            "bindings": []})
        if reports:
            self.send(reports)
            self.bench.statuses_sent += len(reports)

    def flip(self, workload_id, reason):
        self.send([{"type": "status", "workload_id": workload_id,
                    "generation": self.generations[workload_id], "state": "running",
                    "reason": reason, "bindings": []}])

    async def heartbeat_loop(self, seconds):
        await asyncio.sleep(random.uniform(0, seconds))
        while True:
            self.send([{"type": "heartbeat", "running": len(self.generations)}])
            self.heartbeats += 1
            self.bench.heartbeats_sent += 1
            await asyncio.sleep(seconds)


# ------------------------------------------------------------------------------ the benchmark

class ProcSampler:
    """CPU seconds and RSS of one process, from /proc."""

    def __init__(self, pid):
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick

    def rss_mb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0


class Bench:
    def __init__(self, args, host, port, ca_file, server_pid):
        self.args = args
        self.nodes, self.workloads = args.nodes, args.workloads
        self.host, self.port = host, port
        self.tls = ssl.create_default_context(cafile=ca_file)  # the server's CA, nothing else
        self.server = ProcSampler(server_pid)
        self.agents_by_node = {}
        self.statuses_sent = self.heartbeats_sent = self.links_lost = 0
        self.result = {"engine": args.engine, "nodes": args.nodes,
                       "workloads_per_node": args.workloads, "users": args.users}
        self.phase_started = time.monotonic()
        self.commits = None  # PostgreSQL: a callable returning the database's commit count

    def phase(self, name, **extra):
        now = time.monotonic()
        seconds = round(now - self.phase_started, 1)
        self.result.setdefault("setup_seconds", {})[name] = seconds
        print(f"[scale] {name}: {seconds} s {extra if extra else ''}".rstrip(),
              file=sys.stderr, flush=True)
        self.phase_started = now

    async def pool(self, n, jobs, worker):
        """Runs `worker(http, job)` over `jobs` on `n` connections."""
        queue = asyncio.Queue()
        for j in jobs:
            queue.put_nowait(j)
        out = []

        async def loop():
            http = Http(self.host, self.port)
            try:
                while not queue.empty():
                    out.append(await worker(http, queue.get_nowait()))
            finally:
                await http.close()
        await asyncio.gather(*(loop() for _ in range(n)))
        return out

    async def run(self):
        a = self.args
        http = Http(self.host, self.port)
        admin = (await http.must("POST", "/api/v1/auth/register",
                                 {"email": "admin@scale.test", "password": PASSWORD}))["token"]

        async def sign_up(h, i):
            r = await h.must("POST", "/api/v1/auth/register",
                             {"email": f"user{i}@scale.test", "password": PASSWORD})
            return r["token"]
        self.users = await self.pool(4, range(a.users), sign_up)
        self.phase("sign up users")

        async def mint(h, _):
            return (await h.must("POST", "/api/v1/nodes/join-tokens", {}, admin))["token"]
        tokens = await self.pool(8, range(self.nodes), mint)
        self.phase("mint join tokens")

        agents = [SimAgent(self, i) for i in range(self.nodes)]
        sem = asyncio.Semaphore(64)  # handshakes in flight

        async def connect(agent, token):
            async with sem:
                reader, hb = await agent.connect(token)
            self.heartbeat_seconds = hb
            return asyncio.create_task(agent.run(reader, hb))
        self.runners = await asyncio.gather(*(connect(ag, t) for ag, t in zip(agents, tokens)))
        await self.wait_for(lambda: self.count_nodes(admin, "ready"), self.nodes, "nodes ready",
                            timeout=600)
        self.phase("connect agents", links=len(self.agents_by_node))

        total = self.nodes * self.workloads
        per_user = total // a.users
        jobs = [(u, k) for k in range(per_user) for u in range(a.users)]
        created = []
        self.last_progress = time.monotonic()

        async def create(h, job):
            u, k = job
            w = await h.must("POST", "/api/v1/workloads",
                             {"name": f"w{k}", "template": "custom", "image": "scale/noop:1",
                              "resources": {"memory_mb": MEMORY_PER_WORKLOAD_MB, "cpus": 0.01}},
                             self.users[u])
            created.append((u, w["id"]))
            if len(created) % 5000 == 0:
                now = time.monotonic()
                rate = 5000 / max(0.001, now - self.last_progress)
                self.last_progress = now
                print(f"[scale]   {len(created)} created ({rate:.0f}/s, server CPU "
                      f"{self.server.cpu_seconds():.0f} s, bench CPU "
                      f"{time.process_time():.0f} s)", file=sys.stderr, flush=True)
        commits0 = self.commits() if self.commits else None
        await self.pool(a.api_connections, jobs, create)
        self.result["created"] = len(created)
        if self.commits:
            # Everything the create phase cost the database: the creates, placement, and the
            # agents' status reports (PostgreSQL's own count; its statistics lag by ~1 s).
            await asyncio.sleep(1.5)
            self.result["commits_per_create"] = round(
                (self.commits() - commits0) / max(1, len(created)), 2)
        self.phase("create workloads", per_second=round(len(created) / max(
            0.1, time.monotonic() - self.phase_started)))
        self.result["create_per_second"] = round(
            len(created) / self.result["setup_seconds"]["create workloads"])

        await self.wait_for(lambda: self.count_running(), len(created), "workloads running",
                            timeout=1800)
        self.phase("all running")
        by_user = {}
        for u, wid in created:
            by_user.setdefault(u, []).append(wid)
        await self.steady_state(admin, by_user)
        for t in self.runners:
            t.cancel()
        return self.result

    async def count_nodes(self, admin, status):
        h = Http(self.host, self.port)
        try:
            nodes = (await h.must("GET", "/api/v1/nodes", token=admin))["items"]
        finally:
            await h.close()
        self.node_list = nodes
        return sum(1 for n in nodes if n["status"] == status)

    async def count_running(self):
        async def running_of(h, token):
            items = (await h.must("GET", "/api/v1/workloads", token=token))["items"]
            return sum(1 for w in items if w["status"] == "running")
        return sum(await self.pool(4, self.users, running_of))

    async def wait_for(self, probe, target, what, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = await probe()
            if last >= target:
                return
            print(f"[scale]   {what}: {last}/{target}", file=sys.stderr, flush=True)
            await asyncio.sleep(2)
        raise RuntimeError(f"{what}: only {last}/{target} after {timeout} s")

    async def steady_state(self, admin, by_user):
        a = self.args
        watched = list(by_user)[:a.watched_users]
        sent = {}       # reason → monotonic time the agent sent it
        latencies = []  # seconds from the agent's report to the owner's SSE client
        stop = asyncio.Event()      # everything ends
        flipping = asyncio.Event()  # the flipper runs while set
        flipping.set()
        node_of = {}
        h = Http(self.host, self.port)
        for u in watched:
            for w in (await h.must("GET", "/api/v1/workloads", token=self.users[u]))["items"]:
                node_of[w["id"]] = w["node_id"]
        await h.close()

        async def sse(token):
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 24)
            writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: {self.host}\r\n"
                          f"Authorization: Bearer {token}\r\n\r\n").encode())
            try:
                while not stop.is_set():
                    try:
                        line = await asyncio.wait_for(reader.readline(), 0.5)
                    except asyncio.TimeoutError:
                        continue
                    if not line:
                        raise RuntimeError("the event stream ended")
                    if line.startswith(b"data:"):
                        reason = json.loads(line[5:]).get("status_reason", "")
                        if reason in sent:
                            latencies.append(time.monotonic() - sent.pop(reason))
            finally:
                writer.close()

        async def flipper():
            seq = 0
            ids = list(node_of)
            while flipping.is_set():
                wid = random.choice(ids)
                seq += 1
                reason = f"scale flip {seq}"
                sent[reason] = time.monotonic()
                self.agents_by_node[node_of[wid]].flip(wid, reason)
                await asyncio.sleep(1 / a.flips)

        api = {"list": [], "get": []}

        async def prober(kind):
            h = Http(self.host, self.port)
            try:
                while not stop.is_set():
                    u = random.randrange(len(self.users))
                    t0 = time.monotonic()
                    if kind == "list":
                        await h.must("GET", "/api/v1/workloads", token=self.users[u])
                    else:
                        await h.must("GET", f"/api/v1/workloads/{random.choice(by_user[u])}",
                                     token=self.users[u])
                    api[kind].append(time.monotonic() - t0)
                    await asyncio.sleep(a.think)
            finally:
                await h.close()

        tasks = [asyncio.create_task(sse(self.users[u])) for u in watched]
        await asyncio.sleep(1)  # subscribed
        tasks += [asyncio.create_task(flipper())]
        tasks += [asyncio.create_task(prober(k)) for k in ("list", "get")
                  for _ in range(a.probers)]
        cpu0, hb0, t0 = self.server.cpu_seconds(), self.heartbeats_sent, time.monotonic()
        rss = []
        while time.monotonic() - t0 < a.duration:
            await asyncio.sleep(1)
            rss.append(self.server.rss_mb())
        cpu1, hb1, t1 = self.server.cpu_seconds(), self.heartbeats_sent, time.monotonic()
        flipping.clear()
        await asyncio.sleep(1.0)  # the target: a change still unseen after this is a miss
        stop.set()
        await asyncio.sleep(0.6)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        window = t1 - t0

        ready = await self.count_nodes(admin, "ready")
        server_now = time.time()
        stale = 0
        for n in self.node_list:
            hb = n.get("last_heartbeat")
            if not hb or server_now - _parse_ts(hb) > 3 * self.heartbeat_seconds:
                stale += 1
        self.result.update({
            "steady_seconds": round(window, 1),
            "server_cpu_percent": round(100 * (cpu1 - cpu0) / window, 1),
            "server_rss_mb": {"max": round(max(rss)), "end": round(rss[-1])},
            "heartbeat_seconds": self.heartbeat_seconds,
            "heartbeats_per_second": round((hb1 - hb0) / window),
            "nodes_ready_at_end": ready,
            "nodes_with_stale_heartbeat": stale,
            "links_lost": self.links_lost,
            "propagation_ms": {"n": len(latencies), "unanswered": len(sent),
                               "p50": ms(pct(latencies, 50)), "p99": ms(pct(latencies, 99)),
                               "max": ms(max(latencies) if latencies else None)},
            "api_ms": {k: {"n": len(v), "p50": ms(pct(v, 50)), "p99": ms(pct(v, 99)),
                           "max": ms(max(v) if v else None)} for k, v in api.items()},
            "items_per_list": len(next(iter(by_user.values()))),
            "placed_per_node": {"min": min(len(g.generations) for g in self.agents_by_node.values()),
                                "max": max(len(g.generations) for g in self.agents_by_node.values())},
        })


def _parse_ts(text):
    # "2026-12-04T13:22:30Z"
    return time.mktime(time.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S")) - time.timezone


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--nodes", type=int, default=10000)
    p.add_argument("--workloads", type=int, default=20, help="per node")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--duration", type=float, default=60, help="steady-state seconds")
    p.add_argument("--flips", type=float, default=20, help="status changes per second")
    p.add_argument("--watched-users", type=int, default=10)
    p.add_argument("--probers", type=int, default=2, help="API clients per route")
    p.add_argument("--think", type=float, default=0.05, help="seconds between API calls")
    p.add_argument("--api-connections", type=int, default=8, help="for creating workloads")
    p.add_argument("--out", default="")
    a = p.parse_args()

    want = a.nodes + 2048  # one socket per agent, here and in the server, and some
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        if hard < want:
            sys.exit(f"{a.nodes} agents need {want} open files; the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    pg = None
    args = ["--registration", "open", "--quota-workloads", "0", "--quota-memory-mb", "0",
            "--quota-cpus", "0", "--access-log", "false", "--log-level", "warn",
            "--lost-grace", "3600"]
    if a.engine == "postgres":
        pg = PostgresCluster(durable=True).start()
        args += ["--database", pg.create_database()]
    srv = LatticeServer(*args)
    try:
        srv.start()
        ca = os.path.join(srv.data_dir, "tls", "ca.crt")
        bench = Bench(a, srv.host, srv.port, ca, srv.proc.pid)
        if pg is not None:
            db = args[-1].rsplit("/", 1)[-1].split("?")[0]
            sql = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{db}'"
            bench.commits = lambda: int(pg.psql("postgres", sql).stdout)
        result = asyncio.run(bench.run())
    finally:
        srv.cleanup()
        if pg is not None:
            pg.cleanup()
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
