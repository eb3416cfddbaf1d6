"""Workloads, nodes, the event stream and the agent link, as far as they work without a node:
every response is validated against docs/openapi.yaml, so the spec and the JSON the server
writes cannot drift apart. (Running workloads on real nodes is tested elsewhere.)"""

import json
import time
import unittest

import openapi_check
from lattice_server import LatticeServer, read_until_closed

PASSWORD = "correct horse battery"
WORKLOADS = "/api/v1/workloads"
WORKLOAD = "/api/v1/workloads/{id}"


class ResourcesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer("--registration", "open")
        cls.srv.__enter__()
        tokens = []
        for email in ("admin@example.com", "user@example.com", "other@example.com"):
            status, _, body = cls.srv.request("POST", "/api/v1/auth/register",
                                              {"email": email, "password": PASSWORD})
            assert status == 201, body
            tokens.append(body["token"])
        cls.admin, cls.user, cls.other = tokens

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def call(self, method, pattern, token, body=None, query="", **ids):
        path = pattern.format(**ids) + query
        status, headers, data = self.srv.request(method, path, body=body, token=token)
        openapi_check.check(method, pattern, status, headers, data)
        return status, data

    def create(self, name, template="postgres", token=None, **extra):
        status, body = self.call("POST", WORKLOADS, token or self.user,
                                 {"name": name, "template": template, **extra})
        self.assertEqual(status, 201, body)
        return body

    def test_create_list_get(self):
        db = self.create("orders-db", resources={"memory_mb": 256})
        self.assertEqual((db["status"], db["desired_state"], db["generation"]),
                         ("pending", "running", 1))
        self.assertEqual(db["resources"]["memory_mb"], 256)
        web = self.create("web", "custom", image="nginx:1.27",
                          ports=[80, {"port": 53, "protocol": "udp"}], env={"MODE": "demo"},
                          command=["nginx", "-g", "daemon off;"],
                          resources={"memory_mb": 64, "cpus": 0.5})
        self.assertEqual([(e["container_port"], e["protocol"]) for e in web["endpoints"]],
                         [(80, "tcp"), (53, "udp")])
        status, listing = self.call("GET", WORKLOADS, self.user)
        self.assertEqual(status, 200)
        self.assertTrue({db["id"], web["id"]} <= {w["id"] for w in listing["items"]})
        status, got = self.call("GET", WORKLOAD, self.user, id=db["id"])
        self.assertEqual((status, got["id"]), (200, db["id"]))
        status, timeline = self.call("GET", WORKLOAD + "/events", self.user, id=db["id"])
        self.assertEqual(status, 200)
        self.assertEqual(timeline["items"][0]["status"], "pending")

    def test_workloads_are_private(self):
        mine = self.create("private-db")
        status, body = self.call("GET", WORKLOAD, self.other, id=mine["id"])
        self.assertEqual(status, 404, body)
        status, body = self.call("DELETE", WORKLOAD, self.other, id=mine["id"])
        self.assertEqual(status, 404, body)
        status, listing = self.call("GET", WORKLOADS, self.other)
        self.assertNotIn(mine["id"], [w["id"] for w in listing["items"]])
        status, body = self.call("GET", WORKLOADS, None)
        self.assertEqual(status, 401, body)

    def test_validation_and_conflicts(self):
        for payload in ({}, {"name": "Bad_Name", "template": "postgres"},
                        {"name": "x", "template": "mysql"}, {"name": "x", "template": "custom"},
                        {"name": "x", "template": "postgres", "unknown": 1},
                        {"name": "x", "template": "custom", "image": "nginx", "ports": [0]},
                        {"name": "x", "template": "postgres", "resources": {"cpus": "many"}}):
            with self.subTest(payload=payload):
                status, body = self.call("POST", WORKLOADS, self.user, payload)
                self.assertEqual(status, 400, body)
                self.assertTrue(body["errors"])
        self.create("dup")
        status, body = self.call("POST", WORKLOADS, self.user,
                                 {"name": "dup", "template": "minio"})
        self.assertEqual(status, 409, body)
        self.assertEqual([e["field"] for e in body["errors"]], ["name"])
        self.create("dup", token=self.other)  # names are per user

    def test_idle_timeout_is_validated_and_shown(self):
        bad = [
            ({"name": "x", "template": "custom", "image": "nginx",
              "ports": [{"port": 5432, "idle_timeout_s": 9}]}, "ports[0].idle_timeout_s"),
            ({"name": "x", "template": "custom", "image": "nginx",
              "ports": [80, {"port": 5432, "idle_timeout_s": 86401}]}, "ports[1].idle_timeout_s"),
            ({"name": "x", "template": "custom", "image": "nginx",
              "ports": [{"port": 5432, "idle_timeout_s": "long"}]}, "ports[0].idle_timeout_s"),
            ({"name": "x", "template": "postgres", "idle_timeout_s": 0}, "idle_timeout_s"),
            ({"name": "x", "template": "minio", "idle_timeout_s": 100000}, "idle_timeout_s"),
            ({"name": "x", "template": "postgres", "idle_timeout_s": 60.5}, "idle_timeout_s"),
            ({"name": "x", "template": "postgres", "idle_timeout_s": [60]}, "idle_timeout_s"),
        ]
        for payload, field in bad:
            with self.subTest(payload=payload):
                status, body = self.call("POST", WORKLOADS, self.user, payload)
                self.assertEqual(status, 400, body)
                self.assertEqual([e["field"] for e in body["errors"]], [field])
        # Managed: the top-level value applies to every port (minio has two).
        files = self.create("idle-files", "minio", idle_timeout_s=7200)
        self.assertEqual([e.get("idle_timeout_s") for e in files["endpoints"]], [7200, 7200])
        # Custom: a port's own value wins over the top-level one; unset ports show none.
        web = self.create("idle-web", "custom", image="nginx:1.27", idle_timeout_s=600,
                          ports=[{"port": 5432, "idle_timeout_s": 86400}, 80])
        self.assertEqual([e.get("idle_timeout_s") for e in web["endpoints"]], [86400, 600])
        plain = self.create("idle-plain", "custom", image="nginx:1.27", ports=[80])
        self.assertNotIn("idle_timeout_s", plain["endpoints"][0])
        status, got = self.call("GET", WORKLOAD, self.user, id=web["id"])
        self.assertEqual([e.get("idle_timeout_s") for e in got["endpoints"]], [86400, 600])

    def test_desired_state_changes(self):
        w = self.create("lifecycle")
        status, stopped = self.call("POST", WORKLOAD + "/stop", self.user, id=w["id"])
        self.assertEqual((status, stopped["desired_state"]), (202, "stopped"))
        self.assertGreater(stopped["generation"], w["generation"])
        status, started = self.call("POST", WORKLOAD + "/start", self.user, id=w["id"])
        self.assertEqual((status, started["desired_state"]), (202, "running"))
        status, logs = self.call("GET", WORKLOAD + "/logs", self.user, id=w["id"])
        self.assertEqual(status, 409, logs)  # not placed on a node: no logs yet
        status, logs = self.call("GET", WORKLOAD + "/logs", self.user, query="?tail=-1",
                                 id=w["id"])
        self.assertEqual(status, 400, logs)
        status, deleted = self.call("DELETE", WORKLOAD, self.user, id=w["id"])
        self.assertEqual((status, deleted["desired_state"]), (202, "deleted"))

    def test_nodes_and_join_tokens(self):
        status, nodes = self.call("GET", "/api/v1/nodes", self.user)
        self.assertEqual((status, nodes), (200, {"items": []}))
        status, invite = self.call("POST", "/api/v1/nodes/join-tokens", self.admin)
        self.assertEqual(status, 201, invite)
        self.assertIn(invite["token"], invite["command"])
        status, body = self.call("POST", "/api/v1/nodes/join-tokens", self.user)
        self.assertEqual(status, 403, body)

    def test_agent_link_needs_tls(self):
        status, body = self.call("GET", "/api/v1/agent/link", None)
        self.assertEqual(status, 400, body)
        self.assertIn("https://", body["detail"])

    def test_event_stream(self):
        with self.srv.raw_socket() as s:
            s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: t\r\n"
                      b"Authorization: Bearer " + self.user.encode() + b"\r\n\r\n")
            data = b""
            deadline = time.monotonic() + 5
            while b"retry:" not in data and time.monotonic() < deadline:
                chunk, closed = read_until_closed(s, 0.2)
                data += chunk
                self.assertFalse(closed and b"retry:" not in data, data)
            head, _, stream = data.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            self.assertTrue(lines[0].startswith("HTTP/1.1 200"), lines[0])
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            self.assertEqual(headers.get("content-type"), "text/event-stream")
            self.assertTrue(headers.get("x-request-id"))
            w = self.create("streamed")
            events = stream
            deadline = time.monotonic() + 5
            # Events about the user's other workloads may come first (a placement pass owed
            # from an earlier create): wait for this one's.
            while w["id"].encode() not in events and time.monotonic() < deadline:
                events += read_until_closed(s, 0.2)[0]
        frames = [f for f in events.decode().split("\n\n")
                  if f.startswith("event: workload\n") and w["id"] in f]
        self.assertTrue(frames, f"no workload event arrived: {events!r}")
        payload = json.loads("".join(line[len("data: "):] for line in frames[0].split("\n")
                                     if line.startswith("data: ")))
        openapi_check.check_schema("WorkloadStreamed", payload)
        self.assertEqual(payload["id"], w["id"])


if __name__ == "__main__":
    unittest.main()
