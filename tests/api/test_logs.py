"""The logs API's bounds and answers (issue 20, item 3) through the real binary, with
agent_link.FakeAgent as the node: what the server asks the agent for (logs.open carries since,
until, filter, generation and before), what it answers (plain text with X-Lattice-More, or
format=json with each line's seq, container generation and time; a followed stream as JSON),
and a 400 naming each bad parameter. The node's side (keeping the logs) is tested in
src/agent/log_store_test.cc and tests/e2e/test_logs.py.
"""

import json
import re
import threading
import time
import unittest
import urllib.parse

import agent_link
import openapi_check
from lattice_server import LatticeServer

PASSWORD = "correct horse battery"
WORKLOADS = "/api/v1/workloads"
NS = 1_000_000_000


class LogsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer("--registration", "open")
        cls.srv.__enter__()
        status, _, body = cls.srv.request("POST", "/api/v1/auth/register",
                                          {"email": "admin@example.com", "password": PASSWORD})
        assert status == 201, body
        cls.token = body["token"]
        status, _, join = cls.srv.request("POST", "/api/v1/nodes/join-tokens", {},
                                          token=cls.token)
        assert status == 201, join
        cls.agent = agent_link.FakeAgent(cls.srv, join["token"], name="fake-logs",
                                         heartbeat=0.1).__enter__()
        status, _, w = cls.srv.request("POST", WORKLOADS, {"name": "app", "template": "custom",
                                                           "image": "example/app:1"},
                                       token=cls.token)
        assert status == 201, w
        cls.wid = w["id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, _, got = cls.srv.request("GET", f"{WORKLOADS}/{cls.wid}", token=cls.token)
            if got.get("node_id"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the workload was not placed: {got}")

    @classmethod
    def tearDownClass(cls):
        cls.agent.__exit__(None, None, None)
        cls.srv.__exit__(None, None, None)

    def call(self, query):
        path = f"{WORKLOADS}/{self.wid}/logs{query}"
        status, headers, body = self.srv.request("GET", path, token=self.token, timeout=30)
        if body is None and headers.get("Content-Type", "").startswith("text/plain"):
            body = ""  # no lines: an empty text body (the harness reads it as None)
        openapi_check.check("GET", f"{WORKLOADS}/{{id}}/logs", status, headers, body)
        return status, headers, body

    def next_open(self, seen):
        """The first logs.open after the `seen` ones."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            opens = self.agent.received("logs.open")
            if len(opens) > seen:
                return opens[seen]
            time.sleep(0.02)
        self.fail("the server sent no logs.open")

    def answered(self, query, lines, more=False, with_numbers=True):
        """GETs `query` while the fake agent answers its logs.open with `lines`
        [(seq, generation, time_ns, text)]; returns (logs.open, status, headers, body)."""
        seen = len(self.agent.received("logs.open"))
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", self.call(query)))
        t.start()
        req = self.next_open(seen)
        data = {"type": "logs.data", "stream_id": req["stream_id"],
                "lines": [l[3] for l in lines]}
        if with_numbers:
            data.update(seqs=[l[0] for l in lines], generations=[l[1] for l in lines],
                        times_ns=[l[2] for l in lines])
        self.agent.send(data)
        self.agent.send({"type": "logs.end", "stream_id": req["stream_id"], "error": "",
                         "more": more})
        t.join(30)
        return (req, *out["r"])

    def test_bounds_travel_to_the_agent(self):
        q = urllib.parse.urlencode({"since": "2026-01-02T03:04:05.5Z", "until": "2026-01-03T00:00:00+01:00",
                                    "q": "ERROR x", "generation": 3, "before": 77, "tail": 5})
        req, status, headers, body = self.answered("?" + q, [])
        self.assertEqual(status, 200, body)
        self.assertEqual(req["workload_id"], self.wid)
        self.assertEqual(req["since_ns"], 1767323045 * NS + NS // 2)
        self.assertEqual(req["until_ns"], 1767394800 * NS)
        self.assertEqual(req["filter"], "ERROR x")
        self.assertEqual(req["generation"], 3)
        self.assertEqual(req["before_seq"], 77)
        self.assertEqual(req["tail"], 5)
        self.assertFalse(req["follow"])

    def test_a_span_back_from_now_and_its_default_tail(self):
        before = time.time()
        req, status, _, _ = self.answered("?since=1h", [])
        self.assertEqual(status, 200)
        self.assertAlmostEqual(req["since_ns"] / NS, before - 3600, delta=5)
        self.assertEqual(req["tail"], 10000)  # a window: up to the most one answer holds
        req, _, _, _ = self.answered("", [])
        self.assertEqual(req["tail"], 100)
        self.assertNotIn("since_ns", req)

    def test_plain_text_and_more(self):
        lines = [(5, 1, 1767323045 * NS, "first"), (6, 2, 1767323046 * NS + 7, "second")]
        _, status, headers, body = self.answered("?tail=2", lines, more=True)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        self.assertEqual(body, "first\nsecond\n")
        self.assertEqual(headers.get("X-Lattice-More"), "true")
        _, _, headers, _ = self.answered("?tail=2", lines, more=False)
        self.assertIsNone(headers.get("X-Lattice-More"))

    def test_json_entries_carry_seq_generation_and_time(self):
        lines = [(5, 1, 1767323045 * NS, "first"), (6, 2, 1767323046 * NS + 7, "second")]
        _, status, headers, body = self.answered("?format=json", lines, more=True)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"more": True, "entries": [
            {"seq": 5, "generation": 1, "time": "2026-01-02T03:04:05.000000000Z", "text": "first"},
            {"seq": 6, "generation": 2, "time": "2026-01-02T03:04:06.000000007Z",
             "text": "second"}]})
        # An agent from before kept logs sends lines only.
        _, _, _, body = self.answered("?format=json", lines, with_numbers=False)
        self.assertEqual(body["entries"][0], {"seq": 0, "generation": 0, "time": None,
                                              "text": "first"})

    def test_a_followed_stream_as_json(self):
        seen = len(self.agent.received("logs.open"))
        sock = self.srv.raw_socket(timeout=10)
        try:
            sock.sendall((f"GET {WORKLOADS}/{self.wid}/logs?follow=true&format=json&q=x HTTP/1.1\r\n"
                          f"Host: x\r\nAuthorization: Bearer {self.token}\r\n"
                          f"Accept: text/event-stream\r\n\r\n").encode())
            req = self.next_open(seen)
            self.assertTrue(req["follow"])
            self.assertEqual(req["filter"], "x")
            self.agent.send({"type": "logs.data", "stream_id": req["stream_id"],
                             "lines": ["x1"], "seqs": [9], "generations": [4],
                             "times_ns": [1767323045 * NS]})
            got = b""
            deadline = time.monotonic() + 10
            while b'"x1"' not in got and time.monotonic() < deadline:
                got += sock.recv(65536)
            text = got.decode()
            self.assertIn(" 200 ", text.split("\r\n", 1)[0])
            data = re.search(r"data: (\{.*\})", text)
            self.assertIsNotNone(data, text)
            self.assertEqual(json.loads(data.group(1)), {
                "seq": 9, "generation": 4, "time": "2026-01-02T03:04:05.000000000Z", "text": "x1"})
        finally:
            sock.close()

    def test_bad_parameters_are_400_naming_them(self):
        cases = {
            "since=yesterday": "since",
            "since=2026-01-02T03:04:05": "since",  # no zone
            "until=-5m": "until",
            "since=1h&until=2h": "until",  # until before since
            "q=" + "x" * 257: "q",
            "generation=0": "generation",
            "generation=two": "generation",
            "before=-1": "before",
            "format=xml": "format",
            "tail=10001": "tail",
            "follow=true&until=1h": "until",
            "follow=true&before=9": "before",
        }
        for query, field in cases.items():
            with self.subTest(query=query):
                status, headers, body = self.call("?" + query)
                self.assertEqual(status, 400, body)
                self.assertEqual(headers.get("Content-Type"), "application/problem+json")
                self.assertIn(field, [e["field"] for e in body.get("errors", [])], body)


if __name__ == "__main__":
    unittest.main()
