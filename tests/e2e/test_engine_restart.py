"""The Docker engine restarts under a running agent: while it is down the agent says so (no
workload is claimed `running`), and when it is back every workload converges to `running`
again with exactly one container each.

The shared engine ($DOCKER_HOST) is used by every other test, so this one starts a private
dockerd of its own (harness.PrivateDockerd), copies the busybox image into it through the
Engine API and points a separate `lattice agent` at it with --docker-host.
"""

import os
import time
import unittest

from harness import (BUSYBOX, IMAGES, Agent, Client, Docker, PrivateDockerd, skip_reason,
                     wait_until)
from lattice_server import LatticeServer

REASON = skip_reason() or PrivateDockerd.unavailable()


@unittest.skipIf(REASON, REASON)
class EngineRestartTest(unittest.TestCase):
    def setUp(self):
        self.engine = PrivateDockerd()
        self.addCleanup(self.engine.cleanup)  # removes its containers too
        self.engine.start()
        self.engine.load_image_from(Docker(), BUSYBOX)
        self.srv = LatticeServer(*IMAGES, "--heartbeat", "1", "--lost-grace", "3").start()
        self.addCleanup(self.srv.cleanup)
        self.admin = Client(self.srv, "admin@example.com")
        status, _, tok = self.admin.call("POST", "/api/v1/nodes/join-tokens")
        self.assertEqual(status, 201, tok)
        # Exactly what the join command tells a new node: its --server URL and its token.
        words = tok["command"].split()
        self.assertIn(tok["token"], words)
        server_url = words[words.index("--server") + 1]
        self.agent = Agent(server_url, tok["token"],
                           os.path.join(self.srv.tmp_dir, "node"), "--name", "private-engine",
                           docker=self.engine.url)
        self.agent.start()
        self.addCleanup(self.agent.stop)
        wait_until(lambda: [n for n in self.nodes() if n["status"] == "ready"], 20,
                   "the node to be ready")

    def nodes(self):
        return self.admin.call("GET", "/api/v1/nodes")[2]["items"]

    def statuses(self, ids):
        out = {}
        for wid in ids:
            status, _, body = self.admin.get(wid)
            self.assertEqual(status, 200, body)
            out[wid] = body
        return out

    def test_engine_restart_is_reported_truthfully_and_recovered(self):
        ids = []
        for i in range(3):
            w = self.admin.deploy({"name": f"steady-{i}", "template": "custom", "image": BUSYBOX,
                                   "command": ["sh", "-c", "trap 'exit 0' TERM; "
                                               "sleep 3600 & wait"],
                                   "resources": {"memory_mb": 16}})
            ids.append(w["id"])
        for wid in ids:
            self.admin.wait_status(wid, "running", timeout=60)
        before = {wid: self.engine.docker.containers(f"lattice.workload={wid}") for wid in ids}
        for wid, found in before.items():
            self.assertEqual(len(found), 1, found)

        t0 = time.monotonic()
        self.engine.stop()  # its containers stop with it (1 s grace, then SIGKILL)
        stopped_at = time.monotonic()
        # Within a reconcile pass (2 s) the agent notices, and says so for every workload.
        wait_until(lambda: all(w["status"] != "running"
                               for w in self.statuses(ids).values()), 15,
                   "no workload to be claimed running while the engine is down")
        noticed_after = time.monotonic() - stopped_at
        print(f"\nengine stop took {stopped_at - t0:.1f} s; the agent reported it "
              f"{noticed_after:.1f} s after", flush=True)
        self.assertLess(noticed_after, 5, noticed_after)
        # And keeps saying so while the engine stays down: never `running` again meanwhile.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for wid, w in self.statuses(ids).items():
                self.assertEqual(w["status"], "failed", w)
                self.assertIn("container engine is not answering", w["status_reason"])
            time.sleep(0.5)
        # The node itself stays up: its agent is alive and still talking to the server.
        self.assertEqual([n["status"] for n in self.nodes()], ["ready"])
        self.assertIsNone(self.agent.proc.poll(), "the agent must keep running")

        self.engine.start()  # same data root: the old containers are there, exited
        back_at = time.monotonic()
        for wid in ids:
            self.admin.wait_status(wid, "running", timeout=60)
        print(f"engine back: all running {time.monotonic() - back_at:.1f} s after it answered",
              flush=True)
        time.sleep(3)  # a few reconcile passes: nothing more may appear
        for wid in ids:
            found = self.engine.docker.containers(f"lattice.workload={wid}")
            self.assertEqual(len(found), 1, found)
            self.assertEqual(found[0]["State"], "running")
            # Restarted, not replaced: the same container as before the outage.
            self.assertEqual(found[0]["Id"], before[wid][0]["Id"])
            self.assertEqual(self.admin.get(wid)[2]["status"], "running")
        # Nothing of this node's landed on the shared engine.
        for wid in ids:
            self.assertEqual(Docker().containers(f"lattice.workload={wid}"), [])

        timeline = self.admin.call("GET", f"/api/v1/workloads/{ids[0]}/events")[2]["items"]
        self.assertIn("failed", [e["status"] for e in timeline])


if __name__ == "__main__":
    unittest.main()
