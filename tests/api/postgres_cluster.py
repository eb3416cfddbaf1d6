"""A throwaway PostgreSQL server for system tests (the C++ tests have their own, in
src/store/postgres/pg_test_cluster.cc).

    with PostgresCluster() as pg:
        url = pg.create_database()      # postgres://lattice@127.0.0.1:<port>/<fresh db>

initdb and postgres come from Debian's `postgresql` package (/usr/lib/postgresql/<v>/bin, or
$LATTICE_PG_BINDIR). They refuse to run as root, so under root they run as the package's
`postgres` user in a temp dir chowned to it. The server listens on 127.0.0.1:<free port> with
its unix socket in the temp dir, trusts the superuser `lattice`, and runs without fsync (tests
need speed, not crash safety). Standard library only.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import uuid


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir():
    env = os.environ.get("LATTICE_PG_BINDIR")
    if env:
        return env
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
             if os.access(os.path.join(d, "initdb"), os.X_OK)]
    found.sort(key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else -1)
    return found[-1] if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self, durable=False):
        # Tests run without fsync (fast, nothing to keep); benchmarks pass durable=True so
        # PostgreSQL pays for every commit as SQLite (synchronous=FULL) does.
        self.durable = durable
        self.bindir = find_bindir()
        self.tmp = None
        self.port = None
        self.proc = None
        self._user = {}

    def start(self):
        if not self.bindir or not os.access(os.path.join(self.bindir, "initdb"), os.X_OK):
            raise PostgresUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/"
                                      "initdb; scripts/setup.sh installs `postgresql`)")
        self.tmp = tempfile.mkdtemp(prefix="lattice-pg-")
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no `postgres` user")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            self._user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        env = {"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"}
        cp = subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data_dir,
                             "-U", "lattice", "--auth=trust", "--no-sync", "--no-locale",
                             "-E", "UTF8"], capture_output=True, text=True, env=env,
                            stdin=subprocess.DEVNULL, timeout=120, **self._user)
        if cp.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {cp.stdout}{cp.stderr}")
        for _ in range(3):  # a free port may be taken before postgres binds it
            self.port = free_port()
            try:
                self._launch()
                return self
            except PostgresUnavailable:
                if "could not bind" not in self.log():
                    raise
        raise PostgresUnavailable("postgres could not bind a port:\n" + self.log())

    @property
    def data_dir(self):
        return os.path.join(self.tmp, "data")

    def log(self):
        try:
            with open(os.path.join(self.tmp, "postgres.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def _launch(self):
        log = open(os.path.join(self.tmp, "postgres.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [os.path.join(self.bindir, "postgres"), "-D", self.data_dir,
                 "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                 "-c", f"unix_socket_directories={self.tmp}",
                 *([] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off",
                                            "-c", "full_page_writes=off"])],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                env={"LC_ALL": "C", "TZ": "UTC"}, **self._user)
        finally:
            log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise PostgresUnavailable("postgres exited:\n" + self.log())
            # Through our own socket directory: on 127.0.0.1 another test's server could
            # answer on the port ours failed to bind.
            if self.psql("postgres", "SELECT 1", check=False, host=self.tmp).returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise PostgresUnavailable("postgres did not accept connections in 30 s:\n" + self.log())

    def psql(self, db, sql, check=True, host="127.0.0.1"):
        cp = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
                             "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(self.port),
                             "-U", "lattice", "-d", db, "-c", sql],
                            capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL, env={"PGCONNECT_TIMEOUT": "5"})
        if check and cp.returncode != 0:
            raise AssertionError(f"psql {sql!r}: {cp.stderr}")
        return cp

    def create_database(self):
        """A fresh empty database; returns its URL (no password: the cluster trusts loopback)."""
        name = "db_" + uuid.uuid4().hex
        self.psql("postgres", f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, db, password=None):
        auth = "lattice" if password is None else f"lattice:{password}"
        return f"postgres://{auth}@127.0.0.1:{self.port}/{db}"

    def stop(self):
        """Stops the server (fast shutdown), keeping its data."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self):
        self.stop()
        self._launch()

    def cleanup(self):
        self.stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False


def start_or_skip():
    """A started cluster for a test module's setUpModule; unittest.SkipTest if PostgreSQL is not
    installed, except under the project's test command (LATTICE_REQUIRE_DOCKER), which never
    skips. The caller cleans it up (cleanup(), or __exit__)."""
    try:
        return PostgresCluster().__enter__()
    except PostgresUnavailable as e:
        if os.environ.get("LATTICE_REQUIRE_DOCKER"):
            raise
        raise unittest.SkipTest(str(e))
