"""PostgreSQL backups end to end (issue 19): `lattice dev` on the real Docker engine, a real
PostgreSQL workload backed up by the real tool image (lattice/pgtools: pg_basebackup + rclone)
into the user's own S3 workload, then verified by restoring it into a throw-away container,
and restored into a new workload with new credentials.
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (Client, Docker, endpoint, lattice_bin, LatticeDev, psql, skip_reason,
                     wait_until, workload_ids)

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
        ids = workload_ids(cls.alice, cls.bob)
        try:
            cls.srv.stop()
        finally:
            # Whatever a failed test left behind on the engine.
            for wid in ids:
                cls.docker.remove_labelled(f"lattice.workload={wid}")
            cls.docker.remove_labelled("lattice.job")
            cls.docker.remove_labelled("lattice.restore")
            cls.docker.remove_labelled("lattice.archiver")
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
        # Checked before the answer: a probe object written, read back and deleted.
        self.assertEqual(target["probe"]["status"], "passed", target)
        self.assertTrue(target["probe"]["checked_at"], target)
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
        # (Only this node's: other tests' agents may share the engine.)
        wait_until(lambda: self.docker.containers("lattice.job",
                                                  f"lattice.node={db['node_id']}") == [], 30,
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
        cfg = self.enterContext(tempfile.TemporaryDirectory())
        def cli(*args):
            env = {**os.environ, "LATTICE_SERVER": self.srv.base_url,
                   "LATTICE_TOKEN": self.alice.token, "XDG_CONFIG_HOME": cfg}
            r = subprocess.run([lattice_bin(), *args], capture_output=True, text=True,
                               env=env, timeout=300, stdin=subprocess.DEVNULL)
            return r.returncode, r.stdout, r.stderr
        # A cron schedule (UTC): echoed back, next run at the next 02:30; a bad one names the
        # field; --cron and --every together are a usage error.
        rc, out, err = cli("backup", "schedule", "db", "--target", "own", "--cron",
                           "30 2 * * *", "-o", "json")
        self.assertEqual(rc, 0, err)
        policy = json.loads(out)
        self.assertEqual((policy["cron"], policy["interval_seconds"]), ("30 2 * * *", 0))
        nxt = datetime.datetime.fromisoformat(policy["next_run_at"].replace("Z", "+00:00"))
        self.assertEqual((nxt.hour, nxt.minute, nxt.second), (2, 30, 0), policy)
        self.assertLess(nxt - datetime.datetime.now(datetime.timezone.utc),
                        datetime.timedelta(days=1))
        status, _, problem = self.alice.call(
            "PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
            {"target_id": policy["target_id"], "cron": "61 * * * *"})
        self.assertEqual(status, 400, problem)
        self.assertIn("minute", {e["field"]: e["message"] for e in problem["errors"]}["cron"])
        rc, out, err = cli("backup", "schedule", "db", "--target", "own", "--cron", "@daily",
                           "--every", "3600")
        self.assertEqual(rc, 2, err)
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
        rc, out, err = cli("backup", "restore", "db", "--as", "db-copy")
        self.assertEqual(rc, 2, err)  # neither a backup nor a time
        self.assertIn("--backup", err)
        rc, out, err = cli("backup", "ls", "nosuchdb")
        self.assertEqual(rc, 1)
        self.assertIn("no workload named 'nosuchdb'", err)

        self.restore_into_a_new_workload(db, started)
        self.recover_to_a_moment(db, hostport, ak, sk, cli)
        self.a_damaged_backup_fails_verification(db, started, hostport, ak, sk, cli)
        self.restore_in_place(db, waited, hostport, ak, sk, cli)

        # The node said its archiver runs (once it ran a minute): the policy and the timeline
        # show it.
        policy_path = f"/api/v1/workloads/{db['id']}/backup-policy"
        wait_until(lambda: self.alice.call("GET", policy_path)[2]["archiving"]["state"]
                   == "archiving", 120, "the node to say WAL archiving runs")
        self.assertIn("continuous WAL archiving is running", self.timeline(db["id"]))

        # Wrong keys: refused when the target is added, naming the cause and the field…
        wrong = {"name": "wrong-keys", "endpoint": "http://files:9000", "bucket": "pg-backups",
                 "access_key": ak, "secret_key": "not-the-secret"}
        status, _, refused = self.alice.call("POST", "/api/v1/backup-targets", wrong)
        self.assertEqual(status, 400, refused)
        self.assertIn("target-auth", refused["detail"], refused)
        self.assertEqual([e["field"] for e in refused.get("errors", [])], ["secret_key"], refused)
        names = [t["name"] for t in self.alice.call("GET", "/api/v1/backup-targets")[2]["items"]]
        self.assertNotIn("wrong-keys", names)  # not kept
        # …and, saved without the check, its backup fails and says why.
        status, _, bad = self.alice.call("POST", "/api/v1/backup-targets",
                                         {**wrong, "check": False})
        self.assertEqual(status, 201, bad)
        self.assertEqual(bad["probe"]["status"], "untested", bad)
        status, _, rechecked = self.alice.call("POST", f"/api/v1/backup-targets/{bad['id']}/check")
        self.assertEqual(status, 200, rechecked)
        self.assertEqual(rechecked["probe"]["status"], "failed", rechecked)
        self.assertTrue(rechecked["probe"]["message"].startswith("target-auth"), rechecked)
        self.assertEqual(self.alice.call("PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
                                         {"target_id": bad["id"]})[0], 200)
        status, _, second = self.alice.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 202, second)
        failed = self.wait_backup(db["id"], second["id"], lambda b: b["status"] != "running",
                                  "the backup with wrong keys to end")
        self.assertEqual(failed["status"], "failed", failed)
        self.assertEqual(failed["error_code"], "target-auth", failed)
        self.assertEqual(failed["verification"]["status"], "skipped")
        # The archiver, now writing with those keys, fails too: the node says so with the cause.
        def archiving_fails():
            a = self.alice.call("GET", policy_path)[2]["archiving"]
            return a["state"] == "failing" and a["message"].startswith("target-auth") and a
        failing = wait_until(archiving_fails, 120, "the node to say WAL archiving fails")
        self.assertIn("continuous WAL archiving is failing: " + failing["message"],
                      self.timeline(db["id"]))

        # A bucket that is not there: the cause is named too.
        status, _, refused = self.alice.call("POST", "/api/v1/backup-targets",
                                             {"name": "no-bucket", "workload": "files",
                                              "bucket": "never-made"})
        self.assertEqual(status, 400, refused)
        self.assertIn("bucket-missing", refused["detail"], refused)
        status, _, gone = self.alice.call("POST", "/api/v1/backup-targets",
                                          {"name": "no-bucket", "workload": "files",
                                           "bucket": "never-made", "check": False})
        self.assertEqual(status, 201, gone)
        self.assertEqual(self.alice.call("PUT", f"/api/v1/workloads/{db['id']}/backup-policy",
                                         {"target_id": gone["id"]})[0], 200)
        status, _, third = self.alice.call("POST", f"/api/v1/workloads/{db['id']}/backups")
        self.assertEqual(status, 202, third)
        failed = self.wait_backup(db["id"], third["id"], lambda b: b["status"] != "running",
                                  "the backup to a missing bucket to end")
        self.assertEqual((failed["status"], failed["error_code"]), ("failed", "bucket-missing"),
                         failed)

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
        self.assertEqual(series.get("lattice_backup_failed"), 3, series)  # damaged, keys, bucket
        self.assertEqual(series.get("lattice_backup_wal_archiving"), 0, series)  # bucket gone

    def timeline(self, wid):
        return [e["message"] for e in
                self.alice.call("GET", f"/api/v1/workloads/{wid}/events")[2]["items"]]

    def restore_into_a_new_workload(self, db, backup):
        """A backup restored into a new workload: the same rows, its own endpoint, new credentials
        (the old password does not open it), and both timelines say what happened."""
        path = f"/api/v1/workloads/{db['id']}/restore"
        for body, field in (({"name": "x"}, "backup_id"),
                            ({"name": "x", "target_time": "yesterday"}, "target_time"),
                            ({"name": "x", "target_time": "2999-01-01T00:00:00Z"}, "target_time"),
                            ({"name": "Bad Name", "backup_id": backup["id"]}, "name")):
            status, _, problem = self.alice.call("POST", path, body)
            self.assertEqual(status, 400, problem)
            self.assertIn(field, [e["field"] for e in problem.get("errors", [])], problem)
        self.assertEqual(self.bob.call("POST", path, {"name": "mine", "backup_id": backup["id"]})[0],
                         404)
        # Old enough to come before any backup: nothing to recover from.
        status, _, problem = self.alice.call("POST", path, {"name": "x",
                                                           "target_time": "2020-01-01T00:00:00Z"})
        self.assertEqual(status, 409, problem)

        status, _, restored = self.alice.call("POST", path, {"name": "db-restored",
                                                            "backup_id": backup["id"]})
        self.assertEqual(status, 202, restored)
        self.assertNotEqual(restored["id"], db["id"])
        restored = self.alice.wait_status(restored["id"], "running", timeout=240)
        old, new = db["credentials"], restored["credentials"]
        self.assertEqual((new["username"], new["database"]), (old["username"], old["database"]))
        self.assertNotEqual(new["password"], old["password"])
        self.assertNotEqual(endpoint(restored, "postgres")["port"], endpoint(db, "postgres")["port"])
        conn = new["connection_string"]
        self.assertEqual(psql(conn, "SELECT (SELECT count(*) FROM t) || ',' || (SELECT count(*) FROM u)"),
                         "25,2")
        with_old = conn.replace(new["password"], old["password"])
        r = subprocess.run(["psql", with_old, "-X", "-c", "SELECT 1"], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0, "the source's password must not open the restore")
        self.assertIn("password authentication failed", r.stderr)
        # The restore job's container is gone.
        self.assertEqual(self.docker.containers(f"lattice.restore={restored['id']}"), [])

        def timeline(wid):
            return [e["message"] for e in
                    self.alice.call("GET", f"/api/v1/workloads/{wid}/events")[2]["items"]]
        self.assertTrue(any(f"backup {backup['id']} is being restored into new workload 'db-restored'"
                            in m for m in timeline(db["id"])), timeline(db["id"]))
        self.assertTrue(any(f"from backup {backup['id']} of 'db'" in m for m in timeline(restored["id"])),
                        timeline(restored["id"]))
        self.assertTrue(any("restoring backup" in m for m in timeline(restored["id"])),
                        timeline(restored["id"]))
        status, _, _ = self.alice.call("DELETE", f"/api/v1/workloads/{restored['id']}")
        self.assertEqual(status, 202)

    def recover_to_a_moment(self, db, hostport, ak, sk, cli):
        """Point-in-time recovery through the API: the WAL archiver beside the database streamed
        every change to the bucket, so a restore to a moment between two inserts has exactly the
        rows of the first."""
        conn = db["credentials"]["connection_string"]
        psql(conn, "INSERT INTO t SELECT generate_series(26, 40)")
        moment = psql(conn, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        time.sleep(1.5)
        psql(conn, "INSERT INTO t SELECT generate_series(41, 100); DROP TABLE u")
        when = datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))

        def covered():  # the archiver confirmed the archive complete past the moment
            status, _, body = s3(hostport, ak, sk, "get", "pg-backups",
                                 f"{db['id']}/archiver.json").partition("\n")
            if not status.startswith("200"):
                return None
            until = json.loads(body).get("covered_until")
            return until and datetime.datetime.fromisoformat(until.replace("Z", "+00:00")) >= when
        try:
            wait_until(covered, 120, "the WAL archiver to confirm the archive past the moment")
        except AssertionError as e:
            state = s3(hostport, ak, sk, "get", "pg-backups", f"{db['id']}/archiver.json")
            raise AssertionError(f"{e}\narchiver.json: {state}\n{self.srv.output()}") from None

        # Through the CLI, as a script would: it returns once the restore runs.
        rc, out, err = cli("backup", "restore", "db", "--as", "db-at-moment", "--time", moment,
                           "--wait", "--timeout", "240", "-o", "json")
        self.assertEqual(rc, 0, f"{err}\n{self.srv.output()[-4000:]}")
        restored = json.loads(out)
        self.assertEqual(restored["status"], "running", restored)
        self.assertEqual(psql(restored["credentials"]["connection_string"],
                              "SELECT count(*) || ',' || max(id) || ',' || (SELECT count(*) FROM u) "
                              "FROM t"), "40,40,2", "exactly the rows at the moment, the table "
                                                     "dropped after it still there")
        self.assertEqual(self.docker.containers(f"lattice.restore={restored['id']}"), [])
        running = [c for c in self.docker.containers("lattice.archiver",
                                                     f"lattice.node={db['node_id']}")
                   if c["State"] == "running"]
        self.assertEqual([c["Labels"]["lattice.archiver"] for c in running], [db["id"]],
                         "one archiver, for the database with a policy")
        status, _, _ = self.alice.call("DELETE", f"/api/v1/workloads/{restored['id']}")
        self.assertEqual(status, 202)

    def a_damaged_backup_fails_verification(self, db, backup, hostport, ak, sk, cli):
        """Verification is a proof: a backup whose object was damaged in the bucket fails it when
        it is verified again, with the reason, on the timeline, and in /metrics."""
        key = f"{db['id']}/base/{backup['id']}.tar.zst"
        self.assertTrue(s3(hostport, ak, sk, "put", "pg-backups", key, "not a backup").startswith("200"))
        rc, out, err = cli("backup", "verify", "db", backup["id"], "--wait", "-o", "json")
        self.assertEqual(rc, 1, (out, err))  # it no longer restores
        v = json.loads(out)["verification"]
        self.assertEqual(v["status"], "failed", v)
        self.assertIn("damaged", v["message"])
        timeline = [e["message"] for e in
                    self.alice.call("GET", f"/api/v1/workloads/{db['id']}/events")[2]["items"]]
        self.assertTrue(any(f"backup {backup['id']} FAILED verification" in m for m in timeline),
                        timeline)

    def restore_in_place(self, db, backup, hostport, ak, sk, cli):
        """Over the workload's own data, only when its name is repeated: the same id, endpoint and
        credentials open exactly the backup's rows; the volume it replaced is removed once it
        runs; the archiver goes on on the restored database's new timeline."""
        path = f"/api/v1/workloads/{db['id']}/restore"
        conn = db["credentials"]["connection_string"]
        self.assertEqual(psql(conn, "SELECT count(*) FROM t"), "100")  # rows after the backup
        for body, field in (({"in_place": True, "backup_id": backup["id"]}, "confirm"),
                            ({"in_place": True, "backup_id": backup["id"], "confirm": "d"},
                             "confirm"),
                            ({"in_place": True, "backup_id": backup["id"], "confirm": "db",
                              "name": "other"}, "name"),
                            ({"in_place": "yes", "backup_id": backup["id"]}, "in_place")):
            status, _, problem = self.alice.call("POST", path, body)
            self.assertEqual(status, 400, problem)
            self.assertIn(field, [e["field"] for e in problem.get("errors", [])], problem)
        self.assertEqual(self.bob.call("POST", path, {"in_place": True, "confirm": "db",
                                                      "backup_id": backup["id"]})[0], 404)
        rc, out, err = cli("backup", "restore", "db", "--in-place", "--backup", backup["id"])
        self.assertEqual(rc, 2, err)  # no confirmation
        self.assertIn("--confirm", err)
        self.assertEqual(psql(conn, "SELECT count(*) FROM t"), "100", "refusals change nothing")

        old_volume = f"lattice-{db['id']}-data"
        self.assertTrue(self.docker.volume_exists(old_volume))
        rc, out, err = cli("backup", "restore", "db", "--in-place", "--confirm", "db", "--backup",
                           backup["id"], "--wait", "--timeout", "240", "-o", "json")
        self.assertEqual(rc, 0, f"{err}\n{self.srv.output()[-4000:]}")
        restored = json.loads(out)
        self.assertEqual((restored["id"], restored["status"]), (db["id"], "running"), restored)
        self.assertEqual(restored["credentials"]["password"], db["credentials"]["password"])
        self.assertEqual(endpoint(restored, "postgres")["port"], endpoint(db, "postgres")["port"])
        self.assertEqual(psql(conn, "SELECT (SELECT count(*) FROM t) || ',' || (SELECT count(*) FROM u)"),
                         "25,2", "the backup's rows, through the same connection string")
        wait_until(lambda: not self.docker.volume_exists(old_volume), 60,
                   "the replaced data volume to be removed")
        self.assertTrue(self.docker.volume_exists(f"{old_volume}.r1"))
        self.assertTrue(any("restored in place" in m for m in self.timeline(db["id"])),
                        self.timeline(db["id"]))
        # The restored cluster runs on a new timeline, and the archiver archives it.
        psql(conn, "INSERT INTO t SELECT generate_series(26, 30)")
        wait_until(lambda: s3(hostport, ak, sk, "get", "pg-backups",
                              f"{db['id']}/wal/00000002.history.zst").startswith("200"), 120,
                   "the new timeline's history to be archived")


if __name__ == "__main__":
    unittest.main()
