"""Workloads end to end: `lattice dev` (server + embedded agent) on the real Docker engine,
deploying the real images, and connecting with real clients (psql, an S3 SigV4 client, HTTP).
"""

import http.client
import os
import subprocess
import sys
import time
import unittest

from harness import (BUSYBOX, Client, Docker, endpoint, http_get, LatticeDev, psql, skip_reason,
                     wait_until, workload_ids)

REASON = skip_reason()
S3CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "s3check.py")


def s3(ep, ak, sk, *args):
    r = subprocess.run([sys.executable, S3CHECK, ep, ak, sk, *args], capture_output=True,
                       text=True, timeout=60)
    return r.stdout


@unittest.skipIf(REASON, REASON)
class WorkloadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeDev().start()
        cls.docker = Docker()
        cls.alice = Client(cls.srv, "alice@example.com")
        cls.bob = Client(cls.srv, "bob@example.com")
        wait_until(lambda: cls.alice.call("GET", "/api/v1/nodes")[2]["items"] and
                   cls.alice.call("GET", "/api/v1/nodes")[2]["items"][0]["status"] == "ready",
                   30, "the embedded agent's node to be ready")

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

    def test_postgres_connect_persist_delete(self):
        w = self.alice.deploy({"name": "pg", "template": "postgres"})
        # Placed at once on the ready node; the agent may already have begun.
        self.assertIn(w["status"], ("scheduled", "creating"))
        self.assertIsNotNone(w["node_id"])
        w = self.alice.wait_status(w["id"], "running")
        creds = w["credentials"]
        for k in ("username", "password", "database", "connection_string"):
            self.assertTrue(creds.get(k), k)
        ep = endpoint(w, "postgres")
        self.assertEqual(ep["host"], "127.0.0.1")
        self.assertEqual(creds["connection_string"],
                         f"postgres://{creds['username']}:{creds['password']}@127.0.0.1:{ep['port']}/"
                         f"{creds['database']}")
        cs = creds["connection_string"]
        self.assertEqual(psql(cs, "select 40 + 2"), "42")

        # Secrets at rest: no file of the data dir holds the generated password in clear.
        for root, _, files in os.walk(self.srv.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(creds["password"].encode(), f.read(), name)

        # The logs hold the database server's own start-up lines.
        status, _, text = self.alice.call("GET", f"/api/v1/workloads/{w['id']}/logs?tail=500")
        self.assertEqual(status, 200, text)
        self.assertIn("database system is ready to accept connections", text)
        psql(cs, "create table notes(t text); insert into notes values ('kept')")

        self.assertEqual(self.alice.call("POST", f"/api/v1/workloads/{w['id']}/stop")[0], 202)
        self.alice.wait_status(w["id"], "stopped", timeout=60)
        self.assertEqual(self.alice.call("POST", f"/api/v1/workloads/{w['id']}/start")[0], 202)
        w = self.alice.wait_status(w["id"], "running")
        self.assertEqual(psql(w["credentials"]["connection_string"], "select t from notes"), "kept")

        # The timeline tells the story.
        status, _, ev = self.alice.call("GET", f"/api/v1/workloads/{w['id']}/events")
        self.assertEqual(status, 200)
        seen = [e["status"] for e in ev["items"]]
        for s in ("pending", "scheduled", "creating", "starting", "running", "stopped"):
            self.assertIn(s, seen)

        self.assertEqual(self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")[0], 202)
        self.alice.wait_gone(w["id"])
        self.assertEqual(self.docker.containers(f"lattice.workload={w['id']}"), [])
        self.assertFalse(self.docker.volume_exists(f"lattice-{w['id']}-data"))

    def test_s3_put_and_get_with_returned_keys(self):
        w = self.alice.deploy({"name": "files", "template": "minio"})
        w = self.alice.wait_status(w["id"], "running")
        ak, sk = w["credentials"]["access_key"], w["credentials"]["secret_key"]
        ep = endpoint(w, "s3")
        self.assertEqual(w["credentials"]["endpoint"], f"http://127.0.0.1:{ep['port']}")
        hostport = f"127.0.0.1:{ep['port']}"
        self.assertTrue(s3(hostport, ak, sk, "mkbucket", "photos").startswith("200"))
        self.assertTrue(s3(hostport, ak, sk, "put", "photos", "cat.txt", "meow").startswith("200"))
        self.assertIn("meow", s3(hostport, ak, sk, "get", "photos", "cat.txt"))
        self.assertTrue(s3(hostport, ak, "wrong-secret", "get", "photos", "cat.txt").startswith("403"))
        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")
        self.alice.wait_gone(w["id"])

    def test_custom_image_env_port_and_logs(self):
        w = self.alice.deploy({
            "name": "web", "template": "custom", "image": BUSYBOX,
            "env": {"GREETING": "hello from lattice"},
            "command": ["sh", "-c", 'echo "$GREETING" > /tmp/index.html; echo web-started; '
                        'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done & '
                        'exec httpd -f -p 8080 -h /tmp'],
            "ports": [{"port": 8080, "protocol": "tcp"}],
            "resources": {"memory_mb": 64, "cpus": 0.5}})
        w = self.alice.wait_status(w["id"], "running")
        ep = endpoint(w)
        self.assertEqual(ep["container_port"], 8080)
        status, body = http_get(ep["url"].replace("tcp://", "http://") + "/index.html")
        self.assertEqual((status, body.strip()), (200, b"hello from lattice"))

        # Limits were applied on the engine.
        c = self.docker.containers(f"lattice.workload={w['id']}")[0]
        _, info = self.docker.call("GET", f"/containers/{c['Id']}/json")
        self.assertEqual(info["HostConfig"]["Memory"], 64 * 1024 * 1024)
        self.assertEqual(info["HostConfig"]["NanoCpus"], 500_000_000)
        # Reached through the edge on the container's own address: no host port unless asked.
        self.assertNotIn("8080/tcp", info["HostConfig"]["PortBindings"] or {})
        self.assertNotIn("node_port", ep)

        status, headers, text = self.alice.call("GET", f"/api/v1/workloads/{w['id']}/logs?tail=1000")
        self.assertEqual(status, 200, text)
        self.assertIn("web-started", text)
        last = max(int(l.split()[1]) for l in text.splitlines() if l.startswith("tick "))

        # follow=true: an event stream that delivers lines printed after it began.
        conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=15)
        conn.request("GET", f"/api/v1/workloads/{w['id']}/logs?tail=0&follow=true",
                     headers={"Authorization": f"Bearer {self.alice.token}"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.headers["Content-Type"].startswith("text/event-stream"))
        newer = None
        deadline = time.monotonic() + 15
        while newer is None and time.monotonic() < deadline:
            line = resp.fp.readline().decode().strip()
            if line.startswith("data: tick "):
                n = int(line.split()[2])
                if n > last:
                    newer = n
        conn.close()
        self.assertIsNotNone(newer, "follow delivered no new line")
        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")
        self.alice.wait_gone(w["id"])

    def test_other_users_workload_is_404_everywhere(self):
        w = self.alice.deploy({"name": "private", "template": "custom", "image": BUSYBOX,
                               "command": ["sleep", "600"]})
        wid = w["id"]
        for method, path in (("GET", f"/api/v1/workloads/{wid}"),
                             ("POST", f"/api/v1/workloads/{wid}/stop"),
                             ("POST", f"/api/v1/workloads/{wid}/start"),
                             ("DELETE", f"/api/v1/workloads/{wid}"),
                             ("GET", f"/api/v1/workloads/{wid}/events"),
                             ("GET", f"/api/v1/workloads/{wid}/logs"),
                             ("GET", f"/api/v1/workloads/{wid}/logs?follow=true")):
            status, headers, body = self.bob.call(method, path)
            self.assertEqual(status, 404, f"{method} {path}: {body}")
            self.assertEqual(headers["Content-Type"], "application/problem+json")
        ids = [x["id"] for x in self.bob.call("GET", "/api/v1/workloads")[2]["items"]]
        self.assertNotIn(wid, ids)
        self.assertEqual(self.srv.request("GET", f"/api/v1/workloads/{wid}")[0], 401)
        self.alice.call("DELETE", f"/api/v1/workloads/{wid}")
        self.alice.wait_gone(wid)

    def test_bad_input_is_400_with_fields(self):
        cases = [
            ({"name": "Bad_Name", "template": "postgres"}, "name"),
            ({"name": "x" * 64, "template": "postgres"}, "name"),
            ({"name": "ok", "template": "mysql"}, "template"),
            ({"name": "ok", "template": "custom"}, "image"),
            ({"name": "ok", "template": "custom", "image": "bad image"}, "image"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX, "env": {"1X": "v"}}, "env.1X"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX, "ports": [{"port": 0}]},
             "ports[0].port"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX, "ports": [{"port": 70000}]},
             "ports[0].port"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX,
              "ports": [{"port": 80, "protocol": "sctp"}]}, "ports[0].protocol"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX,
              "resources": {"memory_mb": 1}}, "resources.memory_mb"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX,
              "resources": {"cpus": "lots"}}, "resources.cpus"),
            ({"name": 5, "template": "custom"}, "name"),
            ({"name": "ok", "template": "custom", "image": BUSYBOX, "surprise": 1}, "surprise"),
        ]
        for spec, field in cases:
            status, headers, body = self.alice.call("POST", "/api/v1/workloads", spec)
            self.assertEqual(status, 400, f"{spec}: {body}")
            self.assertIn(field, [e["field"] for e in body["errors"]], f"{spec}: {body}")
        self.alice.deploy({"name": "twice", "template": "custom", "image": BUSYBOX,
                           "command": ["sleep", "600"]})
        status, _, body = self.alice.call("POST", "/api/v1/workloads",
                                          {"name": "twice", "template": "postgres"})
        self.assertEqual(status, 409, body)
        status, _, body = self.alice.call("POST", "/api/v1/workloads/wl_nope/stop")
        self.assertEqual(status, 404, body)
        # Nothing half-written: still exactly one "twice".
        names = [x["name"] for x in self.alice.call("GET", "/api/v1/workloads")[2]["items"]]
        self.assertEqual(names.count("twice"), 1)
        wid = next(x["id"] for x in self.alice.call("GET", "/api/v1/workloads")[2]["items"]
                   if x["name"] == "twice")
        self.alice.call("DELETE", f"/api/v1/workloads/{wid}")
        self.alice.wait_gone(wid)

    def test_missing_image_fails_with_a_readable_reason(self):
        w = self.alice.deploy({"name": "ghost", "template": "custom",
                               "image": "lattice/does-not-exist:1"})
        w = self.alice.wait_status(w["id"], "failed", timeout=60)
        self.assertIn("lattice/does-not-exist:1", w["status_reason"])
        # Starting a failed workload again is a retry: a new generation, and it fails again.
        status, _, again = self.alice.call("POST", f"/api/v1/workloads/{w['id']}/start")
        self.assertEqual(status, 202, again)
        self.assertEqual(again["generation"], w["generation"] + 1)
        self.alice.wait_status(w["id"], "failed", timeout=60)
        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")
        self.alice.wait_gone(w["id"])

    def test_exiting_container_is_failed_with_its_exit_code(self):
        w = self.alice.deploy({"name": "crasher", "template": "custom", "image": BUSYBOX,
                               "command": ["sh", "-c", "echo bye; exit 3"]})
        w = self.alice.wait_status(w["id"], "failed", timeout=60)
        self.assertIn("3", w["status_reason"])
        self.alice.call("DELETE", f"/api/v1/workloads/{w['id']}")
        self.alice.wait_gone(w["id"])


if __name__ == "__main__":
    unittest.main()
