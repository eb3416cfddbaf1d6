"""Metrics end to end: `lattice dev` with a short sampling interval on the real Docker engine.
A custom workload that burns a core and holds ~64 MB shows it in the metrics API within two
sampling intervals of running (plus a little for the trip to the store): CPU near 100 % of a
core, memory above what it holds, under its 256 MB limit. Another user gets 404 for it, the
node's totals are the admin's, and the minute rollup agrees with the raw samples it covers.
"""

import time
import unittest

from harness import BUSYBOX, Client, Docker, LatticeDev, skip_reason, wait_until, workload_ids

REASON = skip_reason()
INTERVAL = 2  # seconds: --stats-interval
# Sampling needs a baseline reading and a second one, INTERVAL apart; then the batch goes over
# the link and into the store. Allow that much beyond the two intervals.
SLACK = 3

# Holds 64 MB in a shell variable, then spins.
BURNER = ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); while :; do :; done"]


@unittest.skipIf(REASON, REASON)
class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeDev("--stats-interval", str(INTERVAL)).start()
        cls.docker = Docker()
        cls.alice = Client(cls.srv, "alice@example.com")  # the first account: the admin
        cls.bob = Client(cls.srv, "bob@example.com")
        wait_until(lambda: cls.alice.call("GET", "/api/v1/nodes")[2]["items"] and
                   cls.alice.call("GET", "/api/v1/nodes")[2]["items"][0]["status"] == "ready",
                   30, "the embedded agent's node to be ready")
        cls.node_id = cls.alice.call("GET", "/api/v1/nodes")[2]["items"][0]["id"]

    @classmethod
    def tearDownClass(cls):
        ids = workload_ids(cls.alice, cls.bob)
        try:
            cls.srv.stop()
        finally:
            for wid in ids:
                cls.docker.remove_labelled(f"lattice.workload={wid}")
            cls.srv.cleanup()

    def metrics(self, client, wid, query="from=-2m&step=1s"):
        return client.call("GET", f"/api/v1/workloads/{wid}/metrics?{query}")

    def test_a_busy_workload_shows_in_its_metrics_within_two_intervals(self):
        w = self.alice.deploy({"name": "burner", "template": "custom", "image": BUSYBOX,
                               "command": BURNER, "resources": {"memory_mb": 256}})
        self.alice.wait_status(w["id"], "running", timeout=120)
        running_at = time.monotonic()

        def busy_point():
            status, _, body = self.metrics(self.alice, w["id"])
            self.assertEqual(status, 200, body)
            return next((p for p in body["points"]
                         if p["cpu_percent"] > 50 and p["memory_bytes"] > 60 << 20), None)

        point = wait_until(busy_point, 2 * INTERVAL + SLACK + 30, "a busy sample")
        took = time.monotonic() - running_at
        self.assertLessEqual(took, 2 * INTERVAL + SLACK,
                             f"the first busy sample took {took:.1f} s: {point}")
        self.assertLess(point["cpu_percent"], 150)  # one shell spins: about one core
        self.assertEqual(point["memory_limit_bytes"], 256 << 20)
        self.assertLess(point["memory_bytes"], 256 << 20)

        # Another user: exactly what a missing workload gets.
        status, _, problem = self.metrics(self.bob, w["id"])
        self.assertEqual(status, 404, problem)
        self.assertNotIn("burner", str(problem))
        # A bad parameter is named.
        status, _, problem = self.metrics(self.alice, w["id"], "step=soon")
        self.assertEqual(status, 400, problem)
        self.assertEqual(problem["errors"][0]["field"], "step")

        # The node's totals: the admin's, and they include the busy core.
        status, _, node = self.alice.call(
            "GET", f"/api/v1/nodes/{self.node_id}/metrics?from=-2m&step={INTERVAL}s")
        self.assertEqual(status, 200, node)
        self.assertTrue(node["points"], node)
        self.assertGreater(max(p["cpu_percent_max"] for p in node["points"]), 50)
        self.assertGreater(node["points"][-1]["memory_limit_bytes"], 0)
        self.assertEqual(self.bob.call("GET", f"/api/v1/nodes/{self.node_id}/metrics")[0], 403)

        # The minute rollup holds the same samples as the raw rows of its minute.
        status, _, minutes = self.metrics(self.alice, w["id"], "from=-10m&step=1m")
        self.assertEqual((status, minutes["resolution"]), (200, "1m"), minutes)
        status, _, raw = self.metrics(self.alice, w["id"], "from=-10m&step=60s")
        rollup = {p["at"]: p for p in minutes["points"]}
        for p in raw["points"][:-1]:  # the current minute may have grown between the two reads
            if p["at"] in rollup:
                self.assertEqual(rollup[p["at"]]["samples"], p["samples"], (p, rollup[p["at"]]))
                self.assertAlmostEqual(rollup[p["at"]]["cpu_percent"], p["cpu_percent"], delta=0.02)

        # Prometheus, for the admin: the workload's newest sample.
        status, _, text = self.alice.call("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(f'lattice_workload_cpu_percent{{workload="{w["id"]}",name="burner"}}', text)

        # Deleted: its metrics go with it.
        self.assertEqual(self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")[0], 202)
        self.alice.wait_gone(w["id"], timeout=60)
        self.assertEqual(self.metrics(self.alice, w["id"])[0], 404)


if __name__ == "__main__":
    unittest.main()
