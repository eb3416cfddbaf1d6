"""Logs kept across container replacement (issue 20, item 3): a `lattice server` and a separate
`lattice agent` on the real Docker engine. The agent keeps each workload's output under its
state directory (docs/logs.md), so:

- lines written before the container is re-created (here: removed behind Lattice's back, and
  created anew by the agent) are still returned after, tagged with the old container generation;
- lines written before, during and after an agent restart are all returned, each exactly once;
- a crash-looping container's every run is kept;
- the per-workload cap (--log-store-size) holds on disk, newest lines kept;
- since, until, q and generation bound what is returned, and `lattice logs` passes them on;
- deleting the workload deletes its logs.
"""

import os
import re
import subprocess
import time
import unittest
import urllib.parse

from harness import BUSYBOX, IMAGES, Agent, Client, Docker, skip_reason, wait_until
from lattice_server import LatticeServer, lattice_bin

REASON = skip_reason()
CAP = 64 * 1024


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


@unittest.skipIf(REASON, REASON)
class KeptLogsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer(*IMAGES, "--heartbeat", "1", "--registration", "open").start()
        cls.admin = Client(cls.srv, "admin@example.com")
        cls.docker = Docker()
        cls.workloads = []
        status, _, tok = cls.admin.call("POST", "/api/v1/nodes/join-tokens")
        assert status == 201, tok
        cls.state_dir = os.path.join(cls.srv.tmp_dir, "node-logs")
        cls.agent = Agent(cls.srv.agent_url, tok["token"], cls.state_dir, "--name", "node-logs",
                          "--log-store-size", "64KiB")
        cls.agent.start()
        wait_until(lambda: [n for n in cls.admin.call("GET", "/api/v1/nodes")[2]["items"]
                            if n["status"] == "ready"], 30, "the node to be ready")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        for wid in cls.workloads:
            cls.docker.remove_labelled(f"lattice.workload={wid}")
        try:
            cls.srv.stop()
        finally:
            cls.srv.cleanup()

    def deploy(self, name, script):
        w = self.admin.deploy({"name": name, "template": "custom", "image": BUSYBOX,
                               "command": ["sh", "-c", script]})
        self.workloads.append(w["id"])
        return w["id"]

    def logs(self, wid, **params):
        params.setdefault("format", "json")
        q = urllib.parse.urlencode(params)
        status, headers, body = self.admin.call("GET", f"/api/v1/workloads/{wid}/logs?{q}")
        self.assertEqual(status, 200, body)
        return body

    def texts(self, wid, **params):
        return [e["text"] for e in self.logs(wid, **params)["entries"]]

    def container(self, wid):
        cs = self.docker.containers(f"lattice.workload={wid}", "lattice.node")
        cs = [c for c in cs if c["Names"] == [f"/lattice-{wid}"]]
        return cs[0] if cs else None

    def wait_text(self, wid, pattern, timeout=60, **params):
        def found():
            q = urllib.parse.urlencode(dict(params, tail=10000, format="json"))
            status, _, body = self.admin.call("GET", f"/api/v1/workloads/{wid}/logs?{q}")
            if status in (409, 503):  # not placed yet, or the node is (re)connecting
                return []
            self.assertEqual(status, 200, body)
            return [e["text"] for e in body["entries"] if re.search(pattern, e["text"])]
        return wait_until(found, timeout, f"a line like {pattern}")

    def test_lines_outlive_a_recreated_container_and_an_agent_restart(self):
        wid = self.deploy("counter", "i=0; while true; do echo n=$i; i=$((i+1)); sleep 0.1; done")
        self.admin.wait_status(wid, "running", timeout=60)
        self.wait_text(wid, r"^n=20$")
        first = self.container(wid)["Id"]

        # Re-created: the container goes behind Lattice's back; the agent creates a new one,
        # whose counter starts again at 0. The first container's lines stay, as generation 1.
        self.docker.call("DELETE", f"/containers/{first}?force=1")
        wait_until(lambda: (c := self.container(wid)) and c["Id"] != first and
                   c["State"] == "running", 60, "a new container")
        self.wait_text(wid, r"^n=5$", generation=2)
        entries = self.logs(wid, tail=10000)["entries"]
        gens = [e["generation"] for e in entries]
        self.assertEqual(gens, sorted(gens), "generations in order")
        self.assertEqual(set(gens), {1, 2})
        old = [e["text"] for e in entries if e["generation"] == 1]
        self.assertEqual(old[:21], [f"n={i}" for i in range(21)], "the old container's lines kept")
        seqs = [e["seq"] for e in entries]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
        # The plain-text answer is the same lines, and a generation bound narrows it.
        status, _, text = self.admin.call("GET", f"/api/v1/workloads/{wid}/logs?generation=1&tail=10000")
        self.assertEqual(status, 200, text)
        self.assertEqual(text.splitlines()[:21], old[:21])

        # An agent restart: the container prints on while the agent is gone; afterwards every
        # line of generation 2 is there exactly once, in order, with no gap.
        last_before = self.texts(wid, tail=1, generation=2)[-1]
        self.agent.stop()
        time.sleep(2)
        self.agent.start()
        n_before = int(last_before[2:])
        self.wait_text(wid, rf"^n={n_before + 40}$", generation=2)
        gen2 = self.texts(wid, tail=10000, generation=2)
        self.assertEqual(gen2, [f"n={i}" for i in range(len(gen2))],
                         "generation 2 has every line once, in order")
        self.assertGreater(len(gen2), n_before + 20, "lines written while the agent was away")
        # ...and the old container's lines survived the restart too.
        self.assertEqual(self.texts(wid, tail=21, generation=1, before=seqs[21])[:21],
                         [f"n={i}" for i in range(21)])

    def test_a_crash_loop_keeps_every_run(self):
        wid = self.deploy("crashy", "echo run at $(date +%s); exit 3")
        wait_until(lambda: len(self.wait_text(wid, r"^run at ")) >= 3, 90, "three runs kept")
        runs = self.texts(wid, q="run at")
        self.assertEqual(len(runs), len(set(runs)), "each run once")
        gens = {e["generation"] for e in self.logs(wid, q="run at")["entries"]}
        self.assertEqual(gens, {1}, "restarts of one container are one generation")

    def test_the_cap_holds_and_the_newest_lines_stay(self):
        wid = self.deploy("chatty", "i=0; while [ $i -lt 6000 ]; do "
                          "echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
                          "i=$((i+1)); done; exec sleep 600")
        self.admin.wait_status(wid, "running", timeout=60)
        self.wait_text(wid, r"^line-5999-")
        kept = os.path.join(self.state_dir, "logs", wid)
        self.assertTrue(os.path.isdir(kept), kept)
        size = sum(os.path.getsize(os.path.join(kept, f)) for f in os.listdir(kept)
                   if f.endswith(".log"))
        self.assertLessEqual(size, CAP)
        self.assertGreater(size, CAP // 2)
        texts = self.texts(wid, tail=10000)
        self.assertTrue(texts[-1].startswith("line-5999-"), texts[-1])
        self.assertFalse(any(t.startswith("line-0-") for t in texts), "the oldest went first")
        body = self.logs(wid, tail=10000)
        self.assertFalse(body["more"])
        self.assertGreater(body["entries"][0]["seq"], 1)

        # Deleting the workload deletes its logs.
        self.assertEqual(self.admin.call("DELETE", f"/api/v1/workloads/{wid}")[0], 202)
        self.admin.wait_gone(wid)
        wait_until(lambda: not os.path.exists(kept), 30, "the kept logs to be removed")

    def test_since_until_and_filter(self):
        wid = self.deploy("clock", "for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done; "
                          "echo ERROR boom; echo error again; exec sleep 600")
        self.admin.wait_status(wid, "running", timeout=60)
        self.wait_text(wid, r"^error again$")
        entries = self.logs(wid, tail=100)["entries"]
        t4 = next(e["time"] for e in entries if e["text"] == "tick-4")
        t6 = next(e["time"] for e in entries if e["text"] == "tick-6")
        self.assertEqual(self.texts(wid, since=t4, until=t6), ["tick-4", "tick-5"])
        self.assertEqual(self.texts(wid, q="error"), ["ERROR boom", "error again"])
        self.assertEqual(self.texts(wid, since="1h", q="tick-6"), ["tick-6"])
        self.assertEqual(self.texts(wid, since="2030-01-01T00:00:00Z"), [])
        status, _, problem = self.admin.call("GET", f"/api/v1/workloads/{wid}/logs?since=soon")
        self.assertEqual(status, 400)
        self.assertEqual([e["field"] for e in problem["errors"]], ["since"])

        # The CLI passes the same bounds on.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_")}
        env.update(XDG_CONFIG_HOME=os.path.join(self.srv.tmp_dir, "cli-config"),
                   LATTICE_SERVER=self.srv.base_url, LATTICE_TOKEN=self.admin.token)
        run = subprocess.run([lattice_bin(), "logs", "clock", "--since", "1h", "--grep", "ERROR"],
                             capture_output=True, text=True, env=env, timeout=30,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.splitlines(), ["ERROR boom", "error again"])
        run = subprocess.run([lattice_bin(), "logs", "clock", "--since", t4, "--until", t6, "-t"],
                             capture_output=True, text=True, env=env, timeout=30,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.splitlines(), [f"{t4} tick-4",
                                                   f"{entries[4]['time']} tick-5"])


if __name__ == "__main__":
    unittest.main()
