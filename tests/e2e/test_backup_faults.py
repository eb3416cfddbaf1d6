"""Backups when processes die (issue 19), with a separate `lattice agent` on the real engine:
kill -9 the agent during a backup — that backup ends `failed` (interrupted), never `succeeded`,
and the next one succeeds; kill -9 the server during a restore — after its restart the restore
completes: one whole workload with the data, no half one, no job container left behind.
"""

import datetime
import os
import subprocess
import sys
import time
import unittest

from harness import (IMAGES, Agent, Client, Docker, endpoint, psql, skip_reason, wait_until)
from lattice_server import LatticeServer

REASON = skip_reason()
S3CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "s3check.py")


def s3(ep, ak, sk, *args):
    return subprocess.run([sys.executable, S3CHECK, ep, ak, sk, *args], capture_output=True,
                          text=True, timeout=60).stdout


@unittest.skipIf(REASON, REASON)
class BackupFaultsTest(unittest.TestCase):
    def setUp(self):
        self.srv = LatticeServer(*IMAGES, "--heartbeat", "1", "--registration", "open").start()
        self.admin = Client(self.srv, "admin@example.com")
        self.docker = Docker()
        status, _, tok = self.admin.call("POST", "/api/v1/nodes/join-tokens")
        self.assertEqual(status, 201, tok)
        self.agent = Agent(self.srv.agent_url, tok["token"],
                           os.path.join(self.srv.tmp_dir, "node-a"), "--name", "node-a")
        self.agent.start()
        wait_until(lambda: [n for n in self.admin.call("GET", "/api/v1/nodes")[2]["items"]
                            if n["status"] == "ready"], 30, "the node to be ready")
        self.workloads = []

    def tearDown(self):
        self.agent.stop()
        for wid in self.workloads:
            for label in ("lattice.workload", "lattice.restore", "lattice.archiver"):
                self.docker.remove_labelled(f"{label}={wid}")
        try:
            self.srv.stop()
        finally:
            self.srv.cleanup()

    def backup(self, wid, bid):
        return self.admin.call("GET", f"/api/v1/workloads/{wid}/backups/{bid}")[2]

    def test_agent_killed_mid_backup_then_server_killed_mid_restore(self):
        files = self.admin.deploy({"name": "files", "template": "minio"})
        db = self.admin.deploy({"name": "db", "template": "postgres"})
        self.workloads += [files["id"], db["id"]]
        files = self.admin.wait_status(files["id"], "running", timeout=120)
        db = self.admin.wait_status(db["id"], "running", timeout=120)
        ak, sk = files["credentials"]["access_key"], files["credentials"]["secret_key"]
        hostport = f"127.0.0.1:{endpoint(files, 's3')['port']}"
        tried = []
        try:
            wait_until(lambda: tried.append(s3(hostport, ak, sk, "mkbucket", "pg-backups")) or
                       tried[-1].startswith("200"), 30, "the bucket through the edge")
        except AssertionError:
            raise AssertionError(f"{tried[-1:]} {files}\n{self.srv.output()[-3000:]}") from None
        psql(db["credentials"]["connection_string"],
             "CREATE TABLE t AS SELECT generate_series(1, 5000) AS id")
        status, _, target = self.admin.call("POST", "/api/v1/backup-targets",
                                            {"name": "own", "workload": "files",
                                             "bucket": "pg-backups"})
        self.assertEqual(status, 201, target)
        self.assertEqual(self.admin.call("PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
                                         {"target_id": target["id"], "verify": False})[0], 200)

        # kill -9 the agent while its backup job runs.
        status, _, first = self.admin.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 202, first)
        jobs = ("lattice.job", f"lattice.node={db['node_id']}")  # this node's, not other tests'
        wait_until(lambda: self.docker.containers(*jobs), 30, "the backup job container")
        self.agent.kill9()
        time.sleep(1)
        self.assertEqual(self.backup(db["id"], first["id"])["status"], "running")
        self.agent.start()
        failed = wait_until(lambda: (lambda b: b if b["status"] != "running" else None)(
            self.backup(db["id"], first["id"])), 60, "the interrupted backup to end")
        self.assertEqual((failed["status"], failed["error_code"]), ("failed", "interrupted"), failed)
        wait_until(lambda: not self.docker.containers(*jobs), 30,
                   "the dead agent's job container to be removed")
        status, _, second = self.admin.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 202, second)
        done = wait_until(lambda: (lambda b: b if b["status"] != "running" else None)(
            self.backup(db["id"], second["id"])), 120, "the next backup to end")
        self.assertEqual(done["status"], "succeeded", f"{done}\n{self.agent.output()}")
        # The late result of the killed job can never turn it into a success.
        self.assertEqual(self.backup(db["id"], first["id"])["status"], "failed")

        # kill -9 the server while the node restores: the agent carries on; after the restart
        # the one new workload runs with the data.
        status, _, restored = self.admin.call("POST", f"/api/v1/workloads/{db['id']}/restore",
                                              {"name": "db-restored", "backup_id": second["id"]})
        self.assertEqual(status, 202, restored)
        self.workloads.append(restored["id"])
        wait_until(lambda: self.docker.containers(f"lattice.restore={restored['id']}"), 60,
                   "the restore job container")
        port = self.srv.port
        self.srv.kill9()
        time.sleep(2)
        self.srv.listen = f"127.0.0.1:{port}"  # the agent dials the same address
        self.srv.start()
        restored = self.admin.wait_status(restored["id"], "running", timeout=240)
        self.assertEqual(psql(restored["credentials"]["connection_string"],
                              "SELECT count(*) FROM t"), "5000")
        names = [w["name"] for w in self.admin.call("GET", "/api/v1/workloads")[2]["items"]]
        self.assertEqual(sorted(names), ["db", "db-restored", "files"])
        self.assertEqual(len(self.docker.containers(f"lattice.workload={restored['id']}")), 1)
        self.assertEqual(self.docker.containers(f"lattice.restore={restored['id']}"), [])

        # A cron schedule fires on time across a server restart: its next firing is in the
        # store, and the restarted server starts it at that minute.
        if datetime.datetime.now(datetime.timezone.utc).second > 40:
            time.sleep(62 - datetime.datetime.now(datetime.timezone.utc).second)
        status, _, policy = self.admin.call(
            "PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
            {"target_id": target["id"], "verify": False, "cron": "* * * * *"})
        self.assertEqual(status, 200, policy)
        due = datetime.datetime.fromisoformat(policy["next_run_at"].replace("Z", "+00:00"))
        self.srv.kill9()
        self.srv.listen = f"127.0.0.1:{port}"
        self.srv.start()

        def scheduled():
            items = self.admin.call("GET", f"/api/v1/workloads/{db['id']}/backups")[2]["items"]
            return [b for b in items if b["trigger"] == "schedule"]
        fired = wait_until(scheduled, 120, "the scheduled backup after the restart")[-1]
        started = datetime.datetime.fromisoformat(fired["started_at"].replace("Z", "+00:00"))
        self.assertGreaterEqual(started, due, fired)
        self.assertLess((started - due).total_seconds(), 15, (fired, policy))
        self.assertNotEqual(fired["error_code"], "schedule-missed", fired)
        moved = self.admin.call("GET", f"/api/v1/workloads/{db['id']}/backup-policy")[2]
        self.assertGreater(moved["next_run_at"], policy["next_run_at"], moved)


if __name__ == "__main__":
    unittest.main()
