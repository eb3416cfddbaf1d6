"""System test of lattice/pgtools:15 (images/pgtools/lattice-pgtool, docs/backups.md).

Real components only: the Docker engine ($DOCKER_HOST, else scripts/ensure-docker.sh), a
lattice/postgres:15 database, the lattice/s3:dev S3 stand-in and the tool containers, on a
user-defined network this test creates. Nothing is published on the host. Every container,
volume and network is named pgt-<random>-... and removed at the end, also on failure or SIGTERM.

Standard library only; runs under unittest (as CTest does) and under pytest:
    python3 -m unittest -v test_pgtools          (in tests/images)
    LATTICE_SKIP_BUILD=1 skips the (cached) image build.
"""

import atexit
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PGTOOLS = "lattice/pgtools:15"
POSTGRES = "lattice/postgres:15"
S3 = "lattice/s3:dev"
ACCESS_KEY, SECRET_KEY = "pgtools-test", "pgtools-secret-key-123"
DB_USER, DB_PASSWORD, DB_NAME = "app", "db pass 'quoted' \"too\"", "appdb"
BUCKET = "backups"
WAL_INTERVAL = 5  # the archiver's upload period in this test (the default is 15 s)


def docker(*args, check=True, timeout=180):
    p = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def parse_time(text):
    """An ISO or PostgreSQL timestamp ('...Z', '...+00', '... UTC') as an aware datetime."""
    t = text.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    if t.endswith("+00"):
        t += ":00"
    return datetime.datetime.fromisoformat(t)


def wait_until(what, predicate, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Env:
    """What the whole module shares: network, S3 stand-in, database, WAL archiver, secrets."""

    def __init__(self):
        self.prefix = "pgt-" + uuid.uuid4().hex[:8]
        self.containers, self.volumes, self.networks = [], [], []
        self.tmp = tempfile.mkdtemp(prefix=self.prefix + "-")
        self.net = self.name("net")
        self.s3 = self.name("s3")
        self.pg = self.name("pg")
        self._tools = 0

    def name(self, what):
        return f"{self.prefix}-{what}"

    def secret(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)  # like a mounted secret readable by all: the tool copies it to 0600
        return path

    def target_conf(self, name, endpoint=None, key=ACCESS_KEY, secret=SECRET_KEY):
        # use_multipart_etag = false: s3rver (behind the stand-in) answers a multipart upload's
        # completion with the MD5 of the whole object instead of S3's MD5-of-part-MD5s-N, which
        # rclone would report as "multipart upload corrupted". Real S3 and MinIO need no such line.
        return self.secret(name, "\n".join([
            "[target]", "type = s3", "provider = Minio",
            f"endpoint = {endpoint or f'http://{self.s3}:9000'}",
            f"access_key_id = {key}", f"secret_access_key = {secret}",
            "region = us-east-1", "use_multipart_etag = false", ""]))

    def run_detached(self, what, *args):
        name = self.name(what)
        self.containers.append(name)
        docker("run", "-d", "--name", name, *args)
        return name

    def volume(self, what):
        name = self.name(what)
        self.volumes.append(name)
        docker("volume", "create", name)
        return name

    def start(self):
        self.networks.append(self.net)
        docker("network", "create", self.net)
        self.conf = self.target_conf("target.conf")
        self.pgpass = self.secret("pgpass", f"127.0.0.1:5432:*:{DB_USER}:{DB_PASSWORD}\n")
        self.run_detached("s3", "--network", self.net, "-e", f"MINIO_ROOT_USER={ACCESS_KEY}",
                          "-e", f"MINIO_ROOT_PASSWORD={SECRET_KEY}", S3)
        self.run_detached("pg", "--network", self.net, "-e", f"POSTGRES_USER={DB_USER}",
                          "-e", f"POSTGRES_PASSWORD={DB_PASSWORD}", "-e", f"POSTGRES_DB={DB_NAME}",
                          "-v", f"{self.volume('pgdata')}:/var/lib/postgresql/data", POSTGRES)
        wait_until("the S3 stand-in", lambda: self.rclone("mkdir", f"target:{BUCKET}").returncode == 0, 60)
        wait_until("the database", lambda: self.sql("SELECT 1", check=False) == "1", 90)
        # The archiver beside the database, sharing its network namespace (127.0.0.1:5432).
        self.wal = self.run_detached(
            "wal", "--network", f"container:{self.pg}", *self.secret_mounts(),
            "-v", f"{self.volume('spool')}:/var/lib/lattice-pgtool/spool",
            PGTOOLS, "wal", *self.common(), "--interval", str(WAL_INTERVAL))

    def cleanup(self):
        if self.containers:
            docker("rm", "-f", "-v", *self.containers, check=False)
            self.containers = []
        if self.volumes:
            docker("volume", "rm", "-f", *self.volumes, check=False)
            self.volumes = []
        for net in self.networks:
            docker("network", "rm", net, check=False)
        self.networks = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    def secret_mounts(self, conf=None):
        return ["-v", f"{conf or self.conf}:/run/secrets/target.conf:ro",
                "-v", f"{self.pgpass}:/run/secrets/pgpass:ro"]

    def common(self):
        return ["--bucket", BUCKET, "--prefix", "clusters/main", "--user", DB_USER,
                "--pgpass-file", "/run/secrets/pgpass"]

    def tool(self, *args, network=None, volumes=(), conf=None, timeout=300):
        """Run lattice-pgtool SUBCOMMAND ARGS in a fresh container (sharing the database's network
        namespace unless told otherwise). Returns (exit status, the one JSON result, stderr)."""
        self._tools += 1
        name = self.name(f"tool{self._tools}")
        self.containers.append(name)
        mounts = [x for v in volumes for x in ("-v", v)]
        p = docker("run", "--rm", "--name", name, "--network", network or f"container:{self.pg}",
                   *self.secret_mounts(conf), *mounts, PGTOOLS, *args, check=False, timeout=timeout)
        self.containers.remove(name)
        lines = p.stdout.strip().splitlines()
        if len(lines) != 1:
            raise AssertionError(f"lattice-pgtool {args[0]} printed {len(lines)} lines on stdout, "
                                 f"not one JSON object:\n{p.stdout}\nstderr:\n{p.stderr[-3000:]}")
        result = json.loads(lines[0])
        if (p.returncode == 0) != (result.get("ok") is True):
            raise AssertionError(f"exit status {p.returncode} does not match {result}")
        return p.returncode, result, p.stderr

    def rclone(self, *args):
        # No --s3-no-check-bucket here: with it, `rclone mkdir` of a bucket does nothing.
        return docker("run", "--rm", "--network", self.net, *self.secret_mounts(),
                      "--entrypoint", "rclone", PGTOOLS, "--config", "/run/secrets/target.conf",
                      *args, check=False)

    def sql(self, query, container=None, db=DB_NAME, check=True):
        p = docker("exec", container or self.pg, "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                   "-U", DB_USER, "-d", db, "-c", query, check=check)
        return p.stdout.strip() if p.returncode == 0 else None

    def now(self):
        """The database's clock, as the text a --target-time takes."""
        return self.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD HH24:MI:SS.US') || '+00'")

    def archiver(self):
        rc, result, err = self.tool("status", *self.common(), network=self.net)
        assert rc == 0, (result, err)
        return result["archiver"] or {}

    def wait_archived(self, t, timeout=60):
        """Wait until the archiver has confirmed the archive complete at or after time t; returns
        how long after t that was (the recovery point)."""
        def covered():
            until = self.archiver().get("covered_until")
            return until and parse_time(until) >= parse_time(t) and parse_time(until)
        return (wait_until(f"WAL covering {t} in the bucket", covered, timeout, interval=1)
                - parse_time(t)).total_seconds()

    def start_restored(self, what, volume):
        """A lattice/postgres:15 container on a restored volume, once recovery has ended."""
        name = self.run_detached(what, "--network", self.net,
                                 "-v", f"{volume}:/var/lib/postgresql/data", POSTGRES)

        def promoted():
            if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
                raise AssertionError(f"{name} stopped:\n{docker('logs', name).stderr[-3000:]}")
            return self.sql("SELECT pg_is_in_recovery()", container=name, check=False) == "f"
        wait_until(f"{name} to end recovery", promoted, 120)
        return name


ENV = None


def setUpModule():
    global ENV
    engine = os.environ.get("DOCKER_HOST")
    if not engine:
        out = subprocess.run([os.path.join(ROOT, "scripts", "ensure-docker.sh")],
                             capture_output=True, text=True, check=True).stdout
        os.environ["DOCKER_HOST"] = out.strip().splitlines()[-1].split("=", 1)[1]
    if not os.environ.get("LATTICE_SKIP_BUILD"):
        subprocess.run([os.path.join(ROOT, "scripts", "build-images.sh"), "postgres", "s3", "pgtools"],
                       check=True, stdout=sys.stderr)
    for image in (PGTOOLS, POSTGRES, S3):
        if docker("image", "inspect", image, check=False).returncode != 0:
            raise AssertionError(f"image {image} is missing: run scripts/build-images.sh")
    ENV = Env()
    atexit.register(ENV.cleanup)
    # CTest's timeout sends SIGTERM: exit through atexit, so nothing is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        ENV.start()
    except BaseException:
        ENV.cleanup()
        raise


def tearDownModule():
    if ENV:
        ENV.cleanup()


class PointInTimeRecovery(unittest.TestCase):
    def test_pitr_restore_and_backup_alone(self):
        e = ENV
        e.sql("CREATE TABLE pitr (v int PRIMARY KEY); INSERT INTO pitr SELECT generate_series(1, 100)")
        rc, backup, err = e.tool("backup", "--id", "pitr-1", *e.common())
        self.assertEqual(rc, 0, (backup, err))
        self.assertEqual(backup["id"], "pitr-1")
        self.assertGreater(backup["size_bytes"], 100_000)
        self.assertGreater(backup["duration_ms"], 0)
        self.assertRegex(backup["start_lsn"], r"^[0-9A-F]+/[0-9A-F]+$")
        self.assertRegex(backup["end_lsn"], r"^[0-9A-F]+/[0-9A-F]+$")
        self.assertEqual(backup["timeline"], 1)
        self.assertLessEqual(parse_time(backup["start_time"]), parse_time(backup["end_time"]))
        rc, again, _ = e.tool("backup", "--id", "pitr-1", *e.common())
        self.assertEqual((rc, again["error"]), (1, "backup-exists"))

        # The database crashes and restarts (a killed child makes the postmaster reinitialise);
        # the archiver must reconnect on its own.
        pid = e.sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
        docker("exec", e.pg, "bash", "-c", 'kill -KILL "$1"', "_", pid)
        time.sleep(1)
        wait_until("the database after its crash", lambda: e.sql("SELECT 1", check=False) == "1", 60)

        e.sql("INSERT INTO pitr SELECT generate_series(101, 250)")
        t = e.now()
        recovery_point = e.wait_archived(t)
        self.assertLessEqual(recovery_point, 60, "the recovery point under continuous writes is at most 60 s")
        time.sleep(1)
        e.sql("DROP TABLE pitr")
        e.wait_archived(e.now())  # the drop is in the bucket too: recovery must stop before it

        # PITR to t, into a fresh volume, owned as the database image wants it.
        uid_gid = docker("run", "--rm", "--entrypoint", "sh", POSTGRES, "-c",
                         'echo "$(id -u postgres):$(id -g postgres)"').stdout.strip()
        vol = e.volume("pitr")
        rc, res, err = e.tool("restore", "--id", "pitr-1", "--data", "/restore", "--target-time", t,
                              "--owner", uid_gid, *e.common(), network=e.net,
                              volumes=[f"{vol}:/restore"])
        self.assertEqual(rc, 0, (res, err))
        self.assertEqual(res["recovery"], "target-time")
        self.assertEqual(parse_time(res["target_time"]), parse_time(t))
        self.assertGreaterEqual(res["wal_segments"], 1)
        self.assertEqual(res["owner"], uid_gid)
        pg = e.start_restored("pitr-db", vol)
        self.assertEqual(e.sql("SELECT count(*), min(v), max(v) FROM pitr", container=pg), "250|1|250")
        self.assertEqual(e.sql("SELECT timeline_id FROM pg_control_checkpoint()", container=pg), "2")
        self.assertNotEqual(docker("exec", pg, "test", "-e", "/var/lib/postgresql/data/lattice-restore-wal",
                                   check=False).returncode, 0, "the restore WAL is removed once recovery ends")
        docker("stop", pg)
        # The same restore again (an agent restarted after it) finds it finished: nothing changes.
        rc, res, err = e.tool("restore", "--id", "pitr-1", "--data", "/restore", *e.common(),
                              network=e.net, volumes=[f"{vol}:/restore"])
        self.assertEqual((rc, res.get("already_restored")), (0, True), (res, err))
        # A directory holding something else is never overwritten.
        junk = e.volume("junk")
        docker("run", "--rm", "-v", f"{junk}:/restore", "--entrypoint", "touch", PGTOOLS, "/restore/mine")
        rc, res, _ = e.tool("restore", "--id", "pitr-1", "--data", "/restore", *e.common(),
                            network=e.net, volumes=[f"{junk}:/restore"])
        self.assertEqual((rc, res["error"]), (1, "data-dir-not-empty"))

        # Into a new workload: a restore that died half-way (its marker left behind) is started
        # over; recovery runs inside the tool and the role gets the new password, so the
        # database starts already promoted and only the new password lets anyone in.
        vol = e.volume("newcreds")
        docker("run", "--rm", "-v", f"{vol}:/restore", "--entrypoint", "sh", PGTOOLS, "-c",
               "touch /restore/.lattice-restore-incomplete /restore/PG_VERSION /restore/half-written")
        newpw = e.secret("newpw", "N3w-passw0rd-after-restore")
        rc, res, err = e.tool("restore", "--id", "pitr-1", "--data", "/restore", "--target-time", t,
                              "--new-password-file", "/run/secrets/newpw", *e.common(), network=e.net,
                              volumes=[f"{vol}:/restore", f"{newpw}:/run/secrets/newpw:ro"])
        self.assertEqual(rc, 0, (res, err))
        self.assertIs(res["password_set"], True)
        listing = docker("run", "--rm", "-v", f"{vol}:/restore", "--entrypoint", "ls", PGTOOLS, "-A",
                         "/restore").stdout.split()
        for gone in (".lattice-restore-incomplete", "half-written", "recovery.signal", "lattice-restore-wal"):
            self.assertNotIn(gone, listing)
        pg = e.run_detached("newcreds-db", "--network", e.net, "-v", f"{vol}:/var/lib/postgresql/data",
                            POSTGRES)
        wait_until("the restored database", lambda: e.sql("SELECT 1", container=pg, check=False) == "1", 90)
        self.assertEqual(e.sql("SELECT count(*) FROM pitr", container=pg), "250")

        def login(password):
            return docker("exec", "-e", f"PGPASSWORD={password}", pg, "psql", "-XAtq", "-h", "127.0.0.1",
                          "-U", DB_USER, "-d", DB_NAME, "-c", "SELECT 1", check=False).returncode
        self.assertEqual(login("N3w-passw0rd-after-restore"), 0)
        self.assertNotEqual(login(DB_PASSWORD), 0, "the backup's old password must not open the restore")

        # The backup alone: only the first rows. Owned by a uid nobody has: the database
        # image's entry point must hand the files to its postgres user.
        vol = e.volume("alone")
        rc, res, err = e.tool("restore", "--id", "pitr-1", "--data", "/restore", "--owner", "4321:4321",
                              *e.common(), network=e.net, volumes=[f"{vol}:/restore"])
        self.assertEqual(rc, 0, (res, err))
        self.assertEqual(res["recovery"], "immediate")
        self.assertEqual(res["wal_segments"], 0)
        pg = e.start_restored("alone-db", vol)
        self.assertEqual(e.sql("SELECT count(*), min(v), max(v) FROM pitr", container=pg), "100|1|100")
        self.assertEqual(docker("exec", pg, "find", "/var/lib/postgresql/data", "!", "-user", "postgres").stdout, "")

        # A time after the last archived transaction and after the archiver's last confirmation
        # cannot be reached.
        later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10))
        rc, res, _ = e.tool("restore", "--id", "pitr-1", "--data", "/restore", "--target-time",
                            later.strftime("%Y-%m-%d %H:%M:%S+00"), *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (1, "target-not-covered"), res)
        rc, res, _ = e.tool("restore", "--id", "pitr-1", "--data", "/restore", "--target-time",
                            backup["start_time"], *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (1, "target-before-backup"), res)


class Verification(unittest.TestCase):
    def test_verify_then_damage(self):
        e = ENV
        e.sql("CREATE DATABASE verifydb")
        e.sql("CREATE TABLE a (v int); INSERT INTO a SELECT generate_series(1, 321);"
              "CREATE SCHEMA other; CREATE TABLE other.b (t text); INSERT INTO other.b SELECT 'x' FROM generate_series(1, 45)",
              db="verifydb")
        rc, backup, err = e.tool("backup", "--id", "verify-1", *e.common())
        self.assertEqual(rc, 0, (backup, err))

        rc, res, err = e.tool("verify", "--id", "verify-1", *e.common(), network=e.net)
        self.assertEqual(rc, 0, (res, err))
        self.assertEqual(res["databases"]["verifydb"], {"tables": 2, "rows": 366})
        self.assertIn(DB_NAME, res["databases"])
        self.assertEqual(res["tables"], sum(d["tables"] for d in res["databases"].values()))
        self.assertEqual(res["rows"], sum(d["rows"] for d in res["databases"].values()))
        self.assertEqual(res["manifest"], "verified")
        self.assertGreater(res["duration_ms"], 0)
        rc, res, _ = e.tool("verify", "--id", "verify-1", "--verified", *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (2, "bad-argument"), "verify never skips a check")

        # A restore of a verified backup (--verified) trusts the manifest check that verify ran
        # on the same bytes, proven by the archive's sha256; the data is whole.
        vol = e.volume("verified")
        rc, res, err = e.tool("restore", "--id", "verify-1", "--data", "/restore", "--verified",
                              *e.common(), network=e.net, volumes=[f"{vol}:/restore"])
        self.assertEqual(rc, 0, (res, err))
        self.assertIn("not running pg_verifybackup again", err)
        pg = e.start_restored("verified-db", vol)
        self.assertEqual(e.sql("SELECT count(*) FROM a", container=pg, db="verifydb"), "321")
        docker("stop", pg)

        # Damage the archive in the bucket: a few bytes in the middle, same length.
        key = f"target:{BUCKET}/clusters/main/base/verify-1.tar.zst"
        p = docker("run", "--rm", "--network", e.net, *e.secret_mounts(),
                   "--entrypoint", "bash", PGTOOLS, "-c",
                   'set -e; r=(rclone --config /run/secrets/target.conf --s3-no-check-bucket)\n'
                   '"${r[@]}" copyto "$1" /tmp/x; n=$(stat -c %s /tmp/x)\n'
                   'printf "damage-damage-damage" | dd of=/tmp/x bs=1 seek=$((n / 2)) conv=notrunc status=none\n'
                   '"${r[@]}" copyto /tmp/x "$1"', "_", key)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, res, _ = e.tool("verify", "--id", "verify-1", *e.common(), network=e.net)
        self.assertEqual((rc, res["ok"], res["error"]), (1, False, "verify-failed"))
        self.assertIn("sha256", res["message"])
        self.assertIn("verify-1", res["message"])
        # --verified trusts nothing the sha256 does not prove: the damage is still refused.
        rc, res, _ = e.tool("restore", "--id", "verify-1", "--data", "/restore", "--verified",
                            *e.common(), network=e.net, volumes=[f"{e.volume('damaged')}:/restore"])
        self.assertEqual((rc, res["error"]), (1, "backup-damaged"))
        self.assertIn("sha256", res["message"])
        # ls only sees names and sizes: a same-size garbling is what verify is for.
        rc, listing, _ = e.tool("ls", *e.common(), network=e.net)
        self.assertIn("verify-1", [b["id"] for b in listing["backups"]])

        # Truncated: verify fails, and ls no longer lists the backup as usable.
        p = docker("run", "--rm", "--network", e.net, *e.secret_mounts(), "--entrypoint", "bash", PGTOOLS, "-c",
                   'set -e; r=(rclone --config /run/secrets/target.conf --s3-no-check-bucket)\n'
                   '"${r[@]}" copyto "$1" /tmp/x; head -c 50000 /tmp/x | "${r[@]}" rcat "$1"', "_", key)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, res, _ = e.tool("verify", "--id", "verify-1", *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (1, "verify-failed"))
        self.assertIn("50000 bytes", res["message"])
        rc, listing, _ = e.tool("ls", *e.common(), network=e.net)
        self.assertIn("verify-1", listing["broken"], "a damaged backup is not listed as usable")
        self.assertNotIn("verify-1", [b["id"] for b in listing["backups"]])


class VolumeSnapshots(unittest.TestCase):
    """snapshot / snapshot-verify / snapshot-restore / snapshot-delete of plain volumes (S3 and
    custom workloads): no database involved, only the S3 stand-in on the test network."""

    def test_snapshot_verify_restore_damage(self):
        e = ENV
        src, other = e.volume("snap-src"), e.volume("snap-other")
        docker("run", "--rm", "-v", f"{src}:/v/data", "-v", f"{other}:/v/conf", "--entrypoint",
               "sh", PGTOOLS, "-c",
               "set -e; mkdir -p /v/data/bucket/deep; echo one > /v/data/bucket/deep/a.txt;"
               "head -c 300000 /dev/urandom > /v/data/blob; echo secret > /v/data/private;"
               "chown 1234:1234 /v/data/private; chmod 600 /v/data/private; echo x > /v/conf/c")
        common = ["--bucket", BUCKET, "--prefix", "snapshots-test/wl_1"]
        ro = [f"{src}:/source/data:ro", f"{other}:/source/conf:ro"]
        rc, snap, err = e.tool("snapshot", "--id", "s-1", "--source", "/source", *common,
                               network=e.net, volumes=ro)
        self.assertEqual(rc, 0, (snap, err))
        self.assertEqual((snap["kind"], snap["volumes"], snap["files"]), ("volume", ["conf", "data"], 4))
        self.assertGreater(snap["size_bytes"], 0)
        rc, again, _ = e.tool("snapshot", "--id", "s-1", "--source", "/source", *common,
                              network=e.net, volumes=ro)
        self.assertEqual((rc, again["error"]), (1, "backup-exists"))

        rc, res, err = e.tool("snapshot-verify", "--id", "s-1", *common, network=e.net)
        self.assertEqual((rc, res["files"]), (0, 4), (res, err))

        # Into empty volumes: the same bytes, owners and modes.
        d1, d2 = e.volume("snap-dst1"), e.volume("snap-dst2")
        dst = [f"{d1}:/data/data", f"{d2}:/data/conf"]
        rc, res, err = e.tool("snapshot-restore", "--id", "s-1", "--data", "/data", *common,
                              network=e.net, volumes=dst)
        self.assertEqual((rc, res["files"]), (0, 4), (res, err))
        listing = "find /v -printf '%P %U:%G %m %s\\n' | sort; md5sum /v/data/blob | cut -c1-32"
        def show(data, conf):
            return docker("run", "--rm", "-v", f"{data}:/v/data", "-v", f"{conf}:/v/conf",
                          "--entrypoint", "sh", PGTOOLS, "-c", listing).stdout
        self.assertEqual(show(d1, d2), show(src, other))
        self.assertIn("data/private 1234:1234 600", show(d1, d2))
        # Not into volumes that hold data, unless taken for a finished restore.
        rc, res, _ = e.tool("snapshot-restore", "--id", "s-1", "--data", "/data", *common,
                            network=e.net, volumes=dst)
        self.assertEqual((rc, res["error"]), (1, "data-dir-not-empty"))
        rc, res, _ = e.tool("snapshot-restore", "--id", "s-1", "--data", "/data",
                            "--skip-if-restored", *common, network=e.net, volumes=dst)
        self.assertEqual((rc, res.get("already_restored")), (0, True), res)

        # Damaged in the bucket (same length): verify names it, a restore refuses it and leaves
        # the volumes empty again.
        key = f"target:{BUCKET}/snapshots-test/wl_1/snapshots/s-1.tar.zst"
        p = docker("run", "--rm", "--network", e.net, *e.secret_mounts(),
                   "--entrypoint", "bash", PGTOOLS, "-c",
                   'set -e; r=(rclone --config /run/secrets/target.conf --s3-no-check-bucket)\n'
                   '"${r[@]}" copyto "$1" /tmp/x; n=$(stat -c %s /tmp/x)\n'
                   'printf "damage-damage-damage" | dd of=/tmp/x bs=1 seek=$((n / 2)) conv=notrunc status=none\n'
                   '"${r[@]}" copyto /tmp/x "$1"', "_", key)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, res, _ = e.tool("snapshot-verify", "--id", "s-1", *common, network=e.net)
        self.assertEqual((rc, res["error"]), (1, "verify-failed"))
        self.assertIn("sha256", res["message"])
        d3 = e.volume("snap-dst3")
        rc, res, _ = e.tool("snapshot-restore", "--id", "s-1", "--data", "/data", *common,
                            network=e.net, volumes=[f"{d3}:/data/data", f"{e.volume('snap-dst4')}:/data/conf"])
        self.assertEqual((rc, res["error"]), (1, "backup-damaged"))
        left = docker("run", "--rm", "-v", f"{d3}:/v", "--entrypoint", "ls", PGTOOLS, "-A", "/v").stdout
        self.assertEqual(left, "", "a failed restore empties the volumes again")

        rc, res, _ = e.tool("snapshot-delete", "--id", "s-1", *common, network=e.net)
        self.assertEqual((rc, res["deleted_record"], res["deleted_archive"]), (0, True, True))
        rc, res, _ = e.tool("snapshot-verify", "--id", "s-1", *common, network=e.net)
        self.assertEqual((rc, res["error"]), (1, "backup-missing"))


class TargetErrors(unittest.TestCase):
    def probe(self, conf, bucket=BUCKET):
        return ENV.tool("probe", "--bucket", bucket, "--prefix", "probe", conf=conf, network=ENV.net)

    def test_probe(self):
        e = ENV
        rc, res, err = e.tool("probe", *e.common(), "--database")
        self.assertEqual(rc, 0, (res, err))
        self.assertEqual(res["database"]["timeline"], 1)
        self.assertEqual(e.rclone("lsf", "-R", f"target:{BUCKET}/clusters/main").stdout.count(".lattice-probe"), 0)

        rc, res, _ = self.probe(e.target_conf("wrong-secret.conf", secret="not-the-secret"))
        self.assertEqual((rc, res["error"]), (1, "target-auth"), res)
        rc, res, _ = self.probe(e.target_conf("wrong-key.conf", key="nobody"))
        self.assertEqual((rc, res["error"]), (1, "target-auth"), res)
        rc, res, _ = self.probe(e.target_conf("closed-port.conf", endpoint=f"http://{e.s3}:9999"))
        self.assertEqual((rc, res["error"]), (1, "target-unreachable"), res)
        rc, res, _ = self.probe(e.target_conf("no-host.conf", endpoint=f"http://{e.name('nothing')}:9000"))
        self.assertEqual((rc, res["error"]), (1, "target-unreachable"), res)
        rc, res, _ = self.probe(e.conf, bucket="no-such-bucket")
        self.assertEqual((rc, res["error"]), (1, "bucket-missing"), res)
        self.assertEqual(e.rclone("lsf", "target:").stdout.split(), [f"{BUCKET}/"], "no bucket was created")

    def test_database_errors(self):
        e = ENV
        wrong = e.secret("wrong-pgpass", f"127.0.0.1:5432:*:{DB_USER}:wrong\n")
        p = docker("run", "--rm", "--network", f"container:{e.pg}", "-v", f"{e.conf}:/run/secrets/target.conf:ro",
                   "-v", f"{wrong}:/run/secrets/pgpass:ro", PGTOOLS, "backup", "--id", "never", *e.common(),
                   check=False)
        self.assertEqual(json.loads(p.stdout)["error"], "database-auth", p.stdout)
        rc, res, _ = e.tool("backup", "--id", "never", *e.common(), "--port", "5433")
        self.assertEqual((rc, res["error"]), (1, "database-unreachable"), res)
        rc, res, _ = e.tool("restore", "--id", "no-such-backup", "--data", "/restore", *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (1, "backup-missing"), res)
        rc, res, _ = e.tool("backup", "--id", "../x", *e.common())
        self.assertEqual((rc, res["error"]), (2, "bad-argument"), res)

    def test_drop_slot(self):
        """A removed archiver's slot is dropped (else the server keeps WAL for it forever); an
        absent one is fine; the running archiver's active slot is refused, not broken."""
        e = ENV
        e.sql("SELECT 1 FROM pg_create_physical_replication_slot('spare', true)")
        rc, res, err = e.tool("drop-slot", "--slot", "spare", *e.common())
        self.assertEqual((rc, res.get("dropped")), (0, True), (res, err))
        self.assertEqual(e.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'spare'"), "0")
        rc, res, err = e.tool("drop-slot", "--slot", "spare", *e.common())
        self.assertEqual((rc, res.get("dropped")), (0, False), (res, err))
        rc, res, _ = e.tool("drop-slot", *e.common())  # lattice_wal, in use by the archiver
        self.assertEqual((rc, res["error"]), (1, "database-error"), res)
        self.assertEqual(e.sql("SELECT active FROM pg_replication_slots WHERE slot_name = 'lattice_wal'"), "t")


class Catalogue(unittest.TestCase):
    def test_ls_delete_prune(self):
        e = ENV
        for i in (1, 2):
            e.sql(f"CREATE TABLE IF NOT EXISTS cat (v int); INSERT INTO cat VALUES ({i})")
            rc, res, err = e.tool("backup", "--id", f"cat-{i}", *e.common())
            self.assertEqual(rc, 0, (res, err))
        # An archive without its record (a backup that died before its end) is never usable.
        p = docker("run", "--rm", "--network", e.net, *e.secret_mounts(), "--entrypoint", "bash", PGTOOLS,
                   "-c", 'echo partial | rclone --config /run/secrets/target.conf --s3-no-check-bucket rcat "$1"',
                   "_", f"target:{BUCKET}/clusters/main/base/cat-dead.tar.zst")
        self.assertEqual(p.returncode, 0)
        rc, listing, _ = e.tool("ls", *e.common(), network=e.net)
        ids = [b["id"] for b in listing["backups"]]
        self.assertIn("cat-1", ids)
        self.assertIn("cat-2", ids)
        self.assertIn("cat-dead", listing["incomplete"])
        self.assertNotIn("cat-dead", ids)
        self.assertEqual(ids, [b["id"] for b in sorted(listing["backups"], key=lambda b: b["start_time"])])

        rc, res, _ = e.tool("delete", "--id", "cat-2", *e.common(), network=e.net)
        self.assertEqual((rc, res["deleted_record"], res["deleted_archive"]), (0, True, True))
        rc, res, _ = e.tool("delete", "--id", "cat-2", *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (1, "backup-missing"))
        rc, listing, _ = e.tool("ls", *e.common(), network=e.net)
        self.assertNotIn("cat-2", [b["id"] for b in listing["backups"]])

        # prune-wal keeps everything from the oldest complete backup's start on. (The archiver
        # keeps adding segments meanwhile, all of them later than that.)
        oldest = min(listing["backups"], key=lambda b: int(b["start_wal_segment"][8:], 16))
        start = oldest["start_wal_segment"][8:]
        doomed = [n for n in self.wal_objects() if n[8:24] < start]
        self.assertTrue(doomed, f"the archiver should have archived WAL from before {oldest['id']}")
        rc, res, err = e.tool("prune-wal", *e.common(), network=e.net)
        self.assertEqual(rc, 0, (res, err))
        self.assertEqual(res["deleted"], len(doomed))
        self.assertEqual(res["oldest_backup"], oldest["id"])
        after = self.wal_objects()
        self.assertEqual([n for n in after if n[8:24] < start], [])
        self.assertIn(oldest["start_wal_segment"] + ".zst", after, "the oldest backup's first segment is kept")
        rc, res, _ = e.tool("prune-wal", "--before-lsn", "FF/0", *e.common(), network=e.net)
        self.assertEqual((rc, res["error"]), (1, "prune-refused"))

    def wal_objects(self):
        """The names of the archived segments (complete and .partial) in the bucket."""
        names = ENV.rclone("lsf", f"target:{BUCKET}/clusters/main/wal/").stdout.split()
        return sorted(n for n in names if len(n) >= 24 and not n.endswith(".history.zst"))


class Archiver(unittest.TestCase):
    def test_sigterm_stops_cleanly_after_a_last_upload(self):
        e = ENV
        name = e.run_detached("wal-stop", "--network", f"container:{e.pg}", *e.secret_mounts(),
                              PGTOOLS, "wal", "--bucket", BUCKET, "--prefix", "stop-test", "--user", DB_USER,
                              "--pgpass-file", "/run/secrets/pgpass", "--slot", "stop_test", "--interval", "30")
        wait_until("the second archiver to stream", lambda: "streaming from" in docker("logs", name).stderr, 30)
        e.sql("CREATE TABLE IF NOT EXISTS stop_test (v int); INSERT INTO stop_test VALUES (1)")
        time.sleep(2)
        t0 = time.monotonic()
        docker("stop", "-t", "30", name)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip(), "0")
        result = json.loads(docker("logs", name).stdout.strip().splitlines()[-1])
        self.assertEqual((result["ok"], result["stopped"]), (True, "signal"))
        names = e.rclone("lsf", f"target:{BUCKET}/stop-test/wal/").stdout.split()
        self.assertTrue(any(n.endswith(".partial.zst") for n in names), names)
        e.sql("SELECT pg_drop_replication_slot('stop_test')")


if __name__ == "__main__":
    unittest.main()
