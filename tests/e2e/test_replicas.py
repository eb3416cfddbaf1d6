"""Two `lattice server` replicas on one PostgreSQL, an agent and a real PostgreSQL workload.

  replica A (127.0.0.1, public 127.0.0.1:P) ─┐
                                             ├─ PostgreSQL (the shared store, NOTIFY, leader lock)
  replica B (127.0.0.1, public 127.0.0.2:P) ─┘
  agent (joined through A) ── dockerd ── the workload's container

The replicas share master.key and the CA (tls/ca.*), as docs/operations.md tells operators to.
What this shows, in order:
  - a workload created through A is seen changing status on B's event stream;
  - its public endpoint works through both edges (B's stream is opened by the agent linked
    to A: stream.open crosses replicas);
  - A is killed (SIGKILL): B takes leadership, the agent moves its link to B (it learned B
    from A's welcome), the same endpoint works through B, and stop/start/deploy go on;
  - the agent dies: B, now the leader, marks its workloads lost after the grace, and when the
    agent is back they run again.
"""

import os
import random
import shutil
import sys
import time
import unittest

from harness import IMAGES, Agent, Client, Docker, EventTail, endpoint, psql, skip_reason, \
    wait_until
from lattice_server import LatticeServer
from postgres_cluster import PostgresCluster, PostgresUnavailable

REASON = skip_reason()
PG_REASON = None
_pg = None


def setUpModule():
    global _pg, PG_REASON
    if REASON:
        return
    try:
        _pg = PostgresCluster().__enter__()
    except PostgresUnavailable as e:
        if os.environ.get("LATTICE_REQUIRE_DOCKER"):  # the project's test command: never skip
            raise
        PG_REASON = str(e)


def tearDownModule():
    if _pg is not None:
        _pg.__exit__(None, None, None)


class Replica(LatticeServer):
    def __init__(self, url, public_ip, ports, data_dir=""):
        super().__init__(*IMAGES, "--database", url, "--public-bind", public_ip,
                         "--public-host", public_ip, "--public-ports", ports,
                         "--replica-timeout", "4", "--lost-grace", "6", "--heartbeat", "1",
                         data_dir=data_dir)


def share_keys(src, dst):
    """What operators copy to every replica: the master key and the server CA."""
    os.makedirs(os.path.join(dst, "tls"), mode=0o700, exist_ok=True)
    for rel in ("master.key", os.path.join("tls", "ca.key"), os.path.join("tls", "ca.crt")):
        shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel))


def node_ready(client):
    status, _, body = client.call("GET", "/api/v1/nodes")
    return status == 200 and any(n["status"] == "ready" for n in body["items"])


@unittest.skipIf(REASON, REASON)
class ReplicasTest(unittest.TestCase):
    def setUp(self):
        if PG_REASON:
            self.skipTest(PG_REASON)
        self.docker = Docker()
        self.workloads = []
        self.agent = None
        low = random.randrange(21000, 60000, 100)
        ports = f"{low}-{low + 19}"
        url = _pg.create_database()
        self.a = Replica(url, "127.0.0.1", ports).start()
        self.b = Replica(url, "127.0.0.2", ports)
        share_keys(self.a.data_dir, self.b.data_dir)
        self.b.start()

    def tearDown(self):
        if self.agent:
            self.agent.stop()
        for wid in self.workloads:
            self.docker.remove_labelled(f"lattice.workload={wid}")
        for srv in (self.a, self.b):
            srv.cleanup()

    def dump(self):
        for name, srv in (("A", self.a), ("B", self.b)):
            sys.stderr.write(f"--- replica {name}\n{srv.output()[-4000:]}\n")
        if self.agent:
            sys.stderr.write(f"--- agent\n{self.agent.output()}\n")

    def test_work_goes_on_when_a_replica_dies(self):
        try:
            self.scenario()
        except BaseException:
            self.dump()  # what the processes said is the only trace of why
            raise

    def scenario(self):
        admin = Client(self.a, "admin@example.com")
        on_b = Client.__new__(Client)  # the same account, signed in through B
        on_b.srv, on_b.token, on_b.user = self.b, admin.token, admin.user
        status, _, me = on_b.call("GET", "/api/v1/auth/me")
        self.assertEqual(status, 200, me)  # one signing key: a token from A works on B

        status, _, tok = admin.call("POST", "/api/v1/nodes/join-tokens")
        self.assertEqual(status, 201, tok)
        server_a = f"https://127.0.0.1:{self.a.port}"
        self.assertTrue(tok["command"].startswith(f"lattice agent --server {server_a} "),
                        tok["command"])
        self.agent = Agent(server_a, tok["token"], os.path.join(self.a.tmp_dir, "node"),
                           "--name", "replicated-node").start()
        wait_until(lambda: node_ready(admin), 30, "the node to be ready on A")
        wait_until(lambda: node_ready(on_b), 10, "B to see the node linked to A")

        # Created through A; B's subscribers see it change.
        events = EventTail(on_b)
        try:
            w = admin.deploy({"name": "pg", "template": "postgres"})
            self.workloads.append(w["id"])
            admin.wait_status(w["id"], "running")
            wait_until(lambda: events.seen("workload", lambda d: d["id"] == w["id"] and
                                           d["status"] == "running"), 10,
                       "B's event stream to tell the workload runs")
            self.assertIsNotNone(events.seen("workload", lambda d: d["id"] == w["id"] and
                                             d["status"] in ("scheduled", "creating",
                                                             "starting")),
                                 "B's stream must carry the steps before running too")
        finally:
            events.close()

        # The endpoint through both edges. Each replica names its own public host.
        wa = admin.wait_status(w["id"], "running")
        wb = on_b.wait_status(w["id"], "running")
        port = endpoint(wa, "postgres")["port"]
        self.assertEqual(endpoint(wb, "postgres")["port"], port)
        self.assertEqual(endpoint(wb, "postgres")["host"], "127.0.0.2")
        self.assertEqual(psql(wa["credentials"]["connection_string"], "select 40 + 2"), "42")
        conn_b = wb["credentials"]["connection_string"]
        psql(conn_b, "create table t(x int)")
        psql(conn_b, "insert into t values (7)")
        self.assertEqual(psql(conn_b, "select sum(x) from t"), "7")

        # A dies without a word.
        self.a.kill9()
        killed = time.monotonic()
        wait_until(lambda: "event=link_up server=https://127.0.0.1:%d" % self.b.port
                   in self.agent.output(), 30, "the agent to link to B")
        wait_until(lambda: node_ready(on_b), 15, "the node to be ready on B")
        sys.stderr.write(f"agent relinked to B {time.monotonic() - killed:.1f} s after A died\n")
        wb = on_b.wait_status(w["id"], "running", timeout=30)
        self.assertEqual(endpoint(wb, "postgres")["port"], port)
        conn_b = wb["credentials"]["connection_string"]
        self.assertEqual(wait_until(lambda: self.try_psql(conn_b), 30, "psql through B"), "7")

        # Operations go on through B: stop, start, and a new deploy that only a leader places.
        status, _, body = on_b.call("POST", f"/api/v1/workloads/{w['id']}/stop")
        self.assertIn(status, (200, 202), body)
        on_b.wait_status(w["id"], "stopped", timeout=60)
        self.assertIsNone(self.try_psql(conn_b), "a stopped workload's port must refuse")
        status, _, body = on_b.call("POST", f"/api/v1/workloads/{w['id']}/start")
        self.assertIn(status, (200, 202), body)
        on_b.wait_status(w["id"], "running", timeout=120)
        self.assertEqual(wait_until(lambda: self.try_psql(conn_b), 30, "psql after start"), "7")
        w2 = on_b.deploy({"name": "second", "template": "postgres"})
        self.workloads.append(w2["id"])
        w2 = on_b.wait_status(w2["id"], "running", timeout=120)
        self.assertEqual(psql(w2["credentials"]["connection_string"], "select 1"), "1")

        # The node dies too: B, the leader now, declares its workloads lost after the grace.
        self.agent.kill9()
        on_b.wait_status(w["id"], "lost", timeout=30)
        self.agent.start()
        wait_until(lambda: node_ready(on_b), 30, "the node to come back to B")
        on_b.wait_status(w["id"], "running", timeout=60)
        self.assertEqual(wait_until(lambda: self.try_psql(conn_b), 30, "psql after the node"),
                         "7")

    @staticmethod
    def try_psql(conn):
        try:
            return psql(conn, "select sum(x) from t", timeout=10)
        except AssertionError:
            return None


if __name__ == "__main__":
    unittest.main()
