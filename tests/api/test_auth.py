"""Accounts and sessions through the real binary: /api/v1/auth/*.

Every response is validated against docs/openapi.yaml. Token expiry itself is unit-tested in
src/auth/auth_test.cc (an injected clock); here a token whose expiry was edited must fail its
signature check, since --session-ttl cannot go below 60 s.
"""

import concurrent.futures
import itertools
import json
import socket
import unittest

import openapi_check
from lattice_server import LatticeServer

PASSWORD = "correct horse battery"
REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"
PASSWORD_CHANGE = "/api/v1/auth/password"

# These tests are about accounts, not who may have one: anyone may sign up (test_access.py
# covers the registration policies).
OPEN = ("--registration", "open")

_ids = itertools.count()


def fresh_email(tag="user"):
    return f"{tag}{next(_ids)}@example.com"


def field_names(body):
    return sorted(e["field"] for e in body.get("errors", []))


_shared = None    # one server for most tests (starting and stopping one takes ~2 s)
_first = None     # the first account registered on it: (status, headers, body)


def setUpModule():
    global _shared, _first
    _shared = LatticeServer(*OPEN)
    _shared.__enter__()
    _first = _shared.request("POST", REGISTER, {"email": "root@example.com", "password": PASSWORD})
    if _first[0] != 201:
        _shared.__exit__(None, None, None)
        raise AssertionError(f"registering the first account failed: {_first}")


def tearDownModule():
    _shared.__exit__(None, None, None)


class AuthTestCase(unittest.TestCase):
    """Tests on the shared server; call() validates every response against the spec.

    At most 20 failed sign-ins may happen on the shared server in all (the per-address limit):
    tests that need more get their own server (own_server = True)."""

    own_server = False

    @classmethod
    def setUpClass(cls):
        if cls.own_server:
            cls.srv = LatticeServer(*OPEN)
            cls.srv.__enter__()
        else:
            cls.srv = _shared

    @classmethod
    def tearDownClass(cls):
        if cls.own_server:
            cls.srv.__exit__(None, None, None)

    def call(self, method, path, body=None, token=None, raw=None, headers=None, srv=None,
             source_address=None):
        status, hdrs, data = (srv or self.srv).request(method, path, body=body, token=token,
                                                       raw=raw, headers=headers,
                                                       source_address=source_address)
        openapi_check.check(method, path, status, hdrs, data)
        return status, hdrs, data

    def register(self, email=None, password=PASSWORD, expect=201):
        email = email or fresh_email()
        status, _, body = self.call("POST", REGISTER, {"email": email, "password": password})
        self.assertEqual(status, expect, body)
        return body

    def login(self, email, password=PASSWORD, **kw):
        return self.call("POST", LOGIN, {"email": email, "password": password}, **kw)

    def assertProblem(self, status, headers, body, expected_status):
        self.assertEqual(status, expected_status, body)
        self.assertEqual(headers.get("Content-Type"), "application/problem+json")
        self.assertEqual(body["status"], expected_status)


class RegisterTest(AuthTestCase):
    def test_first_account_is_admin_later_ones_users(self):
        status, headers, first = _first
        openapi_check.check("POST", REGISTER, status, headers, first)
        self.assertEqual(first["user"]["role"], "admin")
        second = self.register()
        self.assertEqual(second["user"]["role"], "user")
        self.assertNotEqual(second["user"]["id"], first["user"]["id"])
        status, _, me = self.call("GET", ME, token=first["token"])
        self.assertEqual((status, me["role"]), (200, "admin"))

    def test_register_returns_user_and_working_token(self):
        email = fresh_email()
        body = self.register(email)
        self.assertEqual(set(body), {"user", "token", "expires_at"})
        self.assertEqual(body["user"]["email"], email)
        status, _, me = self.call("GET", ME, token=body["token"])
        self.assertEqual(status, 200, me)
        self.assertEqual(me, body["user"])

    def test_email_is_normalised_and_unique(self):
        body = self.register("  Alice@Example.COM ")
        self.assertEqual(body["user"]["email"], "alice@example.com")
        for again in ("alice@example.com", "ALICE@example.com", "\talice@EXAMPLE.com\n"):
            with self.subTest(email=again):
                status, headers, problem = self.call(
                    "POST", REGISTER, {"email": again, "password": PASSWORD})
                self.assertProblem(status, headers, problem, 409)
                self.assertEqual(problem["type"], "urn:lattice:problem:conflict")
                self.assertEqual(field_names(problem), ["email"])
        status, _, _ = self.login("ALICE@example.com ")
        self.assertEqual(status, 200)

    def test_password_policy(self):
        cases = {
            "short": "123456789",                # 9 characters
            "short in code points": "é" * 9,     # 18 bytes, 9 code points
            "long": "x" * 257,
        }
        for name, password in cases.items():
            with self.subTest(case=name):
                status, headers, body = self.call(
                    "POST", REGISTER, {"email": fresh_email(), "password": password})
                self.assertProblem(status, headers, body, 400)
                self.assertEqual(body["type"], "urn:lattice:problem:validation-error")
                self.assertEqual(field_names(body), ["password"])
        self.register(password="0123456789")     # exactly 10 is enough
        self.register(password="é" * 10)         # code points, not bytes
        self.register(password="x" * 256)

    def test_every_bad_field_reported_at_once(self):
        status, headers, body = self.call("POST", REGISTER,
                                          {"email": "not-an-email", "password": "short"})
        self.assertProblem(status, headers, body, 400)
        self.assertEqual(field_names(body), ["email", "password"])
        for e in body["errors"]:
            self.assertTrue(e["message"])

    def test_invalid_emails(self):
        for email in ("", "   ", "no-at-sign", "@example.com", "a@b", "a@@b.com", "a b@c.com",
                      "a@example.", "a@.example.com", "x" * 250 + "@example.com"):
            with self.subTest(email=email):
                status, headers, body = self.call("POST", REGISTER,
                                                  {"email": email, "password": PASSWORD})
                self.assertProblem(status, headers, body, 400)
                self.assertEqual(field_names(body), ["email"])

    def test_missing_fields(self):
        for payload, fields in (({}, ["email", "password"]),
                                ({"email": fresh_email()}, ["password"]),
                                ({"password": PASSWORD}, ["email"]),
                                ({"email": None, "password": None}, ["email", "password"])):
            with self.subTest(payload=payload):
                status, headers, body = self.call("POST", REGISTER, payload)
                self.assertProblem(status, headers, body, 400)
                self.assertEqual(field_names(body), fields)
                self.assertTrue(all(e["message"] == "is required" for e in body["errors"]))

    def test_empty_body(self):
        status, headers, body = self.call("POST", REGISTER, raw=b"",
                                          headers={"Content-Type": "application/json"})
        self.assertProblem(status, headers, body, 400)
        status, headers, body = self.call("POST", REGISTER)
        self.assertProblem(status, headers, body, 400)

    def test_wrong_types(self):
        status, headers, body = self.call("POST", REGISTER, {"email": 5, "password": ["x"]})
        self.assertProblem(status, headers, body, 400)
        self.assertEqual(field_names(body), ["email", "password"])
        self.assertTrue(all(e["message"] == "must be a string" for e in body["errors"]))
        for payload in ([{"email": "a@b.co", "password": PASSWORD}], "text", 42, None):
            with self.subTest(payload=payload):
                status, headers, body = self.call("POST", REGISTER, raw=json.dumps(payload),
                                                  headers={"Content-Type": "application/json"})
                self.assertProblem(status, headers, body, 400)
                self.assertEqual(body["type"], "urn:lattice:problem:bad-request")
                self.assertNotIn("errors", body)

    def test_unknown_members_are_refused(self):
        email = fresh_email()
        status, headers, body = self.call("POST", REGISTER, {"email": email, "password": PASSWORD,
                                                             "role": "admin"})
        self.assertProblem(status, headers, body, 400)
        self.assertEqual(field_names(body), ["role"])
        self.assertEqual(self.login(email)[0], 401)  # no account was created


class LoginTest(AuthTestCase):
    def test_login(self):
        email = fresh_email()
        reg = self.register(email)
        status, _, body = self.login(email)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user"], reg["user"])
        self.assertNotEqual(body["token"], reg["token"])
        for token in (reg["token"], body["token"]):  # sessions are independent
            self.assertEqual(self.call("GET", ME, token=token)[0], 200)

    def test_wrong_password_and_unknown_email_look_the_same(self):
        email = fresh_email()
        self.register(email)
        s1, h1, wrong_password = self.login(email, PASSWORD + "!")
        s2, h2, unknown_email = self.login(fresh_email("nobody"))
        self.assertProblem(s1, h1, wrong_password, 401)
        self.assertProblem(s2, h2, unknown_email, 401)
        for key in ("type", "title", "detail", "instance"):
            self.assertEqual(wrong_password[key], unknown_email[key], key)

    def test_missing_fields(self):
        status, headers, body = self.call("POST", LOGIN, {"email": fresh_email()})
        self.assertProblem(status, headers, body, 400)
        self.assertEqual(field_names(body), ["password"])
        status, headers, body = self.call("POST", LOGIN, {"email": 1, "password": 2})
        self.assertProblem(status, headers, body, 400)
        self.assertEqual(field_names(body), ["email", "password"])

    def test_backs_off_per_account_and_address(self):
        email, other = fresh_email(), fresh_email()
        self.register(email)
        self.register(other)
        for _ in range(4):  # three free failures, then a backoff (test_sessions.py has more)
            self.assertEqual(self.login(email, "wrong password")[0], 401)
        # While backing off even the right password is refused (from this address), with
        # Retry-After.
        status, headers, body = self.login(email)
        self.assertProblem(status, headers, body, 429)
        retry_after = int(headers["Retry-After"])
        self.assertTrue(1 <= retry_after <= 2, retry_after)
        self.assertEqual(self.login(email.upper())[0], 429)  # the key is the normalised email
        # Other accounts are not affected, and existing sessions keep working.
        status, _, body = self.login(other)
        self.assertEqual(status, 200, body)


class AddressRateLimitTest(AuthTestCase):
    """Its own server: the per-address count is shared by every test on 127.0.0.1."""

    own_server = True

    def test_rate_limited_per_address(self):
        email = fresh_email()
        self.register(email)
        # 20 failures on 20 different accounts (no account reaches its own limit), a few at a
        # time: each one costs the server an argon2id verification.
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda e: self.login(e, "wrong password"),
                                    [fresh_email("spray") for _ in range(20)]))
        self.assertEqual([r[0] for r in results], [401] * 20, [r[2] for r in results])
        status, headers, body = self.login(email)
        self.assertProblem(status, headers, body, 429)
        self.assertTrue(1 <= int(headers["Retry-After"]) <= 15 * 60)
        status, headers, body = self.login(fresh_email("spray"))
        self.assertEqual(status, 429)
        # The limit is per client address: another loopback address still gets in.
        try:
            probe = socket.create_connection((self.srv.host, self.srv.port), timeout=2,
                                             source_address=("127.0.0.2", 0))
            probe.close()
        except OSError as e:
            self.skipTest(f"cannot bind 127.0.0.2 as a source address here ({e})")
        status, _, body = self.login(email, source_address=("127.0.0.2", 0))
        self.assertEqual(status, 200, body)


class SessionTest(AuthTestCase):
    def setUp(self):
        self.email = fresh_email()
        self.session = self.register(self.email)
        self.token = self.session["token"]

    def test_me(self):
        status, _, me = self.call("GET", ME, token=self.token)
        self.assertEqual(status, 200, me)
        self.assertEqual(set(me), {"id", "email", "role", "created_at"})
        self.assertEqual(me["id"], self.session["user"]["id"])
        self.assertEqual(me["email"], self.email)
        self.assertEqual(me["created_at"], self.session["user"]["created_at"])

    def test_logout_revokes_the_token(self):
        status, _, body = self.call("POST", LOGOUT, token=self.token)
        self.assertEqual(status, 204)
        self.assertIsNone(body)
        status, headers, body = self.call("GET", ME, token=self.token)
        self.assertProblem(status, headers, body, 401)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        status, headers, body = self.call("POST", LOGOUT, token=self.token)
        self.assertProblem(status, headers, body, 401)
        self.assertEqual(self.login(self.email)[0], 200)  # the account itself is fine

    def test_missing_or_malformed_authorization(self):
        for name, headers in (("none", {}),
                              ("basic", {"Authorization": "Basic dXNlcjpwYXNz"}),
                              ("empty bearer", {"Authorization": "Bearer "}),
                              ("garbage", {"Authorization": "Bearer not-a-token"}),
                              ("no scheme", {"Authorization": self.token}),
                              ("huge", {"Authorization": "Bearer " + "a" * 4000})):
            for method, path in (("GET", ME), ("POST", LOGOUT), ("POST", PASSWORD_CHANGE)):
                with self.subTest(case=name, path=path):
                    status, hdrs, body = self.call(method, path, headers=headers)
                    self.assertProblem(status, hdrs, body, 401)
                    self.assertEqual(hdrs.get("WWW-Authenticate"), "Bearer")
        # The scheme is case-insensitive.
        status, _, _ = self.call("GET", ME, headers={"Authorization": "bearer " + self.token})
        self.assertEqual(status, 200)

    def test_tampered_tokens_are_rejected(self):
        parts = self.token.split(".")
        self.assertEqual(len(parts), 5, "token layout changed: lt1.session.secret.expiry.sig")
        prefix, session, secret, expiry, sig = parts

        def flip(s, i):
            c = s[i]
            return s[:i] + ("A" if c != "A" else "B") + s[i + 1:]

        forged = {
            "signature, first char": ".".join([prefix, session, secret, expiry, flip(sig, 0)]),
            "signature, middle char": ".".join([prefix, session, secret, expiry,
                                                flip(sig, len(sig) // 2)]),
            "signature, last char": ".".join([prefix, session, secret, expiry,
                                              flip(sig, len(sig) - 1)]),
            "signature, truncated": ".".join([prefix, session, secret, expiry, sig[:-2]]),
            "signature, removed": ".".join([prefix, session, secret, expiry]),
            "expiry, later": ".".join([prefix, session, secret,
                                       str(int(expiry) + 10 * 365 * 86400), sig]),
            "expiry, earlier": ".".join([prefix, session, secret, str(int(expiry) - 1), sig]),
            "secret": ".".join([prefix, session, flip(secret, 3), expiry, sig]),
            "session id": ".".join([prefix, flip(session, 5), secret, expiry, sig]),
            "prefix": ".".join(["lt2", session, secret, expiry, sig]),
        }
        details = set()
        for name, token in forged.items():
            with self.subTest(tampered=name):
                self.assertNotEqual(token, self.token)
                status, headers, body = self.call("GET", ME, token=token)
                self.assertProblem(status, headers, body, 401)
                details.add(body["detail"])
        self.assertEqual(len(details), 1, f"forgeries should be indistinguishable: {details}")
        self.assertEqual(self.call("GET", ME, token=self.token)[0], 200)  # original still fine

    def test_change_password(self):
        other_session = self.login(self.email)[2]["token"]
        new_password = "a brand new passphrase"
        status, _, body = self.call("POST", PASSWORD_CHANGE,
                                    {"current_password": PASSWORD,
                                     "new_password": new_password}, token=self.token)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user"]["id"], self.session["user"]["id"])
        self.assertNotEqual(body["token"], self.token)
        # Every earlier session is revoked; the new token works.
        for old in (self.token, other_session):
            status, headers, problem = self.call("GET", ME, token=old)
            self.assertProblem(status, headers, problem, 401)
        self.assertEqual(self.call("GET", ME, token=body["token"])[0], 200)
        status, headers, problem = self.login(self.email, PASSWORD)
        self.assertProblem(status, headers, problem, 401)
        status, _, fresh = self.login(self.email, new_password)
        self.assertEqual(status, 200, fresh)

    def test_change_password_validation(self):
        cases = (
            ({"current_password": "wrong password", "new_password": "another passphrase"},
             ["current_password"]),
            ({"current_password": PASSWORD, "new_password": "short"}, ["new_password"]),
            ({}, ["current_password", "new_password"]),
            ({"current_password": 1, "new_password": None}, ["current_password", "new_password"]),
        )
        for payload, fields in cases:
            with self.subTest(payload=payload):
                status, headers, body = self.call("POST", PASSWORD_CHANGE, payload,
                                                  token=self.token)
                self.assertProblem(status, headers, body, 400)
                self.assertEqual(field_names(body), fields)
        # Nothing changed: the token and the old password still work.
        self.assertEqual(self.call("GET", ME, token=self.token)[0], 200)
        status, headers, body = self.call("POST", PASSWORD_CHANGE, ["not", "an", "object"],
                                          token=self.token)
        self.assertProblem(status, headers, body, 400)
        self.assertEqual(self.login(self.email)[0], 200)


if __name__ == "__main__":
    unittest.main()
