"""Metrics through the real binary, without Docker: a fake agent (agent_link.FakeAgent) sends
`metrics` batches on its link the way the agent's sampler does, and the API answers them.

  - the owner reads the workload's series; another user, and the admin, get 404 (as for every
    workload route), with none of the data;
  - bad from/to/step are 400 problems naming the parameter;
  - the node's series is for administrators only (403 for users, 404 for a missing node);
  - samples for a workload that is not on the sending node are dropped;
  - GET /metrics (admins) carries each workload's and node's newest sample;
  - every answer matches docs/openapi.yaml.
"""

import time
import unittest
import urllib.parse

import accounts
import agent_link
import openapi_check
from lattice_server import LatticeServer

WORKLOAD_METRICS = "/api/v1/workloads/{id}/metrics"
NODE_METRICS = "/api/v1/nodes/{id}/metrics"


def usage(at, cpu, memory=64 << 20):
    return {"at": at, "cpu_percent": cpu, "memory_bytes": memory, "memory_limit_bytes": 128 << 20,
            "net_rx_bps": 1000, "net_tx_bps": 500, "disk_read_bps": 4096, "disk_write_bps": 8192}


class MetricsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer()
        cls.srv.__enter__()
        cls.admin = accounts.sign_up(cls.srv, "root@example.com")["token"]
        cls.alice = accounts.invited(cls.srv, cls.admin, "alice@example.com")["token"]
        cls.bob = accounts.invited(cls.srv, cls.admin, "bob@example.com")["token"]
        _, join = accounts.call(cls.srv, "POST", "/api/v1/nodes/join-tokens", {}, token=cls.admin,
                                expect=201)
        cls.agent = agent_link.FakeAgent(cls.srv, join["token"], name="metered",
                                         heartbeat=0.3).__enter__()
        cls.wid = cls.deploy(cls.alice, "burner")
        cls.bob_wid = cls.deploy(cls.bob, "other")

    @classmethod
    def tearDownClass(cls):
        cls.agent.__exit__(None, None, None)
        cls.srv.__exit__(None, None, None)

    @classmethod
    def deploy(cls, token, name):
        _, w = accounts.call(cls.srv, "POST", "/api/v1/workloads",
                             {"name": name, "template": "custom", "image": "example/app:1"},
                             token=token, expect=201)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # placed on the fake node?
            _, got = accounts.call(cls.srv, "GET", "/api/v1/workloads/{id}", token=token,
                                   expect=200, id=w["id"])
            if got.get("node_id"):
                return w["id"]
            time.sleep(0.1)
        raise AssertionError(f"the workload was not placed: {got}")

    def get(self, pattern, token, query="", **ids):
        path = pattern.format(**ids) + (("?" + urllib.parse.urlencode(query)) if query else "")
        status, headers, body = self.srv.request("GET", path, token=token)
        openapi_check.check("GET", pattern, status, headers, body)
        return status, body

    def send_and_wait(self, batch, query):
        """Sends a batch and waits until the workload's series counts all its samples."""
        self.agent.send(batch)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, body = self.get(WORKLOAD_METRICS, self.alice, query, id=self.wid)
            self.assertEqual(status, 200, body)
            if sum(p["samples"] for p in body["points"]) >= len(batch["workloads"]):
                return body
            time.sleep(0.1)
        self.fail(f"no metrics arrived: {body}")

    def test_the_owner_reads_the_series_and_nobody_else_does(self):
        now = int(time.time())
        batch = {"type": "metrics", "sent_at": now, "interval_seconds": 10,
                 "node": [usage(now - 10, 150, 3 << 30)],
                 "workloads": [{"workload_id": self.wid, **usage(now - 20, 80)},
                               {"workload_id": self.wid, **usage(now - 10, 100, 96 << 20)}]}
        body = self.send_and_wait(batch, {"from": "-5m", "step": "10s"})
        self.assertEqual(body["workload_id"], self.wid)
        self.assertEqual(body["step"], 10)
        self.assertEqual(body["resolution"], "raw")
        points = [p for p in body["points"] if p["samples"]]
        self.assertGreaterEqual(len(points), 2)
        self.assertEqual(points[-1]["cpu_percent"], 100)
        self.assertEqual(points[-1]["memory_bytes"], 96 << 20)
        self.assertEqual(points[-1]["memory_limit_bytes"], 128 << 20)
        self.assertEqual(points[-1]["disk_write_bps"], 8192)
        # The minute rollup agrees: the average and maximum of the two samples.
        _, minute = self.get(WORKLOAD_METRICS, self.alice, {"from": "-10m", "step": "1m"},
                             id=self.wid)
        self.assertEqual(minute["resolution"], "1m")
        total = sum(p["samples"] for p in minute["points"])
        self.assertGreaterEqual(total, 2)
        self.assertEqual(max(p["cpu_percent_max"] for p in minute["points"]), 100)
        # Another user, and the admin (workloads are owned), get what a missing workload gets.
        for token in (self.bob, self.admin):
            status, problem = self.get(WORKLOAD_METRICS, token, {"from": "-5m"}, id=self.wid)
            self.assertEqual(status, 404, problem)
            self.assertNotIn("burner", str(problem))
        status, _ = self.get(WORKLOAD_METRICS, self.alice, id="wl_doesnotexist")
        self.assertEqual(status, 404)
        # The node's totals are the admin's.
        status, node = self.get(NODE_METRICS, self.admin, {"from": "-5m", "step": "10s"},
                                id=self.agent.node_id)
        self.assertEqual(status, 200, node)
        self.assertEqual(node["node_id"], self.agent.node_id)
        self.assertIn(150, [p["cpu_percent"] for p in node["points"]])
        self.assertEqual(self.get(NODE_METRICS, self.alice, id=self.agent.node_id)[0], 403)
        self.assertEqual(self.get(NODE_METRICS, self.admin, id="node_nope")[0], 404)
        # Prometheus: the newest sample of each series, for admins.
        status, headers, text = self.srv.request("GET", "/metrics", token=self.admin)
        self.assertEqual(status, 200)
        self.assertIn(f'lattice_workload_cpu_percent{{workload="{self.wid}",name="burner"}} 100',
                      text)
        self.assertIn(f'lattice_node_cpu_percent{{node="{self.agent.node_id}",name="metered"}} 150',
                      text)

    def test_bad_parameters_are_named(self):
        for query, field in (({"from": "yesterday"}, "from"), ({"to": "later"}, "to"),
                             ({"step": "0"}, "step"), ({"step": "fast"}, "step"),
                             ({"from": "-1h", "to": "-2h"}, "from"),
                             ({"from": "-1d", "step": "1"}, "step"),
                             ({"from": "-400d"}, "from")):
            status, problem = self.get(WORKLOAD_METRICS, self.alice, query, id=self.wid)
            self.assertEqual(status, 400, (query, problem))
            self.assertEqual(problem["type"], "urn:lattice:problem:validation-error")
            self.assertIn(field, [e["field"] for e in problem["errors"]], (query, problem))
        # Another user's bad parameters are still a 404: nothing says the workload exists.
        status, _ = self.get(WORKLOAD_METRICS, self.bob, {"step": "0"}, id=self.wid)
        self.assertEqual(status, 404)

    def test_a_node_speaks_only_for_its_own_workloads(self):
        now = int(time.time())
        # bob's workload is on this node too; a made-up one is not anywhere.
        self.agent.send({"type": "metrics", "sent_at": now, "interval_seconds": 10, "node": [],
                         "workloads": [{"workload_id": "wl_madeup", **usage(now - 5, 1)},
                                       {"workload_id": self.bob_wid, **usage(now - 5, 7)}]})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, body = self.get(WORKLOAD_METRICS, self.bob, {"from": "-5m"}, id=self.bob_wid)
            if body["points"]:
                break
            time.sleep(0.1)
        self.assertEqual(body["points"][-1]["cpu_percent"], 7)
        self.assertFalse(self.agent.closed.is_set(), "a metrics batch ended the link")


if __name__ == "__main__":
    unittest.main()
