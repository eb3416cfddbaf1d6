#!/usr/bin/env python3
"""Load: many concurrent API clients against one Lattice server for a bounded time.

Each client is one asyncio task with one keep-alive HTTP/1.1 connection (raw sockets, no
library), signed in as one of --accounts accounts (several clients share an account, as the
tabs of one user would). Until --duration runs out each client picks an operation by weight,
then waits a random think time (mean --think-ms):

  list     GET  /api/v1/workloads
  get      GET  /api/v1/workloads/{id}
  deploy   POST /api/v1/workloads           (busybox printing a line a second, 16 MiB)
  stop     POST /api/v1/workloads/{id}/stop  (a running workload of the account)
  start    POST /api/v1/workloads/{id}/start (a stopped one)
  follow   GET  /api/v1/workloads/{id}/logs?tail=5&follow=true on a connection of its own:
           the latency is the time to the first log line; the stream is held --follow-seconds
  signin   POST /api/v1/auth/login           (argon2id, 64 MiB: expensive on purpose)

Sign-in failures are limited per account (5) and per address (20) per 15 minutes, and every
client here shares one address, so the mix signs in only with the right password; a
successful sign-in is not limited. Tokens are reused between sign-ins.

At the end it checks that nothing acknowledged was lost: every deploy answered 201 is listed
by its account, and every acknowledged stop or start is the workload's desired state (unless a
later acknowledged action changed it). It prints latency percentiles per operation and exits
non-zero on any 5xx, transport error or lost write. Standard library only.

    bench/load/load.py --url http://127.0.0.1:8080 --clients 200 --duration 30
"""

import argparse
import asyncio
import json
import math
import random
import sys
import time
import urllib.parse

PASSWORD = "load-test-password-1"
IMAGE = "lattice/busybox:dev"
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; i=0; while :; do echo tick $i; i=$((i+1)); "
           "sleep 1 & wait; done"]
# Relative weights of the operations (--mix overrides them). A sign-in costs ~0.2 s of a
# core (argon2id), a list a fraction of a millisecond: the share of sign-ins is kept to what a
# console sees (one per session, not one per click), or they alone saturate a small machine.
WEIGHTS = {"list": 40, "get": 20, "deploy": 8, "stop": 3, "start": 3, "follow": 25,
           "signin": 0.2}


class Transport(Exception):
    """The connection failed (refused, reset, closed mid-answer, timed out)."""


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.reader = self.writer = None

    async def close(self):
        if self.writer:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def send(self, method, path, body=None, token=None, extra=()):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        head += list(extra)
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()

    async def head(self):
        """Reads the status line and headers; returns (status, {lower-case name: value})."""
        line = await self.reader.readline()
        if not line:
            raise Transport("connection closed before the answer")
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise Transport(f"not an HTTP answer: {line[:80]!r}")
        headers = {}
        while True:
            h = await self.reader.readline()
            if h in (b"\r\n", b"\n"):
                break
            if not h:
                raise Transport("connection closed in the answer's header")
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(parts[1]), headers

    async def request(self, method, path, body=None, token=None):
        """One request/answer on the keep-alive connection: (status, parsed body)."""
        try:
            status, headers, data = await asyncio.wait_for(
                self._exchange(method, path, body, token), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, Transport) as e:
            await self.close()
            raise Transport(f"{type(e).__name__}: {e}") from None
        if headers.get("connection", "").lower() == "close":
            await self.close()
        ctype = headers.get("content-type", "")
        parsed = json.loads(data) if data and "json" in ctype else data
        return status, parsed

    async def _exchange(self, method, path, body, token):
        await self.send(method, path, body, token)
        status, headers = await self.head()
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, data


class Stats:
    def __init__(self):
        self.latency = {k: [] for k in WEIGHTS}
        self.status = {k: {} for k in WEIGHTS}
        self.transport = {k: [] for k in WEIGHTS}
        self.follow_lines = 0

    def record(self, op, status, seconds):
        self.status[op][status] = self.status[op].get(status, 0) + 1
        if status < 500:
            self.latency[op].append(seconds)

    def server_errors(self):
        return sum(n for per in self.status.values() for s, n in per.items() if s >= 500)

    def transport_errors(self):
        return sum(len(v) for v in self.transport.values())


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


class Account:
    def __init__(self, email):
        self.email = email
        self.token = None
        self.deploys = {}      # id -> name, every 201
        self.intent = {}       # id -> desired state after the last acknowledged action
        self.status = {}       # id -> status last seen in a list or get
        self.in_flight = set()  # ids with a stop/start not yet answered


class Load:
    def __init__(self, args):
        u = urllib.parse.urlsplit(args.url)
        self.host, self.port = u.hostname, u.port or 80
        self.args = args
        self.stats = Stats()
        self.accounts = []
        self.deploys_started = 0
        self.rng = random.Random(args.seed)
        mix = dict(WEIGHTS)
        for item in filter(None, (args.mix or "").split(",")):
            op, _, weight = item.partition("=")
            if op not in WEIGHTS:
                raise SystemExit(f"--mix: unknown operation {op!r} (known: {', '.join(WEIGHTS)})")
            mix[op] = float(weight)
        self.mix = mix
        self.ops, self.weights = zip(*mix.items())

    async def setup(self):
        http = Http(self.host, self.port, 60)
        tag = f"{int(time.time())}{self.rng.randrange(10**6)}"
        for i in range(self.args.accounts):
            a = Account(f"load{i}-{tag}@example.com")
            status, body = await http.request("POST", "/api/v1/auth/register",
                                              {"email": a.email, "password": PASSWORD})
            if status != 201:
                raise SystemExit(f"cannot register {a.email}: {status} {body}")
            a.token = body["token"]
            self.accounts.append(a)
        await http.close()

    async def client(self, n, deadline):
        acct = self.accounts[n % len(self.accounts)]
        http = Http(self.host, self.port, self.args.timeout)
        rng = random.Random(self.args.seed * 1000 + n)
        seq = 0
        while time.monotonic() < deadline:
            op = rng.choices(self.ops, self.weights)[0]
            if not self.applicable(op, acct):
                op = "list"  # keep the pressure up when there is nothing to act on
            started = time.monotonic()
            try:
                status = await self.run(op, acct, http, rng, n, seq)
            except Transport as e:
                self.stats.transport[op].append(str(e))
                status = None
            if status is not None:  # a follow records its own latency
                self.stats.record(op, status, time.monotonic() - started)
            seq += 1
            await asyncio.sleep(rng.uniform(0, 2 * self.args.think_ms / 1000))
        await http.close()

    def applicable(self, op, acct):
        if op == "deploy":
            return (self.deploys_started < self.args.max_deploys and
                    len(acct.deploys) < self.args.per_account)
        if op in ("get", "stop", "start", "follow"):
            state = {"get": None, "stop": "running", "start": "stopped", "follow": "running"}[op]
            return self.pick(acct, random, state, intent=op in ("stop", "start")) is not None
        return True

    async def run(self, op, acct, http, rng, n, seq):
        """Runs one operation; returns its HTTP status (None: recorded by the operation)."""
        if op == "list":
            status, body = await http.request("GET", "/api/v1/workloads", token=acct.token)
            if status == 200:
                for w in body["items"]:
                    acct.status[w["id"]] = w["status"]
            return status
        if op == "signin":
            status, body = await http.request("POST", "/api/v1/auth/login",
                                              {"email": acct.email, "password": PASSWORD})
            if status == 200:
                acct.token = body["token"]
            return status
        if op == "deploy":
            self.deploys_started += 1
            spec = {"name": f"load-{n}-{seq}", "template": "custom", "image": IMAGE,
                    "command": COMMAND, "resources": {"memory_mb": 16}}
            status, body = await http.request("POST", "/api/v1/workloads", spec, acct.token)
            if status == 201:
                acct.deploys[body["id"]] = body["name"]
                acct.intent[body["id"]] = "running"
            return status
        if op == "get":
            wid = self.pick(acct, rng, None)
            status, body = await http.request("GET", f"/api/v1/workloads/{wid}",
                                              token=acct.token)
            if status == 200:
                acct.status[wid] = body["status"]
            return status
        if op in ("stop", "start"):
            want = "running" if op == "stop" else "stopped"
            wid = self.pick(acct, rng, want, intent=True)
            acct.in_flight.add(wid)
            try:
                status, _ = await http.request("POST", f"/api/v1/workloads/{wid}/{op}",
                                               token=acct.token)
            finally:
                acct.in_flight.discard(wid)
            if status == 202:
                acct.intent[wid] = "stopped" if op == "stop" else "running"
            return status
        if op == "follow":
            return await self.follow(acct, self.pick(acct, rng, "running"))
        raise AssertionError(op)

    @staticmethod
    def pick(acct, rng, state, intent=False):
        """A workload of the account whose last-seen status (or, with intent, whose desired
        state) is `state` (any if None), with no action of this tool in flight."""
        pool = [w for w in acct.deploys if w not in acct.in_flight and
                (state is None or (acct.intent if intent else acct.status).get(w) == state)]
        return rng.choice(pool) if pool else None

    async def follow(self, acct, wid):
        """Opens a log stream; the latency recorded is the time to its first line."""
        http = Http(self.host, self.port, self.args.timeout)
        started = time.monotonic()
        try:
            await http.send("GET", f"/api/v1/workloads/{wid}/logs?tail=5&follow=true",
                            token=acct.token)
            status, headers = await asyncio.wait_for(http.head(), self.args.timeout)
            if status != 200:
                n = int(headers.get("content-length", "0"))
                await asyncio.wait_for(http.reader.readexactly(n), self.args.timeout)
                return status
            first = None
            end = started + self.args.follow_seconds
            while time.monotonic() < end:
                try:
                    line = await asyncio.wait_for(http.reader.readline(),
                                                  max(0.01, end - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if not line:
                    break
                if line.startswith(b"data: "):
                    self.stats.follow_lines += 1
                    if first is None:
                        first = time.monotonic() - started
            # The latency of a follow is the time to its first line (or to its header when
            # the workload printed nothing while it was held).
            self.stats.record("follow", 200, first if first is not None else 0.0)
            return None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, Transport) as e:
            raise Transport(f"{type(e).__name__}: {e}") from None
        finally:
            await http.close()

    async def verify(self):
        """Zero lost writes: every acknowledged deploy is listed, with the desired state of the
        last acknowledged action."""
        http = Http(self.host, self.port, 60)
        lost = []
        for a in self.accounts:
            status, body = await http.request("GET", "/api/v1/workloads", token=a.token)
            if status != 200:
                lost.append(f"{a.email}: list answered {status}")
                continue
            listed = {w["id"]: w for w in body["items"]}
            for wid, name in a.deploys.items():
                w = listed.get(wid)
                if w is None:
                    lost.append(f"deploy {name} ({wid}) acknowledged but not listed")
                elif w["desired_state"] != a.intent[wid]:
                    lost.append(f"{name}: desired {w['desired_state']}, acknowledged "
                                f"{a.intent[wid]}")
            names = [w["name"] for w in body["items"]]
            if len(names) != len(set(names)):
                lost.append(f"{a.email}: a workload is listed twice")
        await http.close()
        return lost

    async def cleanup(self):
        """Deletes every workload of the run's accounts and waits until they are gone."""
        http = Http(self.host, self.port, 60)
        for a in self.accounts:
            for wid in a.deploys:
                await http.request("DELETE", f"/api/v1/workloads/{wid}", token=a.token)
        deadline = time.monotonic() + self.args.cleanup_timeout
        left = 1
        while left and time.monotonic() < deadline:
            left = 0
            for a in self.accounts:
                status, body = await http.request("GET", "/api/v1/workloads", token=a.token)
                left += len(body["items"]) if status == 200 else 1
            if left:
                await asyncio.sleep(1)
        await http.close()
        return left

    async def main(self):
        t0 = time.monotonic()
        await self.setup()
        setup_s = time.monotonic() - t0
        deadline = time.monotonic() + self.args.duration
        run_start = time.monotonic()
        await asyncio.gather(*(self.client(n, deadline) for n in range(self.args.clients)))
        elapsed = time.monotonic() - run_start
        lost = await self.verify()
        left = await self.cleanup() if self.args.cleanup else 0
        return self.report(setup_s, elapsed, lost, left)

    def report(self, setup_s, elapsed, lost, left):
        s = self.stats
        ops = {}
        total = 0
        for op in WEIGHTS:
            lat = sorted(s.latency[op])
            count = sum(s.status[op].values())
            total += count
            ops[op] = {"count": count, "statuses": {str(k): v for k, v in
                                                    sorted(s.status[op].items())},
                       "transport_errors": len(s.transport[op]),
                       "p50_ms": round(percentile(lat, 50) * 1000, 1),
                       "p95_ms": round(percentile(lat, 95) * 1000, 1),
                       "p99_ms": round(percentile(lat, 99) * 1000, 1),
                       "max_ms": round(lat[-1] * 1000, 1) if lat else float("nan")}
        result = {"clients": self.args.clients, "accounts": self.args.accounts,
                  "think_ms": self.args.think_ms, "mix": self.mix,
                  "duration_s": round(elapsed, 1), "setup_s": round(setup_s, 1),
                  "requests": total, "requests_per_s": round(total / elapsed, 1),
                  "server_errors_5xx": s.server_errors(),
                  "transport_errors": s.transport_errors(),
                  "acknowledged_deploys": sum(len(a.deploys) for a in self.accounts),
                  "lost_writes": len(lost), "lost": lost[:20],
                  "follow_lines": s.follow_lines, "left_after_cleanup": left, "ops": ops,
                  "transport_samples": [e for v in s.transport.values() for e in v][:10]}
        return result


def print_table(r, out):
    print(f"{r['clients']} clients, {r['accounts']} accounts, {r['duration_s']} s: "
          f"{r['requests']} requests ({r['requests_per_s']}/s), "
          f"{r['acknowledged_deploys']} deploys acknowledged, "
          f"{r['follow_lines']} log lines followed", file=out)
    print(f"{'op':8} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  "
          "statuses", file=out)
    for op, o in r["ops"].items():
        print(f"{op:8} {o['count']:>7} {o['p50_ms']:>8} {o['p95_ms']:>8} {o['p99_ms']:>8} "
              f"{o['max_ms']:>8}  {o['statuses']}"
              + (f" transport errors: {o['transport_errors']}" if o["transport_errors"] else ""),
              file=out)
    print(f"5xx: {r['server_errors_5xx']}  transport errors: {r['transport_errors']}  "
          f"lost writes: {r['lost_writes']}", file=out)
    for line in r["lost"] + r["transport_samples"]:
        print("  " + line, file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--accounts", type=int, default=40)
    p.add_argument("--duration", type=float, default=30, help="seconds of load")
    p.add_argument("--think-ms", type=float, default=100, help="mean pause between operations")
    p.add_argument("--max-deploys", type=int, default=100, help="deploys in the whole run")
    p.add_argument("--per-account", type=int, default=15,
                   help="deploys per account (stay under the server's per-user quota)")
    p.add_argument("--follow-seconds", type=float, default=2.0)
    p.add_argument("--mix", help="operation weights, e.g. 'signin=2,follow=10' (defaults: " +
                   ", ".join(f"{k}={v}" for k, v in WEIGHTS.items()) + ")")
    p.add_argument("--timeout", type=float, default=30, help="per request")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cleanup", action="store_true",
                   help="delete every workload of the run and wait until they are gone")
    p.add_argument("--cleanup-timeout", type=float, default=180)
    p.add_argument("--json", help="also write the result here")
    args = p.parse_args(argv)
    result = asyncio.run(Load(args).main())
    print_table(result, sys.stdout)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    ok = (result["server_errors_5xx"] == 0 and result["transport_errors"] == 0 and
          result["lost_writes"] == 0 and result["left_after_cleanup"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
