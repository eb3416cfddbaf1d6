"""The short variant of the load test (bench/load/load.py) against one `lattice dev`: 200
concurrent clients mixing sign-ins, lists, gets, deploys, stops, starts and log follows for
20 s. Zero 5xx, zero transport errors, zero lost writes, and every workload it made is gone
again afterwards. bench/load/run.sh is the long variant (docs/RELIABILITY.md has its numbers).
"""

import io
import json
import os
import sys
import unittest

from harness import Client, Docker, LatticeDev, skip_reason, wait_until
from lattice_server import source_dir

sys.path.insert(0, os.path.join(source_dir(), "bench", "load"))
import load  # noqa: E402

REASON = skip_reason()


@unittest.skipIf(REASON, REASON)
class LoadTest(unittest.TestCase):
    def setUp(self):
        # Access logs off: 30 000 lines would cost the server more than the requests.
        self.srv = LatticeDev("--access-log=false").start()
        self.docker = Docker()
        self.node_id = None
        self.addCleanup(self.cleanup)

    def cleanup(self):
        try:
            self.srv.kill9()
        finally:
            if self.node_id:  # a backstop: the run deletes what it made through the API
                self.docker.remove_labelled(f"lattice.node={self.node_id}")
            self.srv.cleanup()

    def test_200_clients_no_5xx_no_lost_writes(self):
        admin = Client(self.srv, "admin@example.com")
        nodes = wait_until(lambda: [n for n in admin.call("GET", "/api/v1/nodes")[2]["items"]
                                    if n["status"] == "ready"], 30, "the local node")
        self.node_id = nodes[0]["id"]
        out = os.path.join(self.srv.tmp_dir, "load.json")
        rc = load.main(["--url", self.srv.base_url, "--clients", "200", "--accounts", "40",
                        "--duration", "30", "--max-deploys", "30", "--cleanup",
                        "--json", out])
        with open(out) as f:
            r = json.load(f)
        report = io.StringIO()
        load.print_table(r, report)
        self.assertEqual(r["server_errors_5xx"], 0, report.getvalue())
        self.assertEqual(r["transport_errors"], 0, report.getvalue())
        self.assertEqual(r["lost_writes"], 0, report.getvalue())
        self.assertEqual(r["left_after_cleanup"], 0, report.getvalue())
        self.assertEqual(rc, 0, report.getvalue())
        # It really mixed: every kind of operation ran, deploys were acknowledged and
        # followed logs delivered lines.
        for op, o in r["ops"].items():
            self.assertGreater(o["count"], 0, f"no {op} ran\n{report.getvalue()}")
        self.assertEqual(r["acknowledged_deploys"], 30, report.getvalue())
        self.assertGreater(r["follow_lines"], 0, report.getvalue())
        self.assertEqual(self.docker.containers(f"lattice.node={self.node_id}"), [])


if __name__ == "__main__":
    unittest.main()
