"""Frozen store (issue 18, part 2: no blocking on network threads), through the real binary on a
real PostgreSQL.

While an agent heartbeats and a browser follows /api/v1/events, the database (the postmaster
and every backend of the cluster this test started, nothing else) is SIGSTOPped for 10 s:

- /healthz keeps answering at once: the I/O threads never wait for the store;
- the agent's link stays up (heartbeats are in memory; its status reports queue);
- the event stream keeps its keep-alives;
- API calls that need the store answer 503 problem+json with Retry-After within the bound
  (--store-wait, then at most one --store-timeout round trip or a 2 s connect), never hang;

then SIGCONT, and everything recovers with nothing lost: the workload made before the freeze is
intact, the status reports the agent sent during it are applied in order, the node is still
ready and the same event stream carries the next change.
"""

import os
import signal
import socket
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import agent_link
import openapi_check
from lattice_server import LatticeServer
import postgres_cluster

PASSWORD = "correct horse battery"
WORKLOADS = "/api/v1/workloads"
FREEZE_SECONDS = 10
STORE_WAIT = 1.0  # --store-wait
STORE_TIMEOUT = 1.0  # --store-timeout (libpq's connect timeout is then its minimum, 2 s)
# A 503 comes after at most the wait, then one failed round trip or connect attempt (and an
# audit record's, for writes); the rest is slack for a loaded CI machine.
BOUND_503 = STORE_WAIT + 2 * 2.0 + 2.0
KEEPALIVE_SECONDS = 15  # SseQueue::Pump writes ": keep-alive" after 15 s without events

_pg = None


def setUpModule():
    global _pg
    _pg = postgres_cluster.start_or_skip()


def tearDownModule():
    if _pg is not None:
        _pg.__exit__(None, None, None)


def children_of(pid):
    """Processes whose parent is `pid` (PostgreSQL's backends call setsid(), so they are not in
    the postmaster's process group)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


class Freeze:
    """SIGSTOPs the test's own PostgreSQL cluster (postmaster first, so it forks nothing new,
    then its children) and SIGCONTs the same processes on exit, whatever happened."""

    def __init__(self, postmaster):
        self.postmaster = postmaster
        self.stopped = []

    def __enter__(self):
        os.kill(self.postmaster, signal.SIGSTOP)
        self.stopped.append(self.postmaster)
        for pid in children_of(self.postmaster):
            try:
                os.kill(pid, signal.SIGSTOP)
                self.stopped.append(pid)
            except ProcessLookupError:
                pass
        return self

    def __exit__(self, *exc):
        for pid in reversed(self.stopped):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        return False


class EventStream:
    """GET /api/v1/events on a raw socket; a thread records (monotonic time, line) as lines
    arrive, until the server closes the stream."""

    def __init__(self, srv, token):
        self.sock = srv.raw_socket(timeout=5)
        self.sock.sendall((f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n"
                           f"Authorization: Bearer {token}\r\n"
                           f"Accept: text/event-stream\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                break
            head += chunk
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self.opened = time.monotonic()
        self.lines = []
        self.closed_at = None
        self._lock = threading.Lock()
        self.sock.settimeout(None)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    with self._lock:
                        self.lines.append((time.monotonic(), line.decode(errors="replace")))
        except OSError:
            pass
        self.closed_at = time.monotonic()

    def between(self, start, end):
        with self._lock:
            return [text for at, text in self.lines if start <= at <= end]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=5)


class FrozenStoreTest(unittest.TestCase):
    def setUp(self):
        self.srv = LatticeServer("--database", _pg.create_database(), "--registration", "open",
                                 "--store-wait", str(STORE_WAIT),
                                 "--store-timeout", str(STORE_TIMEOUT),
                                 "--heartbeat", "1", "--lost-grace", "4", "--io-threads", "2")
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def call(self, method, path, body=None, token=None, timeout=10):
        return self.timed_call(method, path, body, token, timeout)[1:]

    def timed_call(self, method, path, body=None, token=None, timeout=10):
        """(start, status, headers, body, seconds taken)."""
        start = time.monotonic()
        status, headers, data = self.srv.request(method, path, body, token=token,
                                                 timeout=timeout)
        took = time.monotonic() - start
        pattern = path if "/wl_" not in path else f"{WORKLOADS}/{{id}}/events"
        if "/wl_" in path and not path.endswith("/events"):
            pattern = f"{WORKLOADS}/{{id}}"
        openapi_check.check(method, pattern, status, headers, data)
        return start, status, headers, data, took

    def status_report(self, agent, workload, state, reason=""):
        agent.send({"type": "status", "workload_id": workload["id"],
                    "generation": workload["generation"], "state": state, "reason": reason,
                    "bindings": []})

    def wait_for(self, what, predicate, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")

    def test_a_frozen_database_stalls_nothing_and_loses_nothing(self):
        status, _, admin, _ = self.call("POST", "/api/v1/auth/register",
                                        {"email": "admin@example.com", "password": PASSWORD})
        self.assertEqual(status, 201, admin)
        token = admin["token"]
        status, _, join, _ = self.call("POST", "/api/v1/nodes/join-tokens", {}, token=token)
        self.assertEqual(status, 201, join)
        agent = agent_link.FakeAgent(self.srv, join["token"], name="frozen", heartbeat=0.3)
        agent.__enter__()
        self.addCleanup(agent.__exit__, None, None, None)

        # A workload placed on the agent's node, reported running, before the freeze.
        status, _, made, _ = self.call("POST", WORKLOADS, {"name": "before", "template": "custom",
                                                           "image": "example/app:1"}, token=token)
        self.assertEqual(status, 201, made)
        placed = self.wait_for("the workload to be placed", lambda: (
            lambda w: w if w.get("node_id") else None)(
                self.call("GET", f"{WORKLOADS}/{made['id']}", token=token)[2]))
        self.assertEqual(placed["node_id"], agent.node_id)
        self.status_report(agent, placed, "running")
        self.wait_for("the running report", lambda: self.call(
            "GET", f"{WORKLOADS}/{made['id']}", token=token)[2]["status"] == "running")

        events = EventStream(self.srv, token)
        self.addCleanup(events.close)
        self.assertEqual(events.status, 200)
        # Freeze so that the stream's first keep-alive (15 s after it opened) falls inside.
        time.sleep(max(0.0, events.opened + KEEPALIVE_SECONDS - FREEZE_SECONDS + 4
                       - time.monotonic()))

        health = []
        with Freeze(_pg.proc.pid) as frozen:
            frozen_at = time.monotonic()
            self.assertGreater(len(frozen.stopped), 2, "the backends were not found")
            # The agent reports twice while the database is frozen: both must be applied, in
            # order, once it resumes.
            self.status_report(agent, placed, "failed", "crashed during the freeze")
            self.status_report(agent, placed, "running")
            # Bursts of more store-bound requests than the store has threads (8): some wait
            # for a thread, the others for the database; each must come back 503 in time.
            with ThreadPoolExecutor(max_workers=24) as pool:
                pending, next_burst = [], time.monotonic()
                while time.monotonic() < frozen_at + FREEZE_SECONDS - 0.5:
                    if time.monotonic() >= next_burst:
                        pending += [pool.submit(self.timed_call, "GET", WORKLOADS, None, token, 30)
                                    for _ in range(12)]
                        pending.append(pool.submit(self.timed_call, "GET", "/api/v1/nodes", None,
                                                   token, 30))
                        next_burst += 3
                    _, status, _, _, took = self.timed_call("GET", "/healthz", timeout=5)
                    health.append((status, took))
                    time.sleep(0.25)
                needing_store = [p.result() for p in pending]
            thawed_at = time.monotonic()

        # /healthz answered throughout, and fast.
        self.assertGreater(len(health), 10)
        self.assertEqual({s for s, _ in health}, {200})
        self.assertLess(max(t for _, t in health), 0.5, f"slow /healthz: {health}")
        # Store-bound calls: 503 problem+json with Retry-After, within the bound.
        self.assertGreaterEqual(len(needing_store), 3 * 13)
        refused = 0
        for start, status, headers, body, took in needing_store:
            self.assertLess(took, BOUND_503, f"a store-bound call took {took:.1f} s")
            if start + took < thawed_at:  # answered while the database was frozen
                self.assertEqual(status, 503, body)
                self.assertEqual(headers.get("Content-Type"), "application/problem+json")
                self.assertGreaterEqual(int(headers.get("Retry-After", "0")), 1, headers)
                refused += 1
        self.assertGreaterEqual(refused, 3 * 13 - 13)
        # The agent's link stayed up.
        self.assertFalse(agent.closed.is_set(), "the agent link was closed during the freeze")
        # The event stream kept flowing: a keep-alive while frozen, and not closed.
        self.assertIsNone(events.closed_at, "the event stream ended during the freeze")
        self.assertIn(": keep-alive", events.between(frozen_at, thawed_at),
                      "no keep-alive reached the event stream while the store was frozen")

        # Recovery: the API answers again, nothing was lost.
        def listing():
            status, _, body, _ = self.call("GET", WORKLOADS, token=token)
            return body if status == 200 else None

        items = self.wait_for("the API to answer 200 again", listing)["items"]
        self.assertEqual([w["id"] for w in items], [made["id"]])
        self.assertEqual(items[0]["name"], "before")
        self.assertEqual(items[0]["node_id"], agent.node_id)
        # Both reports sent during the freeze were applied, in order: the workload's timeline
        # holds the failure, then running again.
        timeline = self.wait_for("the reports sent during the freeze", lambda: (
            lambda t: t if [e["status"] for e in t][-2:] == ["failed", "running"] else None)(
                self.call("GET", f"{WORKLOADS}/{made['id']}/events", token=token)[2]["items"]))
        self.assertIn("crashed during the freeze", timeline[-2]["message"])
        self.assertEqual(self.call("GET", f"{WORKLOADS}/{made['id']}", token=token)[2]["status"],
                         "running")
        # The node never went down: its heartbeats kept flowing past --lost-grace.
        status, _, nodes, _ = self.call("GET", "/api/v1/nodes", token=token)
        self.assertEqual(status, 200, nodes)
        self.assertEqual([(n["id"], n["status"]) for n in nodes["items"]],
                         [(agent.node_id, "ready")])
        self.assertFalse(agent.closed.is_set(), "the agent link was closed")
        # The same event stream carries the next change.
        status, _, after, _ = self.call("POST", WORKLOADS, {"name": "after", "template": "custom",
                                                            "image": "example/app:1"},
                                        token=token)
        self.assertEqual(status, 201, after)
        self.wait_for("the new workload on the same event stream", lambda: any(
            after["id"] in text for text in events.between(thawed_at, time.monotonic())))
        self.assertIsNone(events.closed_at)


if __name__ == "__main__":
    unittest.main()
