"""`lattice server --database postgres://…`: the real binary on a real PostgreSQL.

The store itself is tested on both engines by src/store/store_test.cc; this checks the wiring:
accounts and sessions live in PostgreSQL (a second server with its own data dir sees them), the
URL's password never reaches the output, readiness follows the database, and a bad or
unreachable --database stops the start-up with a clear message.
"""

import os
import time
import unittest

import openapi_check
from lattice_server import LatticeServer, run_lattice
import postgres_cluster
from postgres_cluster import free_port

PASSWORD = "correct horse battery"
_pg = None


def setUpModule():
    global _pg
    _pg = postgres_cluster.start_or_skip()


def tearDownModule():
    if _pg is not None:
        _pg.__exit__(None, None, None)


def call(srv, method, path, body=None, token=None):
    status, headers, data = srv.request(method, path, body, token=token)
    openapi_check.check(method, path, status, headers, data)
    return status, data


class PostgresServerTest(unittest.TestCase):
    def test_accounts_live_in_postgres(self):
        url = _pg.create_database()
        with LatticeServer("--database", url) as a:
            status, first = call(a, "POST", "/api/v1/auth/register",
                                 {"email": "first@example.com", "password": PASSWORD})
            self.assertEqual((status, first["user"]["role"]), (201, "admin"), first)
            status, me = call(a, "GET", "/api/v1/auth/me", token=first["token"])
            self.assertEqual((status, me), (200, first["user"]))
            self.assertFalse(os.path.exists(os.path.join(a.data_dir, "lattice.db")),
                             "a PostgreSQL server must not create a SQLite database")
            self.assertEqual(call(a, "GET", "/readyz"), (200, {"status": "ready"}))

            # A second server (its own data dir, so its own signing key) on the same database:
            # the account is there, an invite made on one server admits a sign-up on the
            # other, and the next sign-up is not another admin.
            with LatticeServer("--database", url) as b:
                status, login = call(b, "POST", "/api/v1/auth/login",
                                     {"email": "first@example.com", "password": PASSWORD})
                self.assertEqual(status, 200, login)
                self.assertEqual(login["user"]["id"], first["user"]["id"])
                invites = [call(a, "POST", "/api/v1/invites", {}, token=first["token"])[1]["code"]
                           for _ in range(2)]
                status, second = call(b, "POST", "/api/v1/auth/register",
                                      {"email": "second@example.com", "password": PASSWORD,
                                       "invite": invites[0]})
                self.assertEqual((status, second["user"]["role"]), (201, "user"), second)
                status, dup = call(a, "POST", "/api/v1/auth/register",
                                   {"email": "second@example.com", "password": PASSWORD,
                                    "invite": invites[1]})
                self.assertEqual(status, 409, dup)
                status, used = call(a, "POST", "/api/v1/auth/register",
                                    {"email": "third@example.com", "password": PASSWORD,
                                     "invite": invites[0]})
                self.assertEqual(status, 403, used)
                # Both servers write one audit trail.
                status, trail = call(b, "GET", "/api/v1/audit", token=login["token"])
                self.assertEqual(status, 200, trail)
                self.assertEqual(sum(e["action"] == "auth.register" and e["outcome"] == "success"
                                     for e in trail["items"]), 2)

            # Restarted, the first server still accepts the token it issued.
            a.restart()
            self.assertEqual(call(a, "GET", "/api/v1/auth/me", token=first["token"])[0], 200)

    def test_the_password_in_the_url_is_never_shown(self):
        secret = "s3cret-" + os.urandom(4).hex()
        url = _pg.url(_pg.create_database().rsplit("/", 1)[1], password=secret)
        with LatticeServer("--database", url, "--log-level", "debug") as srv:
            self.assertEqual(call(srv, "POST", "/api/v1/auth/register",
                                  {"email": "a@example.com", "password": PASSWORD})[0], 201)
            self.assertEqual(call(srv, "GET", "/readyz")[0], 200)
            srv.stop()
            output = srv.output()
        self.assertNotIn(secret, output)
        self.assertIn("lattice:***@", output)

        cp = run_lattice("server", "--database", f"mysql://u:{secret}@h/db")
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("--database", cp.stderr)
        self.assertNotIn(secret, cp.stdout + cp.stderr)

    def test_unreachable_database_stops_the_start_quickly(self):
        port = free_port()  # nothing listens there
        start = time.monotonic()
        cp = run_lattice("server", "--listen", "127.0.0.1:0", "--data-dir",
                         os.path.join(_pg.tmp, "unreachable"),
                         "--database", f"postgres://lattice:pw@127.0.0.1:{port}/x")
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("cannot connect to PostgreSQL", cp.stderr)
        self.assertNotIn("Lattice listening", cp.stdout)

    def test_zz_readiness_follows_the_database(self):  # zz: runs last, it stops the cluster
        url = _pg.create_database()
        with LatticeServer("--database", url) as srv:
            self.assertEqual(call(srv, "GET", "/readyz"), (200, {"status": "ready"}))
            _pg.stop()
            try:
                status, body = call(srv, "GET", "/readyz")
                self.assertEqual(status, 503, body)
                self.assertEqual(call(srv, "GET", "/healthz")[0], 200)  # alive, not ready
            finally:
                _pg.restart()
            deadline = time.monotonic() + 10
            while call(srv, "GET", "/readyz")[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(call(srv, "GET", "/readyz"), (200, {"status": "ready"}))
            status, _ = call(srv, "POST", "/api/v1/auth/register",
                             {"email": "after@example.com", "password": PASSWORD})
            self.assertEqual(status, 201)


if __name__ == "__main__":
    unittest.main()
