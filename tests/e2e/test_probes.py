"""Outside-in endpoint probes end to end: a `lattice server` probing every second
(--probe-interval 1) and a separate `lattice agent` on the real Docker engine. A running
PostgreSQL workload's endpoint becomes reachable through the edge; `docker stop` of its container
behind Lattice's back makes it unreachable within two intervals, with a timeline event, and it
recovers (the agent restarts the container); killing the agent makes it unreachable with the
agent-gone reason. A webhook channel subscribed to the endpoint events hears of the loss and of
the recovery, signed (a local receiver checks the HMAC). Other users get 404; bad parameters are
400 problems naming the parameter.
"""

import os
import time
import unittest

from harness import IMAGES, Agent, Client, Docker, skip_reason, wait_until
from lattice_server import LatticeServer
from webhook_receiver import Receiver

REASON = skip_reason()
INTERVAL = 1  # seconds: --probe-interval
# A pass dials, confirms a failure after 250 ms, and is recorded by the next 250 ms duty beat.
SLACK = 2


@unittest.skipIf(REASON, REASON)
class ProbesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer(*IMAGES, "--heartbeat", "1", "--lost-grace", "120",
                                "--probe-interval", str(INTERVAL), "--registration",
                                "open").start()
        cls.docker = Docker()
        cls.agent = None
        cls.workloads = []
        cls.rx = Receiver()
        try:
            cls.alice = Client(cls.srv, "alice@example.com")
            cls.bob = Client(cls.srv, "bob@example.com")
            status, _, made = cls.alice.call("POST", "/api/v1/notification-channels", {
                "kind": "webhook", "url": cls.rx.url,
                "events": ["endpoint.unreachable", "endpoint.reachable"]})
            assert status == 201, made
            cls.rx.secret = made["secret"]
            status, _, tok = cls.alice.call("POST", "/api/v1/nodes/join-tokens")
            assert status == 201, tok
            cls.agent = Agent(cls.srv.agent_url, tok["token"],
                              os.path.join(cls.srv.tmp_dir, "node"), "--name", "node-a").start()
            wait_until(lambda: any(n["status"] == "ready" for n in
                                   cls.alice.call("GET", "/api/v1/nodes")[2]["items"]),
                       30, "the node to be ready")
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        cls.rx.close()
        if cls.agent:
            cls.agent.stop()
        for wid in cls.workloads:
            cls.docker.remove_labelled(f"lattice.workload={wid}")
        try:
            cls.srv.stop()
        finally:
            cls.srv.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def probe(self, wid):
        status, _, w = self.alice.call("GET", f"/api/v1/workloads/{wid}")
        self.assertEqual(status, 200, w)
        ep = next(e for e in w["endpoints"] if e["name"] == "postgres")
        return ep["probe"]

    def timeline(self, wid):
        status, _, body = self.alice.call("GET", f"/api/v1/workloads/{wid}/events")
        self.assertEqual(status, 200, body)
        items = body["items"] if isinstance(body, dict) else body
        return [e["message"] for e in items if e["message"].startswith("endpoint ")]

    def webhook(self, kind, wid):
        """The first webhook of `kind` about workload `wid`, once it arrived."""
        def got():
            return next((r for r in self.rx.received
                         if r[1]["kind"] == kind and r[1]["workload"]["id"] == wid), None)
        headers, body, signed = wait_until(got, 30, f"a {kind} webhook")
        self.assertTrue(signed, "the signature verifies with the channel's secret")
        self.assertEqual(headers["X-Lattice-Event"], kind)
        return body

    def history(self, wid, query=""):
        status, _, body = self.alice.call("GET", f"/api/v1/workloads/{wid}/probes{query}")
        self.assertEqual(status, 200, body)
        return body["endpoints"][0]

    def test_postgres_endpoint_loss_recovery_and_agent_loss(self):
        w = self.alice.deploy({"name": "pg", "template": "postgres"})
        self.workloads.append(w["id"])
        wid = w["id"]
        self.alice.wait_status(wid, "running", timeout=180)

        # Reachable through the edge, with a latency; the first success is not an event.
        p = wait_until(lambda: (lambda p: p if p["state"] == "reachable" else None)(
            self.probe(wid)), 10 * INTERVAL + SLACK, "the endpoint to be reachable")
        self.assertGreater(p["latency_ms"], 0)
        self.assertIsNotNone(p["checked_at"])
        self.assertEqual(self.timeline(wid), [])

        # docker stop behind Lattice's back: unreachable within two intervals, with an event.
        [c] = self.docker.containers(f"lattice.workload={wid}")
        status, body = self.docker.call("POST", f"/containers/{c['Id']}/stop?t=5")
        self.assertIn(status, (204, 304), body)
        stopped = time.monotonic()
        events = wait_until(lambda: [m for m in self.timeline(wid) if "unreachable" in m],
                            2 * INTERVAL + SLACK + 20, "an unreachable event")
        took = time.monotonic() - stopped
        self.assertLessEqual(took, 2 * INTERVAL + SLACK, f"took {took:.1f} s: {events}")
        self.assertIn("public port", events[0])
        down = [h for h in self.history(wid)["history"] if h["state"] == "unreachable"]
        self.assertTrue(down, "the loss is in the history")
        self.assertIn(down[0]["reason"], ("closed", "refused", "timeout"))
        lost = self.webhook("endpoint.unreachable", wid)
        self.assertEqual(lost["workload"]["name"], "pg")

        # It recovers: the agent restarts the container (or we start it if it does not).
        def recovered():
            return [m for m in self.timeline(wid) if "reachable again" in m]
        try:
            wait_until(recovered, 60, "the endpoint to be reachable again")
        except AssertionError:
            self.docker.call("POST", f"/containers/{c['Id']}/start")
            wait_until(recovered, 60, "the endpoint to be reachable again")
        self.assertEqual(self.probe(wid)["state"], "reachable")
        self.webhook("endpoint.reachable", wid)

        # Killing the agent: unreachable, with the agent-gone reason.
        self.agent.kill9()
        killed = time.monotonic()
        p = wait_until(lambda: (lambda p: p if p["reason"] == "agent-gone" else None)(
            self.probe(wid)), 2 * INTERVAL + SLACK + 20, "the agent-gone reason")
        took = time.monotonic() - killed
        self.assertLessEqual(took, 2 * INTERVAL + SLACK, f"took {took:.1f} s")
        self.assertEqual(p["state"], "unreachable")
        self.assertIn("agent", p["message"])
        self.assertTrue(any("unreachable" in m for m in self.timeline(wid)[-2:]))
        h = self.history(wid, "?since=1h&limit=5")
        self.assertLessEqual(len(h["history"]), 5)
        self.assertEqual(h["history"][-1]["reason"], "agent-gone")

        # Owner-scoped, and bad parameters are named.
        status, _, problem = self.bob.call("GET", f"/api/v1/workloads/{wid}/probes")
        self.assertEqual(status, 404, problem)
        status, _, problem = self.alice.call("GET", f"/api/v1/workloads/{wid}/probes?limit=0")
        self.assertEqual(status, 400, problem)
        self.assertEqual(problem["errors"][0]["field"], "limit")
        status, _, problem = self.alice.call("GET", f"/api/v1/workloads/{wid}/probes?since=soon")
        self.assertEqual(status, 400, problem)
        self.assertEqual(problem["errors"][0]["field"], "since")


if __name__ == "__main__":
    unittest.main()
