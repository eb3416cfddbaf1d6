"""PostgreSQL backups end to end (issue 19): `lattice dev` on the real Docker engine, a real
PostgreSQL workload backed up by the real tool image (lattice/pgtools: pg_basebackup + rclone)
into the user's own S3 workload, then verified by restoring it into a throw-away container.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (Client, Docker, LatticeDev, endpoint, lattice_bin, psql, skip_reason,
                     wait_until)

REASON = skip_reason()
S3CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "s3check.py")


def s3(ep, ak, sk, *args):
    r = subprocess.run([sys.executable, S3CHECK, ep, ak, sk, *args], capture_output=True,
                       text=True, timeout=60)
    return r.stdout


@unittest.skipIf(REASON, REASON)
class BackupsTest(unittest.TestCase):
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
        try:
            cls.srv.stop()
        finally:
            for c in (cls.alice, cls.bob):
                for w in c.call("GET", "/api/v1/workloads")[2]["items"] if cls.srv.running else []:
                    cls.docker.remove_labelled(f"lattice.workload={w['id']}")
            cls.docker.remove_labelled("lattice.job")
            cls.srv.cleanup()

    def wait_backup(self, wid, bid, pred, what, timeout=240):
        def check():
            status, _, b = self.alice.call("GET", f"/api/v1/workloads/{wid}/backups/{bid}")
            self.assertEqual(status, 200, b)
            return b if pred(b) else None
        try:
            return wait_until(check, timeout, what)
        except AssertionError:
            listed = self.alice.call("GET", f"/api/v1/workloads/{wid}/backups")[2]
            raise AssertionError(f"{what}: {listed}\n{self.srv.output()[-4000:]}") from None

    def test_backup_to_own_s3_is_verified_and_failures_name_their_cause(self):
        files = self.alice.deploy({"name": "files", "template": "minio"})
        db = self.alice.deploy({"name": "db", "template": "postgres"})
        files = self.alice.wait_status(files["id"], "running")
        db = self.alice.wait_status(db["id"], "running")
        ak, sk = files["credentials"]["access_key"], files["credentials"]["secret_key"]
        hostport = f"127.0.0.1:{endpoint(files, 's3')['port']}"
        self.assertTrue(s3(hostport, ak, sk, "mkbucket", "pg-backups").startswith("200"))
        conn = db["credentials"]["connection_string"]
        psql(conn, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 25);"
                   "CREATE TABLE u (s text); INSERT INTO u VALUES ('a'), ('b');")

        # No policy yet: refused with the reason.
        status, _, body = self.alice.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 409, body)
        self.assertIn("policy", body["detail"])

        status, _, target = self.alice.call("POST", "/api/v1/backup-targets",
                                            {"name": "own", "workload": "files",
                                             "bucket": "pg-backups"})
        self.assertEqual(status, 201, target)
        self.assertEqual(target["kind"], "workload")
        status, _, policy = self.alice.call("PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
                                            {"target_id": target["id"], "verify": True})
        self.assertEqual(status, 200, policy)

        status, _, started = self.alice.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 202, started)
        self.assertEqual(started["status"], "running")
        done = self.wait_backup(db["id"], started["id"], lambda b: b["status"] != "running",
                                "the backup to end")
        self.assertEqual(done["status"], "succeeded", done)
        self.assertGreater(done["size_bytes"], 0)
        self.assertTrue(done["end_lsn"])
        # Proven by restoring it: every user table read, exactly the rows that were there.
        proof = self.wait_backup(db["id"], started["id"],
                                 lambda b: b["verification"]["status"] != "pending",
                                 "the backup's verification")
        v = proof["verification"]
        self.assertEqual(v["status"], "verified", f"{proof}\n{self.srv.output()[-6000:]}")
        self.assertEqual((v["tables"], v["rows"]), (2, 27), proof)
        self.assertIsNotNone(v["verified_at"])
        # The throw-away containers are gone, and none published a port.
        wait_until(lambda: self.docker.containers("lattice.job") == [], 30,
                   "the job containers to be removed")
        timeline = [e["message"] for e in
                    self.alice.call("GET", f"/api/v1/workloads/{db['id']}/events")[2]["items"]]
        self.assertTrue(any(f"backup {started['id']} verified" in m for m in timeline), timeline)

        # Another user sees none of it.
        for path in (f"/api/v1/workloads/{db['id']}/backups",
                     f"/api/v1/workloads/{db['id']}/backups/{started['id']}",
                     f"/api/v1/workloads/{db['id']}/backup-policy"):
            self.assertEqual(self.bob.call("GET", path)[0], 404, path)
        self.assertEqual(self.bob.call("GET", "/api/v1/backup-targets")[2]["items"], [])

        # The CLI, as a script would use it: schedule, back up and wait, list (JSON).
        with tempfile.TemporaryDirectory() as cfg:
            def cli(*args):
                env = {**os.environ, "LATTICE_SERVER": self.srv.base_url,
                       "LATTICE_TOKEN": self.alice.token, "XDG_CONFIG_HOME": cfg}
                r = subprocess.run([lattice_bin(), *args], capture_output=True, text=True,
                                   env=env, timeout=300, stdin=subprocess.DEVNULL)
                return r.returncode, r.stdout, r.stderr
            rc, out, err = cli("backup", "schedule", "db", "--target", "own", "--keep", "5",
                               "-o", "json")
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out)["keep_count"], 5)
            rc, out, err = cli("backup", "now", "db", "--wait", "-o", "json")
            self.assertEqual(rc, 0, err)
            waited = json.loads(out)
            self.assertEqual((waited["status"], waited["verification"]["status"]),
                             ("succeeded", "verified"), waited)
            rc, out, err = cli("backup", "ls", "db", "-o", "json")
            self.assertEqual(rc, 0, err)
            self.assertEqual([b["id"] for b in json.loads(out)], [waited["id"], started["id"]])
            rc, out, err = cli("backup", "target", "rm", "own")
            self.assertEqual(rc, 1, out)  # a policy still uses it
            self.assertIn("policy", err)
            rc, out, err = cli("backup", "ls", "nosuchdb")
            self.assertEqual(rc, 1)
            self.assertIn("no workload named 'nosuchdb'", err)

        # Wrong keys: the backup fails and says why.
        status, _, bad = self.alice.call("POST", "/api/v1/backup-targets",
                                         {"name": "wrong-keys", "endpoint": "http://files:9000",
                                          "bucket": "pg-backups", "access_key": ak,
                                          "secret_key": "not-the-secret"})
        self.assertEqual(status, 201, bad)
        self.assertEqual(self.alice.call("PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
                                         {"target_id": bad["id"]})[0], 200)
        status, _, second = self.alice.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 202, second)
        failed = self.wait_backup(db["id"], second["id"], lambda b: b["status"] != "running",
                                  "the backup with wrong keys to end")
        self.assertEqual(failed["status"], "failed", failed)
        self.assertEqual(failed["error_code"], "target-auth", failed)
        self.assertEqual(failed["verification"]["status"], "skipped")

        # /metrics says it too (alice, the first account, is the administrator).
        status, _, text = self.alice.call("GET", "/metrics")
        self.assertEqual(status, 200)
        series = {}
        for line in text.splitlines():
            if line.startswith("lattice_backup_") and f'workload="{db["id"]}"' in line:
                series[line.split("{")[0]] = int(line.rsplit(" ", 1)[1])
        self.assertGreater(series.get("lattice_backup_last_success_timestamp_seconds", 0),
                           time.time() - 600, series)
        self.assertGreater(series.get("lattice_backup_last_verified_timestamp_seconds", 0),
                           time.time() - 600, series)
        self.assertEqual(series.get("lattice_backup_failed"), 1, series)  # the wrong keys


if __name__ == "__main__":
    unittest.main()
