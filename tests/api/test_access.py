"""Who may use a server: --registration (open, invite, closed), sign-up invites, and per-user
quotas, through the real binary. Includes the races: one invite used by many sign-ups at once,
and many creates racing for a user's last quota slot."""

import concurrent.futures
import re
import unittest

import accounts
from accounts import call
from lattice_server import LatticeServer, run_lattice

CONFIG = "/api/v1/auth/config"
INVITES = "/api/v1/invites"
INVITE = "/api/v1/invites/{id}"
WORKLOADS = "/api/v1/workloads"
WORKLOAD = "/api/v1/workloads/{id}"


def sign_up_body(email, invite=None):
    body = {"email": email, "password": accounts.PASSWORD}
    if invite is not None:
        body["invite"] = invite
    return body


class InviteOnlyByDefault(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer()
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_01_the_first_account_needs_no_invite(self):
        self.assertEqual(call(self.srv, "GET", CONFIG, expect=200)[1],
                         {"registration": "invite", "first_account": True})
        admin = accounts.sign_up(self.srv, "root@example.com")
        self.assertEqual(admin["user"]["role"], "admin")
        self.assertEqual(call(self.srv, "GET", CONFIG, expect=200)[1],
                         {"registration": "invite", "first_account": False})

    def admin(self):
        return accounts.login(self.srv, "root@example.com")

    def test_02_later_accounts_need_a_valid_invite(self):
        status, body = call(self.srv, "POST", accounts.REGISTER, sign_up_body("a@example.com"))
        self.assertEqual(status, 403, body)
        self.assertEqual(body["type"], "urn:lattice:problem:invite-required")
        self.assertEqual([e["field"] for e in body["errors"]], ["invite"])
        self.assertIn("invite", body["detail"])
        for bad in ("lin_forged", "", "x" * 300):
            with self.subTest(invite=bad[:20]):
                status, body = call(self.srv, "POST", accounts.REGISTER,
                                    sign_up_body("a@example.com", bad))
                self.assertIn(status, (400, 403), body)
                self.assertEqual([e["field"] for e in body["errors"]], ["invite"])

    def test_03_an_invite_admits_one_account(self):
        admin = self.admin()
        inv = accounts.create_invite(self.srv, admin, "for Carol", ttl_seconds=3600)
        self.assertTrue(inv["code"].startswith("lin_"))
        self.assertEqual((inv["status"], inv["note"], inv["created_by"]["email"]),
                         ("pending", "for Carol", "root@example.com"))
        carol = accounts.sign_up(self.srv, "carol@example.com", invite=inv["code"])
        self.assertEqual(carol["user"]["role"], "user")
        status, body = call(self.srv, "POST", accounts.REGISTER,
                            sign_up_body("mallory@example.com", inv["code"]))
        self.assertEqual(status, 403, body)
        self.assertEqual(body["type"], "urn:lattice:problem:invite-invalid")
        _, listing = call(self.srv, "GET", INVITES, token=admin, expect=200)
        mine = [i for i in listing["items"] if i["id"] == inv["id"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["status"], "used")
        self.assertEqual(mine[0]["used_by"]["email"], "carol@example.com")
        self.assertNotIn("code", mine[0])  # shown once, at creation

    def test_04_a_failed_sign_up_does_not_use_the_invite(self):
        admin = self.admin()
        code = accounts.create_invite(self.srv, admin)["code"]
        status, body = call(self.srv, "POST", accounts.REGISTER,
                            sign_up_body("root@example.com", code))  # email taken
        self.assertEqual(status, 409, body)
        accounts.sign_up(self.srv, "dave@example.com", invite=code)

    def test_05_deleted_invites_no_longer_admit(self):
        admin = self.admin()
        inv = accounts.create_invite(self.srv, admin)
        call(self.srv, "DELETE", INVITE, token=admin, expect=204, id=inv["id"])
        call(self.srv, "DELETE", INVITE, token=admin, expect=404, id=inv["id"])
        status, body = call(self.srv, "POST", accounts.REGISTER,
                            sign_up_body("erin@example.com", inv["code"]))
        self.assertEqual((status, body["type"]), (403, "urn:lattice:problem:invite-invalid"))

    def test_06_invite_requests_are_validated(self):
        admin = self.admin()
        for body, field in (({"ttl_seconds": 59}, "ttl_seconds"),
                            ({"ttl_seconds": 10**12}, "ttl_seconds"),
                            ({"ttl_seconds": "long"}, "ttl_seconds"),
                            ({"note": "n" * 201}, "note"), ({"colour": "red"}, "colour")):
            with self.subTest(body=str(body)[:40]):
                status, problem = call(self.srv, "POST", INVITES, body, token=admin)
                self.assertEqual(status, 400, problem)
                self.assertEqual([e["field"] for e in problem["errors"]], [field])
        status, _, body = self.srv.request("POST", INVITES, token=admin)  # no body: defaults
        self.assertEqual(status, 201, body)

    def test_07_one_invite_used_by_many_sign_ups_at_once_admits_one(self):
        code = accounts.create_invite(self.srv, self.admin(), "raced")["code"]

        def attempt(i):
            return call(self.srv, "POST", accounts.REGISTER,
                        sign_up_body(f"racer{i}@example.com", code))

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            results = list(pool.map(attempt, range(12)))
        statuses = sorted(s for s, _ in results)
        self.assertEqual(statuses, [201] + [403] * 11, results)
        for status, body in results:
            if status == 403:
                self.assertEqual(body["type"], "urn:lattice:problem:invite-invalid")


class ClosedAndOpenRegistration(unittest.TestCase):
    def test_closed_admits_only_the_first_account(self):
        with LatticeServer("--registration", "closed") as srv:
            self.assertEqual(call(srv, "GET", CONFIG, expect=200)[1],
                             {"registration": "closed", "first_account": True})
            admin = accounts.sign_up(srv, "root@example.com")["token"]
            code = accounts.create_invite(srv, admin)["code"]
            for invite in (None, code):
                status, body = call(srv, "POST", accounts.REGISTER,
                                    sign_up_body("b@example.com", invite))
                self.assertEqual(status, 403, body)
                self.assertEqual(body["type"], "urn:lattice:problem:registration-closed")
                self.assertIn("closed", body["detail"])

    def test_open_admits_anyone(self):
        with LatticeServer(env={"LATTICE_REGISTRATION": "open"}) as srv:
            self.assertEqual(call(srv, "GET", CONFIG, expect=200)[1]["registration"], "open")
            accounts.sign_up(srv, "root@example.com")
            self.assertEqual(accounts.sign_up(srv, "b@example.com")["user"]["role"], "user")

    def test_defaults_invite_for_server_and_open_for_dev(self):
        for mode, default in (("server", "invite"), ("dev", "open")):
            with self.subTest(mode=mode):
                out = run_lattice(mode, "--help").stdout
                shown = re.search(r"--registration \S*=(\w+)", out)
                self.assertIsNotNone(shown, out)
                self.assertEqual(shown.group(1), default)

    def test_a_bad_mode_is_a_usage_error(self):
        cp = run_lattice("server", "--registration", "sometimes", "--data-dir", "/nonexistent")
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("registration", cp.stderr)


class Quotas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer("--quota-workloads", "3", "--quota-memory-mb", "2048",
                                "--quota-cpus", "2.5")
        cls.srv.__enter__()
        cls.admin = accounts.sign_up(cls.srv, "root@example.com")["token"]
        cls.users = iter(range(1000))

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def user(self):
        return accounts.invited(self.srv, self.admin, f"u{next(self.users)}@example.com")["token"]

    def create(self, token, name, memory_mb=None, cpus=None):
        resources = {}
        if memory_mb is not None:
            resources["memory_mb"] = memory_mb
        if cpus is not None:
            resources["cpus"] = cpus
        body = {"name": name, "template": "custom", "image": "busybox"}
        if resources:
            body["resources"] = resources
        return call(self.srv, "POST", WORKLOADS, body, token=token)

    def assert_exceeded(self, result, quota, limit, used, requested):
        status, body = result
        self.assertEqual(status, 403, body)
        self.assertEqual(body["type"], "urn:lattice:problem:quota-exceeded")
        self.assertEqual((body["quota"], body["limit"], body["used"], body["requested"]),
                         (quota, limit, used, requested))
        self.assertIn(str(limit), body["detail"])

    def test_workload_count(self):
        token = self.user()
        ids = [self.create(token, f"w{i}", 64, 0.1)[1]["id"] for i in range(3)]
        self.assert_exceeded(self.create(token, "w3", 64, 0.1), "workloads", 3, 3, 1)
        # Stopped workloads keep their share; starting one again never hits a quota.
        call(self.srv, "POST", WORKLOAD + "/stop", token=token, expect=202, id=ids[0])
        self.assert_exceeded(self.create(token, "w3", 64, 0.1), "workloads", 3, 3, 1)
        call(self.srv, "POST", WORKLOAD + "/start", token=token, expect=202, id=ids[0])
        # Deleting one frees its slot at once.
        call(self.srv, "DELETE", WORKLOAD, token=token, expect=202, id=ids[1])
        self.assertEqual(self.create(token, "w3", 64, 0.1)[0], 201)

    def test_memory_and_cpus(self):
        token = self.user()
        self.assertEqual(self.create(token, "big", 1536, 1)[0], 201)
        self.assert_exceeded(self.create(token, "more", 1024, 0.5), "memory_mb", 2048, 1536, 1024)
        self.assert_exceeded(self.create(token, "cpu", 256, 2), "cpus", 2.5, 1, 2)
        # No memory limit counts 256 MB; no CPU limit counts 1 CPU.
        self.assertEqual(self.create(token, "plain")[0], 201)
        self.assert_exceeded(self.create(token, "plain2", 16, 0.6), "cpus", 2.5, 2, 0.6)

    def test_quotas_are_per_user(self):
        a, b = self.user(), self.user()
        for i in range(3):
            self.assertEqual(self.create(a, f"w{i}", 16, 0.1)[0], 201)
        self.assertEqual(self.create(b, "w0", 16, 0.1)[0], 201)

    def test_concurrent_creates_cannot_both_take_the_last_slot(self):
        token = self.user()
        self.assertEqual(self.create(token, "first", 16, 0.1)[0], 201)

        def attempt(i):
            return self.create(token, f"race{i}", 16, 0.1)

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(attempt, range(16)))
        statuses = sorted(s for s, _ in results)
        self.assertEqual(statuses, [201, 201] + [403] * 14, results)
        _, listing = call(self.srv, "GET", WORKLOADS, token=token, expect=200)
        self.assertEqual(len(listing["items"]), 3)


if __name__ == "__main__":
    unittest.main()
