"""Tunnels across real network namespaces: the topology of a public edge and a node at home.

  client ns ──10.a.b.4/30── edge ns (lattice server) ──10.a.b.0/30── host (agent + dockerd)

The client can reach the edge's address but has no route to the node; the node's containers
publish on the host's loopback only. Everything the client reaches, it reaches through
Lattice's edge and the agent's TLS data connections.
"""

import os
import random
import subprocess
import sys
import time
import unittest

from harness import (BUSYBOX, IMAGES, Agent, Client, Docker, endpoint, psql, skip_reason,
                     wait_until)
from lattice_server import LatticeServer

HERE = os.path.dirname(os.path.abspath(__file__))
S3CHECK = os.path.join(HERE, "..", "images", "s3check.py")
FETCH = os.path.join(HERE, "netns_fetch.py")
PY = "/usr/bin/python3"


def _netns_reason():
    if os.geteuid() != 0:
        return "network namespaces need root"
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        return "`ip netns` is not available"
    return None


REASON = skip_reason() or _netns_reason()
if REASON and os.environ.get("LATTICE_REQUIRE_DOCKER") and _netns_reason():
    raise RuntimeError(f"LATTICE_REQUIRE_DOCKER is set but {_netns_reason()}")


def sh(*cmd, check=True, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}): {r.stderr}")
    return r


class Topology:
    """Two namespaces and two veth pairs, named and addressed uniquely for this run."""

    def __init__(self):
        rid = "%06x" % random.randrange(1 << 24)
        a, b = random.randrange(200, 250), random.randrange(0, 250)
        self.edge_ns, self.client_ns = f"lte{rid}", f"ltc{rid}"
        self.host_if, self.edge_if = f"lth{rid}", f"lte{rid}"
        self.edge_cif, self.client_if = f"ltx{rid}", f"lty{rid}"
        self.host_ip, self.edge_ip = f"10.{a}.{b}.1", f"10.{a}.{b}.2"    # node side
        self.edge_pub, self.client_ip = f"10.{a}.{b}.5", f"10.{a}.{b}.6"  # client side

    def up(self):
        e, c = self.edge_ns, self.client_ns
        sh("ip", "netns", "add", e)
        sh("ip", "netns", "add", c)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.edge_if)
        sh("ip", "link", "set", self.edge_if, "netns", e)
        sh("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        sh("ip", "-n", e, "addr", "add", f"{self.edge_ip}/30", "dev", self.edge_if)
        sh("ip", "-n", e, "link", "set", self.edge_if, "up")
        sh("ip", "-n", e, "link", "set", "lo", "up")
        sh("ip", "-n", e, "link", "add", self.edge_cif, "type", "veth", "peer", "name",
           self.client_if, "netns", c)
        sh("ip", "-n", e, "addr", "add", f"{self.edge_pub}/30", "dev", self.edge_cif)
        sh("ip", "-n", e, "link", "set", self.edge_cif, "up")
        sh("ip", "-n", c, "addr", "add", f"{self.client_ip}/30", "dev", self.client_if)
        sh("ip", "-n", c, "link", "set", self.client_if, "up")
        sh("ip", "-n", c, "link", "set", "lo", "up")
        return self

    def down(self):
        for ns in (self.client_ns, self.edge_ns):
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", self.host_if, check=False)

    def in_client(self, *cmd, timeout=60, check=True):
        return sh("ip", "netns", "exec", self.client_ns, *cmd, timeout=timeout, check=check)


class EdgeServer(LatticeServer):
    """`lattice server` inside the edge namespace."""

    def __init__(self, topo, data_dir):
        super().__init__(*IMAGES, "--public-bind", "0.0.0.0", "--public-host", topo.edge_pub,
                         "--public-ports", "20000-20099",
                         "--advertise-url", f"https://{topo.edge_ip}:8443",
                         listen=f"{topo.edge_ip}:8443", data_dir=data_dir)
        self.topo = topo

    def command(self):
        return ["ip", "netns", "exec", self.topo.edge_ns] + super().command()


@unittest.skipIf(REASON, REASON)
class TunnelTopologyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topo = Topology().up()
        cls.docker = Docker()
        cls.workloads = []
        cls.agent = None
        try:
            cls.srv = EdgeServer(cls.topo, data_dir="").start()
            cls.admin = Client(cls.srv, "admin@example.com")
            status, _, tok = cls.admin.call("POST", "/api/v1/nodes/join-tokens")
            assert status == 201, tok
            server = f"https://{cls.topo.edge_ip}:8443"
            assert tok["command"].startswith(f"lattice agent --server {server} "), tok["command"]
            cls.agent = Agent(server, tok["token"], os.path.join(cls.srv.tmp_dir, "node"),
                              "--name", "home-node").start()
            wait_until(lambda: any(n["status"] == "ready" for n in
                                   cls.admin.call("GET", "/api/v1/nodes")[2]["items"]),
                       30, "the node to be ready")
        except BaseException:
            if cls.agent:
                sys.stderr.write("agent output:\n" + cls.agent.output() + "\n")
            if getattr(cls, "srv", None):
                sys.stderr.write("server output:\n" + cls.srv.output()[-3000:] + "\n")
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        if cls.agent:
            cls.agent.stop()
        for wid in cls.workloads:
            cls.docker.remove_labelled(f"lattice.workload={wid}")
        if getattr(cls, "srv", None):
            try:
                cls.srv.stop()
            finally:
                cls.srv.cleanup()
        cls.topo.down()

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def deploy(self, spec):
        w = self.admin.deploy(spec)
        self.workloads.append(w["id"])
        return self.admin.wait_status(w["id"], "running")

    def client_psql(self, conn, sql):
        r = self.topo.in_client("psql", conn, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                "-c", sql, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_1_postgres_from_another_machine_and_after_a_server_restart(self):
        w = self.deploy({"name": "pg", "template": "postgres"})
        ep = endpoint(w, "postgres")
        self.assertEqual(ep["host"], self.topo.edge_pub)
        conn = w["credentials"]["connection_string"]
        self.assertIn(f"@{self.topo.edge_pub}:{ep['port']}/", conn)
        self.assertEqual(self.client_psql(conn, "select 40 + 2"), "42")

        # No host port is published (the agent dials the container on its own address), and
        # the client has no way to the container's address either.
        c = self.docker.containers(f"lattice.workload={w['id']}")[0]
        self.assertEqual([p for p in c["Ports"] if p.get("PublicPort")], [])
        self.assertNotIn("node_port", ep)
        addr = list(c["NetworkSettings"]["Networks"].values())[0]["IPAddress"]
        probe = self.topo.in_client(PY, "-c", "import socket,sys; socket.create_connection("
                                    f"('{addr}', 5432), timeout=3)", check=False)
        self.assertNotEqual(probe.returncode, 0, f"{addr}:5432 must be unreachable")

        # The server restarts; once the agent has dialled back, the same endpoint works.
        self.srv.stop()
        self.srv.start()
        wait_until(lambda: any(n["status"] == "ready" for n in
                               self.admin.call("GET", "/api/v1/nodes")[2]["items"]),
                   60, "the node to reconnect")
        w2 = self.admin.wait_status(w["id"], "running")
        self.assertEqual(endpoint(w2, "postgres")["port"], ep["port"])
        self.assertEqual(w2["credentials"]["connection_string"], conn)
        self.assertEqual(wait_until(lambda: self._try_psql(conn), 30, "psql after restart"),
                         "ok")

    def _try_psql(self, conn):
        r = self.topo.in_client("psql", conn, "-X", "-A", "-t", "-c", "select 'ok'", check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def test_2_s3_put_and_get_from_another_machine(self):
        w = self.deploy({"name": "s3", "template": "minio"})
        ep = endpoint(w)
        self.assertEqual(ep["host"], self.topo.edge_pub)
        url = f"{ep['host']}:{ep['port']}"
        ak, sk = w["credentials"]["access_key"], w["credentials"]["secret_key"]
        r = self.topo.in_client(PY, S3CHECK, url, ak, sk, "mkbucket", "tunnelled")
        self.assertIn("200", r.stdout)
        r = self.topo.in_client(PY, S3CHECK, url, ak, sk, "put", "tunnelled", "k", "through the tunnel")
        self.assertIn("200", r.stdout)
        r = self.topo.in_client(PY, S3CHECK, url, ak, sk, "get", "tunnelled", "k")
        self.assertIn("through the tunnel", r.stdout)

    def test_3_one_stream_dies_another_completes_intact(self):
        size = 24 * 1024 * 1024
        w = self.deploy({
            "name": "files", "template": "custom", "image": BUSYBOX,
            "command": ["sh", "-c", f"mkdir -p /tmp/w && head -c {size} /dev/urandom > /tmp/w/f "
                        "&& exec httpd -f -p 8080 -h /tmp/w"],
            "ports": [{"port": 8080, "protocol": "tcp"}],
            "resources": {"memory_mb": 128, "cpus": 0.5}})
        url = endpoint(w)["url"].replace("tcp://", "http://") + "/f"
        ref = wait_until(lambda: self._fetch(url), 30, "the file server")
        self.assertEqual(int(ref.split()[0]), size)
        # Two streams at once: one is reset after 2 MB, the other must arrive whole.
        ns = ["ip", "netns", "exec", self.topo.client_ns, PY, FETCH, url]
        whole = subprocess.Popen(ns, stdout=subprocess.PIPE, text=True)
        cut = subprocess.Popen(ns + [str(2 << 20)], stdout=subprocess.PIPE, text=True)
        cut_out, _ = cut.communicate(timeout=60)
        whole_out, _ = whole.communicate(timeout=60)
        self.assertTrue(cut_out.startswith("aborted"), cut_out)
        self.assertEqual(whole_out.strip(), ref, "the surviving stream must arrive intact")

    def _fetch(self, url):
        r = self.topo.in_client(PY, FETCH, url, check=False)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None

    def test_4_a_stopped_workload_refuses_and_a_started_one_accepts(self):
        w = self.deploy({"name": "pg2", "template": "postgres"})
        ep, conn = endpoint(w, "postgres"), w["credentials"]["connection_string"]
        self.assertEqual(self.client_psql(conn, "select 1"), "1")
        status, _, body = self.admin.call("POST", f"/api/v1/workloads/{w['id']}/stop")
        self.assertEqual(status, 202, body)
        self.admin.wait_status(w["id"], "stopped")
        probe = self.topo.in_client(PY, "-c", "import socket; socket.create_connection(("
                                    f"'{self.topo.edge_pub}', {ep['port']}), timeout=3)",
                                    check=False)
        self.assertIn("ConnectionRefusedError", probe.stderr)
        self.admin.call("POST", f"/api/v1/workloads/{w['id']}/start")
        w = self.admin.wait_status(w["id"], "running")
        self.assertEqual(endpoint(w, "postgres")["port"], ep["port"])
        self.assertEqual(wait_until(lambda: self._try_psql(conn), 30, "psql after start"), "ok")

    def _get(self, url):
        r = self.topo.in_client(PY, "-c", "import sys,urllib.request; sys.stdout.write("
                                f"urllib.request.urlopen('{url}', timeout=5).read().decode())",
                                check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def test_5_streams_reach_the_container_on_its_own_address_after_re_creation(self):
        # Two ports, each with its own content; one of them also asked for on the node.
        w = self.deploy({
            "name": "two-ports", "template": "custom", "image": BUSYBOX,
            "command": ["sh", "-c", "mkdir -p /tmp/a /tmp/b && echo first > /tmp/a/id && "
                        "echo second > /tmp/b/id && httpd -p 8080 -h /tmp/a && "
                        "exec httpd -f -p 8081 -h /tmp/b"],
            "ports": [{"port": 8080}, {"port": 8081, "publish": True}],
            "resources": {"memory_mb": 128, "cpus": 0.25}})
        urls = {p: endpoint(w, f"port-{p}")["url"].replace("tcp://", "http://") + "/id"
                for p in (8080, 8081)}
        self.assertEqual(wait_until(lambda: self._get(urls[8080]), 30, "port 8080"), "first")
        self.assertEqual(wait_until(lambda: self._get(urls[8081]), 30, "port 8081"), "second")

        # Only the port that asked is published, on the node's loopback, and the view says where.
        c = self.docker.containers(f"lattice.workload={w['id']}")[0]
        published = [(p["PrivatePort"], p["IP"]) for p in c["Ports"] if p.get("PublicPort")]
        self.assertEqual(published, [(8081, "127.0.0.1")])
        self.assertNotIn("node_port", endpoint(w, "port-8080"))
        node_port = endpoint(w, "port-8081")["node_port"]
        self.assertEqual([p["PublicPort"] for p in c["Ports"] if p.get("PublicPort")], [node_port])

        # The container is removed behind Lattice's back: the agent re-creates it (a new
        # address, maybe), and the same public endpoints reach the new one.
        old_id = c["Id"]
        self.docker.call("DELETE", f"/containers/{old_id}?force=1")
        wait_until(lambda: any(x["Id"] != old_id and x["State"] == "running" for x in
                               self.docker.containers(f"lattice.workload={w['id']}")),
                   60, "the container to be re-created")
        self.assertEqual(wait_until(lambda: self._get(urls[8080]), 60, "port 8080 again"),
                         "first")
        self.assertEqual(wait_until(lambda: self._get(urls[8081]), 30, "port 8081 again"),
                         "second")


if __name__ == "__main__":
    unittest.main()
