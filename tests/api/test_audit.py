"""The audit trail through the real binary: sign-ups, sign-ins (failed ones too), sign-outs,
password changes, invites, join tokens, node joins and workload actions are recorded with who,
what, when, from where and the outcome; an admin pages through them newest first; attempted
passwords are never recorded; X-Forwarded-For counts only from a --trusted-proxy."""

import calendar
import time
import unittest

import accounts
import agent_link
import openapi_check
from accounts import call
from lattice_server import LatticeServer

AUDIT = "/api/v1/audit"
WRONG_PASSWORD = "attempted-wrong-password-71"


def trail(srv, admin, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    status, headers, body = srv.request("GET", AUDIT + ("?" + q if q else ""), token=admin)
    openapi_check.check("GET", AUDIT, status, headers, body)
    assert status == 200, body
    return body


def everything(srv, admin):
    events, before = [], None
    while True:
        page = trail(srv, admin, limit=500, **({"before": before} if before else {}))
        events += page["items"]
        before = page["next_before"]
        if before is None:
            return events


class AuditTrail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer()
        cls.srv.__enter__()
        cls.started = time.time()
        cls.admin_body = accounts.sign_up(cls.srv, "root@example.com")
        cls.admin = cls.admin_body["token"]
        cls.alice_body = accounts.invited(cls.srv, cls.admin, "alice@example.com")
        cls.alice = cls.alice_body["token"]
        srv = cls.srv
        # Sign-ins: a wrong password for a real account, one for an unknown account, one that
        # puts something password-like into the email field, then a good one.
        for email in ("alice@example.com", "nobody@example.com", WRONG_PASSWORD):
            status, _ = call(srv, "POST", accounts.LOGIN,
                             {"email": email, "password": WRONG_PASSWORD})
            assert status == 401
        token = accounts.login(srv, "alice@example.com")
        call(srv, "POST", "/api/v1/auth/password",
             {"current_password": WRONG_PASSWORD, "new_password": "a new password"},
             token=token, expect=400)
        token = call(srv, "POST", "/api/v1/auth/password",
                     {"current_password": accounts.PASSWORD, "new_password": "a new password"},
                     token=token, expect=200)[1]["token"]
        cls.alice = token
        _, cls.workload = call(srv, "POST", "/api/v1/workloads",
                               {"name": "audited", "template": "postgres"}, token=token,
                               expect=201)
        for verb in ("stop", "start"):
            call(srv, "POST", "/api/v1/workloads/{id}/" + verb, token=token, expect=202,
                 id=cls.workload["id"])
        call(srv, "POST", "/api/v1/workloads/{id}/stop", token=token, expect=404,
             id="wl_someoneelses")
        call(srv, "DELETE", "/api/v1/workloads/{id}", token=token, expect=202,
             id=cls.workload["id"])
        call(srv, "POST", "/api/v1/auth/logout", token=token, expect=204)
        _, cls.join = call(srv, "POST", "/api/v1/nodes/join-tokens", token=cls.admin,
                           expect=201)
        cls.welcome = agent_link.hello(srv, join_token=cls.join["token"], name="n1")
        cls.refused = agent_link.hello(srv, join_token="ljt_forged", name="n2")
        cls.invite = accounts.create_invite(srv, cls.admin, "spare")
        call(srv, "DELETE", "/api/v1/invites/{id}", token=cls.admin, expect=204,
             id=cls.invite["id"])
        call(srv, "POST", accounts.REGISTER,
             {"email": "eve@example.com", "password": accounts.PASSWORD, "invite": "lin_guess"})
        cls.events = everything(srv, cls.admin)
        cls.finished = time.time()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def find(self, action, outcome="success", **fields):
        found = [e for e in self.events if e["action"] == action and e["outcome"] == outcome
                 and all(e.get(k) == v for k, v in fields.items())]
        self.assertTrue(found, f"no {outcome} {action} {fields} in {self.events}")
        return found

    def test_who_what_when_where_and_outcome(self):
        admin = {"id": self.admin_body["user"]["id"], "email": "root@example.com"}
        alice = {"id": self.alice_body["user"]["id"], "email": "alice@example.com"}
        wid = self.workload["id"]
        self.find("auth.register", actor=admin, target=admin["id"])
        self.find("auth.register", actor=alice, target=alice["id"])
        self.find("auth.register", "failure", actor=None)  # eve's guessed invite
        failed = self.find("auth.login", "failure", actor=None)
        self.assertEqual(len(failed), 3)
        self.assertEqual(sorted(e["target"] or "" for e in failed), ["", "", alice["id"]])
        self.find("auth.login", actor=alice, target=alice["id"])
        self.find("auth.password_change", "failure", actor=alice)
        self.find("auth.password_change", actor=alice)
        self.find("auth.logout", actor=alice)
        for action in ("workload.create", "workload.stop", "workload.start", "workload.delete"):
            self.find(action, actor=alice, target=wid)
        self.find("workload.stop", "failure", actor=alice, target="wl_someoneelses")
        self.find("join_token.create", actor=admin)
        self.find("node.join", actor=None, target=self.welcome["node_id"])
        self.find("node.join", "failure", actor=None)
        self.find("invite.create", actor=admin, target=self.invite["id"])
        self.find("invite.delete", actor=admin, target=self.invite["id"])
        for e in self.events:
            self.assertEqual(e["client_address"], "127.0.0.1", e)
            at = calendar.timegm(time.strptime(e["at"], "%Y-%m-%dT%H:%M:%SZ"))
            self.assertTrue(self.started - 2 <= at <= self.finished + 2, e)

    def test_newest_first_and_paged(self):
        ids = [e["id"] for e in self.events]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertEqual(len(set(ids)), len(ids))
        pages, before = [], None
        while True:
            page = trail(self.srv, self.admin, limit=3, **({"before": before} if before else {}))
            self.assertLessEqual(len(page["items"]), 3)
            pages += page["items"]
            before = page["next_before"]
            if before is None:
                break
            self.assertEqual(before, page["items"][-1]["id"])
        # Paging saw the same events (and any recorded since, which come first).
        paged = [e["id"] for e in pages]
        self.assertEqual(paged[len(paged) - len(ids):], ids)

    def test_no_secret_is_recorded(self):
        text = repr(self.events)
        for secret in (WRONG_PASSWORD, accounts.PASSWORD, "a new password", self.join["token"],
                       self.invite["code"], self.admin, self.alice, "lin_guess",
                       *self.workload["credentials"].values()):
            self.assertNotIn(secret, text)

    def test_bad_queries(self):
        for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"),
                             ("before=0", "before"), ("before=-3", "before"),
                             ("before=1e3", "before")):
            with self.subTest(query=query):
                status, _, body = self.srv.request("GET", f"{AUDIT}?{query}", token=self.admin)
                self.assertEqual(status, 400, body)
                self.assertEqual([e["field"] for e in body["errors"]], [field])

    def test_only_admins_read_it(self):
        user = accounts.invited(self.srv, self.admin, "reader@example.com")["token"]
        self.assertEqual(call(self.srv, "GET", AUDIT, token=user)[0], 403)
        self.assertEqual(call(self.srv, "GET", AUDIT)[0], 401)


class ClientAddress(unittest.TestCase):
    def last_login_address(self, srv, forwarded_for):
        admin = accounts.sign_up(srv, "root@example.com")["token"]
        status, _, _ = srv.request("POST", accounts.LOGIN,
                                   {"email": "root@example.com", "password": accounts.PASSWORD},
                                   headers={"X-Forwarded-For": forwarded_for})
        self.assertEqual(status, 200)
        logins = [e for e in trail(srv, admin)["items"] if e["action"] == "auth.login"]
        return logins[0]["client_address"]

    def test_forwarded_for_is_ignored_by_default(self):
        with LatticeServer() as srv:
            self.assertEqual(self.last_login_address(srv, "203.0.113.9"), "127.0.0.1")

    def test_forwarded_for_names_the_client_behind_a_trusted_proxy(self):
        with LatticeServer("--trusted-proxy", "127.0.0.0/8") as srv:
            self.assertEqual(self.last_login_address(srv, "198.51.100.1, 203.0.113.9"),
                             "203.0.113.9")

    def test_a_bad_trusted_proxy_stops_the_start(self):
        srv = LatticeServer("--trusted-proxy", "proxy.example")
        with self.assertRaises(AssertionError) as e:
            srv.__enter__()
        self.assertIn("--trusted-proxy", str(e.exception))


if __name__ == "__main__":
    unittest.main()
