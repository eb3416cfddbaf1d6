"""A separate `lattice agent` process joining a `lattice server`: joining with a token, kill -9
and restart of the agent (containers keep running, adopted, no duplicates), a server restart
(nothing lost), a silent node — dead (kill -9) or hung with its connection open (SIGSTOP) —
whose workloads become `lost` and come back without duplicates, and a Docker engine that is
down. Restarting the engine under a running agent is in test_engine_restart.py.
"""

import os
import time
import unittest

from harness import (BUSYBOX, IMAGES, Agent, Client, Docker, EventTail, docker_host, http_get,
                     endpoint, skip_reason, wait_until)
from lattice_server import LatticeServer

REASON = skip_reason()


def node_items(client):
    return client.call("GET", "/api/v1/nodes")[2]["items"]


@unittest.skipIf(REASON, REASON)
class AgentFaultsTest(unittest.TestCase):
    def setUp(self):
        self.srv = LatticeServer(*IMAGES, "--lost-grace", "3", "--heartbeat", "1",
                                 "--registration", "open").start()
        self.admin = Client(self.srv, "admin@example.com")
        self.docker = Docker()
        self.agents = []
        self.workloads = []

    def tearDown(self):
        for a in self.agents:
            a.stop()
        for wid in self.workloads:
            self.docker.remove_labelled(f"lattice.workload={wid}")
        try:
            self.srv.stop()
        finally:
            self.srv.cleanup()

    def join(self, *args, docker=None, name="node-a"):
        status, _, tok = self.admin.call("POST", "/api/v1/nodes/join-tokens")
        self.assertEqual(status, 201, tok)
        self.assertEqual(tok["command"],
                         f"lattice agent --server {self.srv.agent_url} --join-token {tok['token']}")
        agent = Agent(self.srv.agent_url, tok["token"], os.path.join(self.srv.tmp_dir, name),
                      "--name", name, *args, docker=docker)
        self.agents.append(agent)
        return agent, tok["token"]

    def wait_node(self, status, timeout=20):
        return wait_until(lambda: [n for n in node_items(self.admin) if n["status"] == status],
                          timeout, f"a node to be {status}")

    def test_join_token_is_single_use_and_admin_only(self):
        agent, token = self.join()
        agent.start()
        self.wait_node("ready")
        # A second agent with the same (used) token is refused and exits.
        again = Agent(self.srv.agent_url, token, os.path.join(self.srv.tmp_dir, "copycat"),
                      "--name", "copycat")
        self.agents.append(again)
        again.start()
        again.proc.wait(timeout=20)
        self.assertNotEqual(again.proc.returncode, 0)
        self.assertEqual(len(node_items(self.admin)), 1)
        user = Client(self.srv, "user@example.com")
        self.assertEqual(user.call("POST", "/api/v1/nodes/join-tokens")[0], 403)

    def test_agent_kill9_restart_adopts_without_duplicates(self):
        agent, _ = self.join()
        agent.start()
        self.wait_node("ready")
        w = self.admin.deploy({"name": "web", "template": "custom", "image": BUSYBOX,
                               "command": ["sh", "-c", "echo up > /tmp/index.html; "
                                           "exec httpd -f -p 8080 -h /tmp"],
                               "ports": [{"port": 8080}]})
        self.workloads.append(w["id"])
        w = self.admin.wait_status(w["id"], "running", timeout=60)
        url = endpoint(w)["url"].replace("tcp://", "http://") + "/index.html"
        self.assertEqual(http_get(url)[0], 200)

        agent.kill9()
        # The container keeps running while the agent is dead (its public endpoint needs the
        # agent to carry the tunnel, so it is checked again once the agent is back).
        [c] = self.docker.containers(f"lattice.workload={w['id']}")
        self.assertEqual(c["State"], "running", c)
        self.wait_node("down")

        agent.start()  # same state dir: the node's identity, no join token needed any more
        self.wait_node("ready")
        w = self.admin.wait_status(w["id"], "running", timeout=30)
        time.sleep(3)  # a few reconcile passes
        self.assertEqual(len(self.docker.containers(f"lattice.workload={w['id']}")), 1)
        self.assertEqual(len(node_items(self.admin)), 1)
        self.assertEqual(http_get(url)[0], 200)

    def test_server_restart_loses_nothing(self):
        agent, _ = self.join()
        agent.start()
        self.wait_node("ready")
        w = self.admin.deploy({"name": "keep", "template": "custom", "image": BUSYBOX,
                               "command": ["sleep", "600"]})
        self.workloads.append(w["id"])
        self.admin.wait_status(w["id"], "running", timeout=60)
        port_before = self.srv.port
        self.srv.listen = f"127.0.0.1:{port_before}"  # the agent dials the same address
        self.srv.restart()
        status, _, body = self.admin.get(w["id"])  # the token survives too
        self.assertEqual(status, 200, body)
        self.wait_node("ready", timeout=45)
        self.admin.wait_status(w["id"], "running", timeout=30)
        self.assertEqual(len(self.docker.containers(f"lattice.workload={w['id']}")), 1)

    def test_silent_node_marks_workloads_lost_then_recovers(self):
        agent, _ = self.join()
        agent.start()
        self.wait_node("ready")
        w = self.admin.deploy({"name": "lonely", "template": "custom", "image": BUSYBOX,
                               "command": ["sleep", "600"]})
        self.workloads.append(w["id"])
        self.admin.wait_status(w["id"], "running", timeout=60)
        agent.kill9()
        w = self.admin.wait_status(w["id"], "lost", timeout=30)
        self.assertIn("not been heard from", w["status_reason"])
        agent.start()
        self.admin.wait_status(w["id"], "running", timeout=30)
        self.assertEqual(len(self.docker.containers(f"lattice.workload={w['id']}")), 1)

    def test_hung_agent_is_down_then_lost_then_reconciles(self):
        # SIGSTOP: the agent's process is frozen but its TCP connection stays open, so nothing
        # tells the server it is gone except the silence (a hung machine, a partition). The
        # link is closed after 3 missed heartbeats (1 s here), the node is `down` at once and
        # its workloads `lost` after --lost-grace (3 s here).
        agent, _ = self.join()
        agent.start()
        self.wait_node("ready")
        ids = []
        for name in ("hung-a", "hung-b"):
            w = self.admin.deploy({"name": name, "template": "custom", "image": BUSYBOX,
                                   "command": ["sleep", "600"], "resources": {"memory_mb": 16}})
            self.workloads.append(w["id"])
            ids.append(w["id"])
        for wid in ids:
            self.admin.wait_status(wid, "running", timeout=60)
        node_id = node_items(self.admin)[0]["id"]
        events = EventTail(self.admin)  # what the console is told
        try:
            frozen_at = time.monotonic()
            agent.freeze()
            self.wait_node("down", timeout=15)
            down_after = time.monotonic() - frozen_at
            for wid in ids:
                w = self.admin.wait_status(wid, "lost", timeout=20)
                self.assertIn("not been heard from", w["status_reason"])
            lost_after = time.monotonic() - frozen_at
            print(f"\nhung agent: node down after {down_after:.1f} s, workloads lost after "
                  f"{lost_after:.1f} s", flush=True)
            # 3 × heartbeat to notice, then the grace period, plus a scheduler tick or two.
            self.assertLess(down_after, 3 + 4, down_after)
            self.assertLess(lost_after, 3 + 3 + 6, lost_after)
            # The console is pushed the same statuses.
            wait_until(lambda: events.seen("node", lambda d: d["id"] == node_id and
                                           d["status"] == "down"), 5, "a node down event")
            for wid in ids:
                wait_until(lambda: events.seen("workload", lambda d: d["id"] == wid and
                                               d["status"] == "lost"), 5, "a workload lost event")
            # Lost is what the control plane knows, not what the node does: the containers
            # are still there, running, one each.
            for wid in ids:
                found = self.docker.containers(f"lattice.workload={wid}")
                self.assertEqual([c["State"] for c in found], ["running"], found)

            agent.thaw()  # it finds its link dead, dials again and is handed its assignments
            self.wait_node("ready", timeout=30)
            for wid in ids:
                self.admin.wait_status(wid, "running", timeout=30)
            wait_until(lambda: events.seen("node", lambda d: d["id"] == node_id and
                                           d["status"] == "ready"), 5, "a node ready event")
        finally:
            events.close()
        time.sleep(3)  # a few reconcile passes: nothing more may appear
        for wid in ids:
            self.assertEqual(len(self.docker.containers(f"lattice.workload={wid}")), 1)
            self.assertEqual(self.admin.get(wid)[2]["status"], "running")
        self.assertEqual(len(node_items(self.admin)), 1)
        self.assertTrue(agent.proc.poll() is None, "the agent must have survived")

    def test_node_silent_across_a_server_restart_is_down_then_lost(self):
        agent, _ = self.join()
        agent.start()
        self.wait_node("ready")
        w = self.admin.deploy({"name": "orphan", "template": "custom", "image": BUSYBOX,
                               "command": ["sleep", "600"]})
        self.workloads.append(w["id"])
        self.admin.wait_status(w["id"], "running", timeout=60)
        agent.kill9()
        self.srv.listen = f"127.0.0.1:{self.srv.port}"
        self.srv.restart()  # the server never sees this agent again
        self.assertEqual(node_items(self.admin)[0]["status"], "down")
        self.admin.wait_status(w["id"], "lost", timeout=30)

    def test_docker_down_fails_workloads_readably(self):
        agent, _ = self.join(docker="unix:///nonexistent/docker.sock", name="no-docker")
        agent.start()
        self.wait_node("ready")
        w = self.admin.deploy({"name": "nowhere", "template": "custom", "image": BUSYBOX})
        w = self.admin.wait_status(w["id"], "failed", timeout=30)
        self.assertIn("docker", w["status_reason"].lower())
        self.assertTrue(agent.proc.poll() is None, "the agent must keep running")


if __name__ == "__main__":
    unittest.main()
