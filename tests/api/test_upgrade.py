"""Versions and upgrades: `lattice --version` names the release, the commit and the schema; a
data directory written by the previous release opens and is migrated; one written by a newer
binary is refused with a message that says so, and left untouched."""

import os
import re
import sqlite3
import subprocess
import tarfile
import unittest

import accounts
from lattice_server import LatticeServer, ServerError, run_lattice, source_dir

FIXTURES_DIR = os.path.join(source_dir(), "tests", "fixtures")
# (file, schema version it holds, admin email, admin password)
FIXTURES = [("datadir-0.1.0-737e872.tar.gz", 8, "fixture@example.com", "fixture-password-1")]
VERSION_RE = re.compile(
    r"^lattice (\d+\.\d+\.\d+\S*) \(commit ([0-9a-f]{12}(?:-dirty)?|unknown), schema (\d+)\)$")


def version():
    cp = run_lattice("--version")
    assert cp.returncode == 0, cp.stderr
    m = VERSION_RE.match(cp.stdout.strip())
    assert m, f"unexpected --version output: {cp.stdout!r}"
    return m.group(1), m.group(2), int(m.group(3))


def unpack(fixture, data_dir):
    os.makedirs(data_dir, mode=0o700)
    with tarfile.open(os.path.join(FIXTURES_DIR, fixture)) as tar:
        tar.extractall(data_dir)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def schema_versions(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "lattice.db"))
    try:
        return [v for (v,) in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        db.close()


class VersionTest(unittest.TestCase):
    def test_version_names_release_commit_and_schema(self):
        release, commit, schema = version()
        self.assertGreater(schema, 0)
        top = subprocess.run(["git", "-C", source_dir(), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True)
        if top.returncode == 0 and os.path.samefile(top.stdout.strip(), source_dir()):
            # Built from a git checkout: the commit is named (HEAD as of the build).
            self.assertNotEqual(commit, "unknown")
        with open(os.path.join(source_dir(), "CMakeLists.txt")) as f:
            declared = re.search(r"project\(lattice VERSION (\S+)", f.read()).group(1)
        self.assertEqual(release, declared)


class UpgradeTest(unittest.TestCase):
    def test_previous_release_data_dir_opens_and_migrates(self):
        _, _, schema = version()
        for fixture, fixture_schema, email, password in FIXTURES:
            with self.subTest(fixture=fixture):
                srv = LatticeServer()
                try:
                    unpack(fixture, srv.data_dir)
                    self.assertEqual(max(schema_versions(srv.data_dir)), fixture_schema)
                    srv.start()
                    token = accounts.login(srv, email, password)
                    status, body = accounts.call(srv, "GET", "/api/v1/workloads", token=token,
                                                 expect=200)
                    items = body["items"] if isinstance(body, dict) else body
                    self.assertIn("db", [w["name"] for w in items])
                    srv.stop()
                    # Every migration up to this binary's schema is recorded, none skipped.
                    self.assertEqual(schema_versions(srv.data_dir), list(range(1, schema + 1)))
                finally:
                    srv.cleanup()

    def test_data_dir_of_a_newer_release_is_refused(self):
        _, _, schema = version()
        fixture = FIXTURES[0][0]
        srv = LatticeServer()
        try:
            unpack(fixture, srv.data_dir)
            srv.start()  # migrate to this binary's schema first
            srv.stop()
            newer = schema + 1
            db = sqlite3.connect(os.path.join(srv.data_dir, "lattice.db"))
            db.execute("INSERT INTO schema_migrations(version, name, applied_at) "
                       "VALUES (?, 'from_the_future', 0)", (newer,))
            db.commit()
            db.close()
            before = read_bytes(os.path.join(srv.data_dir, "lattice.db"))
            with self.assertRaises(ServerError) as ctx:
                srv.start()
            message = str(ctx.exception)
            self.assertIn(f"schema is at version {newer}", message)
            self.assertIn(f"newer than this lattice binary knows ({schema})", message)
            self.assertIn("run the newer lattice release", message)
            self.assertEqual(schema_versions(srv.data_dir)[-1], newer)
            self.assertEqual(read_bytes(os.path.join(srv.data_dir, "lattice.db")), before)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
