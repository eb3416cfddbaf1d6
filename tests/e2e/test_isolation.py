"""Tenant isolation and least privilege on a real Docker engine (issue 17).

Two users' workloads on one node: A's container cannot open a connection to B's (by address or
name), to services of the node itself, or to the Docker socket; A's two workloads reach each
other by name. Every template's container is confined as docs/security.md says; a process
inside cannot mknod, gain privileges or fork without bound. Sixty users all get networks.
"""

import json
import socket
import threading
import unittest

from harness import (BUSYBOX, Client, Docker, LatticeDev, skip_reason, wait_until, workload_ids)

REASON = skip_reason()
DEBIAN = "lattice/postgres:15"  # its entry point runs any command other than `postgres` as is


def fetch(host, port, path="/index.html"):
    """A bash one-liner that GETs http://host:port/path over /dev/tcp (3 s at most)."""
    return ["timeout", "3", "bash", "-c",
            f'exec 3<>/dev/tcp/{host}/{port} && printf "GET {path} HTTP/1.0\\r\\n\\r\\n" >&3 '
            f'&& cat <&3']


def exec_in(docker, container_id, cmd, timeout=60):
    """Runs `cmd` in the container (docker exec); returns (exit code, output)."""
    status, body = docker.call("POST", f"/containers/{container_id}/exec",
                               {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True})
    assert status == 201, (status, body)
    eid = body["Id"]
    status, raw = docker.call("POST", f"/exec/{eid}/start", {"Detach": False, "Tty": False})
    assert status == 200, (status, raw)
    out = b""
    raw = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    while len(raw) >= 8:  # the engine's multiplexed stream: 8-byte header, then the payload
        size = int.from_bytes(raw[4:8], "big")
        out += raw[8:8 + size]
        raw = raw[8 + size:]
    status, info = docker.call("GET", f"/exec/{eid}/json")
    assert status == 200, info
    return info["ExitCode"], out.decode(errors="replace")


def container_of(docker, wid):
    cs = docker.containers(f"lattice.workload={wid}")
    assert len(cs) == 1, cs
    status, info = docker.call("GET", f"/containers/{cs[0]['Id']}/json")
    assert status == 200, info
    return info


class Listener:
    """A TCP service of the node itself, on every address (as sshd or a TCP Docker API is)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                c.sendall(b"HTTP/1.0 200 OK\r\n\r\nnode-secret\n")
            finally:
                c.close()

    def close(self):
        self.sock.close()


@unittest.skipIf(REASON, REASON)
class IsolationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeDev("--allowed-capability", "CHOWN,NET_BIND_SERVICE,SETUID,SETGID").start()
        cls.docker = Docker()
        cls.alice = Client(cls.srv, "alice@example.com")
        cls.bob = Client(cls.srv, "bob@example.com")
        wait_until(lambda: cls.alice.call("GET", "/api/v1/nodes")[2]["items"] and
                   cls.alice.call("GET", "/api/v1/nodes")[2]["items"][0]["status"] == "ready",
                   30, "the embedded agent's node to be ready")
        httpd = {"template": "custom", "image": BUSYBOX,
                 "command": ["sh", "-c", "echo secret-of-$NAME > /tmp/index.html && "
                                         "exec httpd -f -p 8080 -h /tmp"],
                 "ports": [{"port": 8080}], "resources": {"memory_mb": 32}}
        cls.a_web = cls.alice.deploy({**httpd, "name": "web", "env": {"NAME": "alice"}})
        # A Debian userland (glibc resolves names; busybox-static's cannot), doing nothing.
        cls.a_shell = cls.alice.deploy({"name": "shell", "template": "custom", "image": DEBIAN,
                                        "command": ["sleep", "3600"],
                                        "resources": {"memory_mb": 64}})
        cls.b_web = cls.bob.deploy({**httpd, "name": "vault", "env": {"NAME": "bob"}})
        for c, w in ((cls.alice, cls.a_web), (cls.alice, cls.a_shell), (cls.bob, cls.b_web)):
            c.wait_status(w["id"], "running", timeout=120)

    @classmethod
    def tearDownClass(cls):
        ids = workload_ids(cls.alice, cls.bob)
        try:
            cls.srv.stop()
        finally:
            # Whatever a failed test left behind on the engine.
            for wid in ids:
                cls.docker.remove_labelled(f"lattice.workload={wid}")
            cls.srv.cleanup()

    def shell(self, *cmd, timeout=60):
        cid = container_of(self.docker, self.a_shell["id"])["Id"]
        return exec_in(self.docker, cid, list(cmd), timeout)

    def test_own_workloads_reach_each_other_by_name(self):
        code, out = self.shell(*fetch("web", 8080))
        self.assertEqual(code, 0, out)
        self.assertIn("secret-of-alice", out)

    def test_other_users_containers_are_unreachable_by_address_and_name(self):
        bob = container_of(self.docker, self.b_web["id"])
        addresses = list(bob["NetworkSettings"]["Networks"].values())
        self.assertEqual(len(addresses), 1, addresses)
        bob_ip = addresses[0]["IPAddress"]
        self.assertTrue(bob_ip)
        # The node itself reaches bob's container (tunnels and probes need that) ...
        with socket.create_connection((bob_ip, 8080), timeout=5) as s:
            s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            got = b""
            while chunk := s.recv(4096):
                got += chunk
            self.assertIn(b"secret-of-bob", got)
        # ... alice's container does not, by address or by name.
        code, out = self.shell(*fetch(bob_ip, 8080))
        self.assertNotEqual(code, 0, out)
        self.assertNotIn("secret-of-bob", out)
        code, out = self.shell(*fetch("vault", 8080))
        self.assertNotEqual(code, 0, out)
        self.assertNotIn("secret-of-bob", out)
        code, out = self.shell("getent", "hosts", "vault")
        self.assertNotEqual(code, 0, out)  # bob's names do not even resolve
        # The two users are on different networks, neither the engine's shared default bridge.
        alice_nets = set(container_of(self.docker, self.a_web["id"])["NetworkSettings"]["Networks"])
        bob_nets = set(bob["NetworkSettings"]["Networks"])
        self.assertFalse(alice_nets & bob_nets, (alice_nets, bob_nets))
        self.assertNotIn("bridge", alice_nets | bob_nets)

    def test_node_services_and_docker_socket_are_unreachable(self):
        info = container_of(self.docker, self.a_shell["id"])
        (net_name, net), = info["NetworkSettings"]["Networks"].items()
        gateway = net["Gateway"]
        self.assertTrue(gateway, net)
        listener = Listener()
        try:
            # The listener answers on the gateway address from the node: the firewall, not a
            # missing service, is what stops the container.
            with socket.create_connection((gateway, listener.port), timeout=5) as s:
                self.assertIn(b"node-secret", s.recv(4096))
            before = listener.accepted
            for host in (gateway, "127.0.0.1"):
                code, out = self.shell(*fetch(host, listener.port, "/"))
                self.assertNotEqual(code, 0, (host, out))
                self.assertNotIn("node-secret", out)
            self.assertEqual(listener.accepted, before)
        finally:
            listener.close()
        code, out = self.shell("ls", "/var/run/docker.sock", "/run/docker.sock",
                               "/run/lattice/docker.sock")
        self.assertNotEqual(code, 0, out)
        # The tenant's subnet is a small one from the agent's pool, not the engine's /16s.
        status, network = self.docker.call("GET", f"/networks/{net_name}")
        self.assertEqual(status, 200, network)
        subnet = network["IPAM"]["Config"][0]["Subnet"]
        self.assertTrue(subnet.startswith("10.213.") and subnet.endswith("/26"), subnet)

    def test_every_template_is_confined(self):
        pg = self.alice.deploy({"name": "pg", "template": "postgres"})
        s3 = self.alice.deploy({"name": "files", "template": "minio"})
        pg = self.alice.wait_status(pg["id"], "running", timeout=180)
        s3 = self.alice.wait_status(s3["id"], "running", timeout=180)
        expected_caps = {
            pg["id"]: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
            s3["id"]: [],
            self.a_web["id"]: ["NET_BIND_SERVICE"],
        }
        for wid, caps in expected_caps.items():
            info = container_of(self.docker, wid)
            h = info["HostConfig"]
            self.assertEqual(h["CapDrop"], ["ALL"], wid)
            self.assertEqual(sorted(h["CapAdd"] or []), sorted(caps), wid)
            self.assertIn("no-new-privileges:true", h["SecurityOpt"], wid)
            self.assertFalse(h["Privileged"], wid)
            self.assertEqual(h["PidsLimit"], 512, wid)
            self.assertGreater(h["Memory"], 0, wid)
            self.assertEqual(h["MemorySwap"], h["Memory"], wid)
            self.assertEqual(h["LogConfig"]["Type"], "json-file", wid)
            self.assertEqual(h["LogConfig"]["Config"].get("max-file"), "3", wid)
            self.assertTrue(h["LogConfig"]["Config"].get("max-size"), wid)
            self.assertNotIn(h["NetworkMode"], ("host", "bridge", "default"), wid)
            self.assertFalse(h.get("Binds"), wid)
            self.assertFalse(h.get("Devices"), wid)
        for wid in (pg["id"], s3["id"]):
            self.assertTrue(container_of(self.docker, wid)["HostConfig"]["ReadonlyRootfs"], wid)
        # Secrets are files, not environment: docker inspect shows no password.
        pg_env = "\n".join(container_of(self.docker, pg["id"])["Config"]["Env"])
        self.assertNotIn(pg["credentials"]["password"], pg_env)
        self.assertIn("POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password", pg_env)
        s3_env = "\n".join(container_of(self.docker, s3["id"])["Config"]["Env"])
        self.assertNotIn(s3["credentials"]["secret_key"], s3_env)
        # The memory limit the engine enforces is the one the request (and the quota) named.
        self.assertEqual(container_of(self.docker, self.a_shell["id"])["HostConfig"]["Memory"],
                         64 * 1024 * 1024)

    def test_processes_inside_cannot_mknod_escalate_or_fork_bomb(self):
        code, out = self.shell("mknod", "/tmp/mem", "c", "1", "1")
        self.assertNotEqual(code, 0, out)
        self.assertIn("Operation not permitted", out)
        code, out = self.shell("cat", "/proc/self/status")
        self.assertEqual(code, 0, out)
        fields = dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)
        self.assertEqual(fields["NoNewPrivs"].strip(), "1")
        # With NET_BIND_SERVICE the only capability, a setuid-root binary gains nothing more:
        # the bounding set holds that one bit (10) alone.
        self.assertEqual(int(fields["CapBnd"], 16), 1 << 10, fields["CapBnd"])
        self.assertEqual(int(fields["CapEff"], 16) & ~(1 << 10), 0, fields["CapEff"])
        # A fork bomb stops at the pids limit (memory is ample here) and the node survives it.
        # The children live long enough to pile up however slowly a loaded machine forks.
        forker = self.alice.deploy({"name": "forker", "template": "custom", "image": BUSYBOX,
                                    "command": ["sleep", "3600"],
                                    "resources": {"memory_mb": 512}})
        forker = self.alice.wait_status(forker["id"], "running", timeout=120)
        cid = container_of(self.docker, forker["id"])["Id"]
        code, out = exec_in(self.docker, cid, [
            "sh", "-c", "i=0; while [ $i -lt 700 ]; do sleep 300 & i=$((i+1)); done; echo started $i"],
            timeout=120)
        self.assertIn("can't fork", out.lower(), (code, out[-500:]))
        self.assertNotIn("started 700", out)
        self.assertEqual(self.alice.get(forker["id"])[2]["status"], "running")

    def test_image_admission_and_classified_pull_failures(self):
        for image in ("127.0.0.1:5000/x:1", "localhost:5000/x", "169.254.169.254/latest",
                      "images.example/someone/app:1"):
            status, headers, body = self.alice.call(
                "POST", "/api/v1/workloads",
                {"name": "bad", "template": "custom", "image": image})
            self.assertEqual(status, 403, (image, body))
            self.assertEqual(headers.get("Content-Type"), "application/problem+json")
            self.assertEqual(body["errors"][0]["field"], "image", body)
        w = self.alice.deploy({"name": "missing", "template": "custom",
                               "image": "lattice/does-not-exist:1"})
        w = self.alice.wait_status(w["id"], "failed", timeout=120)
        reason = w["status_reason"]
        self.assertIn("lattice/does-not-exist:1", reason)
        self.assertTrue(any(k in reason for k in ("not found", "unreachable", "authentication",
                                                  "could not be pulled")), reason)
        for engine_word in ("dial tcp", "Error response", "lookup", "manifest", "docker login",
                            "Get \"https"):
            self.assertNotIn(engine_word, reason)
        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")


@unittest.skipIf(REASON, REASON)
class ManyTenantsTest(unittest.TestCase):
    """Sixty users with a workload each on one node all get their own network."""

    USERS = 60

    def test_sixty_users_get_sixty_networks(self):
        srv = LatticeDev("--quota-workloads", "5").start()
        docker = Docker()
        clients, workloads = [], []
        try:
            for i in range(self.USERS):
                c = Client(srv, f"user{i}@example.com")
                clients.append(c)
                workloads.append(c.deploy({"name": "app", "template": "custom", "image": BUSYBOX,
                                           "command": ["sleep", "3600"],
                                           "resources": {"memory_mb": 16}}))
            for c, w in zip(clients, workloads):
                c.wait_status(w["id"], "running", timeout=300)
            nets = set()
            for w in workloads:
                info = container_of(docker, w["id"])
                nets |= set(info["NetworkSettings"]["Networks"])
            self.assertEqual(len(nets), self.USERS, nets)
            for c, w in zip(clients, workloads):
                self.assertEqual(c.call("DELETE", f"/api/v1/workloads/{w['id']}")[0], 202)
            for c, w in zip(clients, workloads):
                c.wait_gone(w["id"], timeout=120)
            # Networks go with their last workload.
            status, left = docker.call("GET", "/networks")
            self.assertEqual(status, 200)
            self.assertFalse([n["Name"] for n in left if n["Name"] in nets])
        finally:
            srv.stop()
            for w in workloads:
                docker.remove_labelled(f"lattice.workload={w['id']}")
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
