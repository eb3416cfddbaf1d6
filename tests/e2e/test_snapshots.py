"""Volume snapshots end to end (issue 19, point 7): `lattice dev` on the real Docker engine. An
S3 workload and a custom workload are backed up by the real tool image (lattice/pgtools:
`lattice-pgtool snapshot`, tar + zstd of their volumes) into the user's own S3 workload, verified
from the bucket, and restored into new workloads that hold the same data: the S3 objects read
back with the new workload's own keys, the custom workload's file is there again.
"""

import os
import subprocess
import sys
import unittest

from harness import (BUSYBOX, Client, Docker, endpoint, LatticeDev, skip_reason, wait_until,
                     workload_ids)

REASON = skip_reason()
S3CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "s3check.py")

OBJECTS = {"a.txt": "first object", "b.json": '{"n": 2}', "dir/c.txt": "nested key, third"}


def s3(ep, ak, sk, *args):
    r = subprocess.run([sys.executable, S3CHECK, ep, ak, sk, *args], capture_output=True,
                       text=True, timeout=60)
    return r.stdout


def s3_endpoint(w):
    return f"127.0.0.1:{endpoint(w, 's3')['port']}"


def keys(w):
    return w["credentials"]["access_key"], w["credentials"]["secret_key"]


@unittest.skipIf(REASON, REASON)
class SnapshotsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeDev().start()
        cls.docker = Docker()
        cls.alice = Client(cls.srv, "alice@example.com")
        cls.bob = Client(cls.srv, "bob@example.com")
        wait_until(lambda: cls.alice.call("GET", "/api/v1/nodes")[2]["items"] and
                   cls.alice.call("GET", "/api/v1/nodes")[2]["items"][0]["status"] == "ready",
                   30, "the embedded agent's node to be ready")
        # Where the snapshots go: another S3 workload of the same user, with a bucket.
        vault = cls.alice.deploy({"name": "vault", "template": "minio"})
        cls.vault = cls.alice.wait_status(vault["id"], "running")
        assert s3(s3_endpoint(cls.vault), *keys(cls.vault), "mkbucket", "snaps").startswith("200")
        status, _, cls.target = cls.alice.call("POST", "/api/v1/backup-targets",
                                               {"name": "vault", "workload": "vault",
                                                "bucket": "snaps"})
        assert status == 201, cls.target

    @classmethod
    def tearDownClass(cls):
        ids = workload_ids(cls.alice, cls.bob)
        try:
            cls.srv.stop()
        finally:
            for wid in ids:
                cls.docker.remove_labelled(f"lattice.workload={wid}")
            cls.docker.remove_labelled("lattice.job")
            cls.docker.remove_labelled("lattice.restore")
            cls.srv.cleanup()

    def call(self, *args, want=None):
        status, _, body = self.alice.call(*args)
        if want is not None:
            self.assertEqual(status, want, body)
        return body

    def snapshot(self, wid, what):
        """Sets a policy (verified), takes a snapshot now and waits until it is verified."""
        self.call("PUT", f"/api/v1/workloads/{wid}/backup-policy",
                  {"target_id": self.target["id"], "verify": True}, want=200)
        started = self.call("POST", f"/api/v1/workloads/{wid}/backups", want=202)
        self.assertEqual((started["kind"], started["status"]), ("volume", "running"), started)

        def verified():
            b = self.call("GET", f"/api/v1/workloads/{wid}/backups/{started['id']}", want=200)
            if b["status"] == "failed" or b["verification"]["status"] == "failed":
                raise AssertionError(f"{what}: {b}\n{self.srv.output()[-4000:]}")
            return b if b["verification"]["status"] == "verified" else None
        done = wait_until(verified, 240, f"{what} to be taken and verified")
        self.assertEqual(done["status"], "succeeded", done)
        self.assertGreater(done["size_bytes"], 0, done)
        wait_until(lambda: self.docker.containers("lattice.job") == [], 30,
                   "the job containers to be removed")
        return done

    def restore(self, source, snap, name):
        restored = self.call("POST", f"/api/v1/workloads/{source['id']}/restore",
                             {"name": name, "backup_id": snap["id"]}, want=202)
        self.assertNotEqual(restored["id"], source["id"])
        restored = self.alice.wait_status(restored["id"], "running", timeout=240)
        self.assertEqual(self.docker.containers("lattice.restore"), [])
        return restored

    def timeline(self, wid):
        return [e["message"] for e in self.call("GET", f"/api/v1/workloads/{wid}/events")["items"]]

    def test_an_s3_workloads_objects_come_back_in_a_new_workload(self):
        data = self.alice.deploy({"name": "photos", "template": "minio"})
        data = self.alice.wait_status(data["id"], "running")
        ep, (ak, sk) = s3_endpoint(data), keys(data)
        self.assertTrue(s3(ep, ak, sk, "mkbucket", "album").startswith("200"))
        for key, body in OBJECTS.items():
            self.assertTrue(s3(ep, ak, sk, "put", "album", key, body).startswith("200"), key)

        snap = self.snapshot(data["id"], "the S3 workload's snapshot")
        self.assertTrue(any(f"snapshot {snap['id']} verified" in m
                            for m in self.timeline(data["id"])), self.timeline(data["id"]))

        # Another user sees none of it: 404 on every snapshot route.
        wid, bid = data["id"], snap["id"]
        for method, path, body in (
                ("GET", f"/api/v1/workloads/{wid}/backups", None),
                ("POST", f"/api/v1/workloads/{wid}/backups", None),
                ("GET", f"/api/v1/workloads/{wid}/backups/{bid}", None),
                ("POST", f"/api/v1/workloads/{wid}/backups/{bid}/verify", None),
                ("GET", f"/api/v1/workloads/{wid}/backup-policy", None),
                ("POST", f"/api/v1/workloads/{wid}/restore", {"name": "mine", "backup_id": bid})):
            self.assertEqual(self.bob.call(method, path, body)[0], 404, (method, path))

        # A snapshot restores as taken: a time with a backup is refused, naming the field.
        status, _, problem = self.alice.call(
            "POST", f"/api/v1/workloads/{wid}/restore",
            {"name": "x", "backup_id": bid, "target_time": "2026-01-01T00:00:00Z"})
        self.assertEqual(status, 400, problem)
        self.assertIn("target_time", [e["field"] for e in problem.get("errors", [])], problem)

        copy = self.restore(data, snap, "photos-restored")
        (nak, nsk), nep = keys(copy), s3_endpoint(copy)
        self.assertNotEqual((nak, nsk), (ak, sk), "a restored workload gets its own keys")
        self.assertNotEqual(nep, ep)
        listing = s3(nep, nak, nsk, "list", "album")
        self.assertTrue(listing.startswith("200"), listing)
        for key, body in OBJECTS.items():
            self.assertIn(f"<Key>{key}</Key>", listing)
            got = s3(nep, nak, nsk, "get", "album", key)
            self.assertEqual(got, f"200\n{body}\n", key)
        self.assertFalse(s3(nep, ak, sk, "list", "album").startswith("200"),
                         "the source's keys do not open the restored workload")
        self.assertTrue(any(f"from snapshot {bid} of 'photos'" in m
                            for m in self.timeline(copy["id"])), self.timeline(copy["id"]))
        self.assertTrue(any(f"backup {bid} is being restored into new workload 'photos-restored'"
                            in m for m in self.timeline(wid)), self.timeline(wid))

        # A stopped S3 workload is snapshotted from its volume.
        self.call("POST", f"/api/v1/workloads/{wid}/stop", want=202)
        self.alice.wait_status(wid, "stopped")
        stopped = self.snapshot(wid, "the stopped S3 workload's snapshot")
        listed = self.call("GET", f"/api/v1/workloads/{wid}/backups", want=200)["items"]
        self.assertEqual([b["id"] for b in listed], [stopped["id"], bid])
        self.assertEqual({b["kind"] for b in listed}, {"volume"})

    def test_a_custom_workloads_volume_file_survives_snapshot_and_restore(self):
        # Writes a random note into its volume once; a restored copy finds it already there.
        app = self.alice.deploy({
            "name": "notes", "template": "custom", "image": BUSYBOX,
            "volumes": [{"name": "data", "path": "/srv/data"}],
            "command": ["sh", "-c", "test -f /srv/data/note || "
                        "cat /proc/sys/kernel/random/uuid > /srv/data/note; exec sleep 100000"]})
        app = self.alice.wait_status(app["id"], "running")
        note = wait_until(lambda: self.read(app, "/srv/data/note"), 30, "the note to be written")

        # Stopped first: a snapshot of a stopped workload is consistent.
        self.call("POST", f"/api/v1/workloads/{app['id']}/stop", want=202)
        self.alice.wait_status(app["id"], "stopped")
        snap = self.snapshot(app["id"], "the custom workload's snapshot")

        copy = self.restore(app, snap, "notes-restored")
        self.assertEqual(self.read(copy, "/srv/data/note"), note)
        self.assertTrue(self.docker.volume_exists(f"lattice-{copy['id']}-data"))

        # In place, confirmed by the name: the workload's own volume goes back to the snapshot,
        # the volume it replaced is removed once it runs again.
        self.call("POST", f"/api/v1/workloads/{app['id']}/start", want=202)
        self.alice.wait_status(app["id"], "running")
        self.exec(app, "echo changed-after-the-snapshot > /srv/data/note")
        self.assertEqual(self.read(app, "/srv/data/note"), "changed-after-the-snapshot")
        path = f"/api/v1/workloads/{app['id']}/restore"
        self.call("POST", path, {"in_place": True, "backup_id": snap["id"]}, want=400)
        same = self.call("POST", path, {"in_place": True, "confirm": "notes",
                                        "backup_id": snap["id"]}, want=202)
        self.assertEqual(same["id"], app["id"])
        self.alice.wait_status(app["id"], "running", timeout=240)
        self.assertEqual(self.read(app, "/srv/data/note"), note)
        wait_until(lambda: not self.docker.volume_exists(f"lattice-{app['id']}-data"), 60,
                   "the replaced volume to be removed")
        self.assertTrue(self.docker.volume_exists(f"lattice-{app['id']}-data.r1"))

        # Without a volume there is nothing to snapshot: refused with the reason.
        bare = self.alice.deploy({"name": "bare", "template": "custom", "image": BUSYBOX,
                                  "command": ["sleep", "100000"]})
        self.call("PUT", f"/api/v1/workloads/{bare['id']}/backup-policy",
                  {"target_id": self.target["id"]}, want=200)
        problem = self.call("POST", f"/api/v1/workloads/{bare['id']}/backups", want=409)
        self.assertIn("no volume", problem["detail"])

    def exec(self, w, script):
        r = subprocess.run(["docker", "exec", f"lattice-{w['id']}", "sh", "-c", script],
                           capture_output=True, text=True, timeout=30,
                           env={**os.environ, "DOCKER_HOST": os.environ.get(
                               "DOCKER_HOST", "unix:///var/run/docker.sock")})
        self.assertEqual(r.returncode, 0, r.stderr)

    def read(self, w, path):
        r = subprocess.run(["docker", "exec", f"lattice-{w['id']}", "cat", path],
                           capture_output=True, text=True, timeout=30,
                           env={**os.environ, "DOCKER_HOST": os.environ.get(
                               "DOCKER_HOST", "unix:///var/run/docker.sock")})
        return r.stdout.strip() if r.returncode == 0 else None


if __name__ == "__main__":
    unittest.main()
