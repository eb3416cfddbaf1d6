"""The authorisation matrix, generated from the routing table the binary serves.

For every route `lattice routes` prints there must be an entry in ROUTES below (a new route
without one fails test_every_route_is_in_the_matrix), and the entry's access must be what the
server enforces. Then, for each route:
  - public: an anonymous caller is served (never 401);
  - user/admin: an anonymous caller, a forged token and a signed-out token get 401 with
    `WWW-Authenticate: Bearer`;
  - admin: a signed-in non-admin gets 403 and none of the data;
  - owned (a workload route): another user gets 404, exactly like a workload that does not
    exist, and none of the owner's data; the owner is served;
  - every allowed caller is served (the status the entry names).
Every response is validated against docs/openapi.yaml.

Also here: join tokens (expired, reused, forged and admin-only) through a real agent-link
hello, and the event stream's per-user filtering.
"""

import http.client
import json
import time
import unittest

import accounts
import agent_link
import openapi_check
from lattice_server import LatticeServer, read_until_closed, run_lattice

SECRET_ENV = "matrix-env-secret-value"


class Route:
    """How to call one route.

    access: "public", "user" or "admin" (must match `lattice routes`).
    owned: the route acts on one of the caller's workloads ({id}).
    ok: the statuses an allowed caller gets with `body` (a callable of the test, or a value).
    params: a callable(test) -> dict of path parameters for the allowed call.
    stream: the allowed answer is a stream (only its status line is read).
    """

    def __init__(self, access, ok=(200,), body=None, owned=False, params=None, stream=False,
                 query=""):
        self.access, self.ok, self.body, self.owned = access, set(ok), body, owned
        self.params, self.stream, self.query = params, stream, query


def new_invite(t):
    return {"id": accounts.create_invite(t.srv, t.admin)["id"]}


def new_workload(t):
    return {"id": t.deploy(t.owner, f"w{next(t.names)}")["id"]}


def target_body(t):
    return {"name": f"t{next(t.names)}", "endpoint": "https://s3.example.test",
            "bucket": "backups", "access_key": "AKMATRIX", "secret_key": "SKMATRIX"}


def new_target(t, token=None):
    """A backup target of `token`'s account (bob's, who the user-route test signs in as)."""
    token = token or t.other
    return accounts.call(t.srv, "POST", "/api/v1/backup-targets", target_body(t), token=token,
                         expect=201)[1]["id"]


def new_channel(t, token=None):
    """A notification channel of `token`'s account (bob's by default)."""
    return accounts.call(t.srv, "POST", "/api/v1/notification-channels",
                         {"kind": "webhook", "url": "https://hooks.example.test/x"},
                         token=token or t.other, expect=201)[1]["id"]


def workload_with_policy(t):
    """A fresh workload of the owner's with a backup policy."""
    wid = new_workload(t)["id"]
    accounts.call(t.srv, "PUT", "/api/v1/workloads/{id}/backup-policy",
                  {"target_id": new_target(t, t.owner)}, token=t.owner, expect=200, id=wid)
    return {"id": wid}


# Every route of the server. Owned routes get a fresh workload of the owner for each call
# that may change it.
ROUTES = {
    ("POST", "/api/v1/auth/register"): Route(
        "public", ok=(201,),
        body=lambda t: {"email": f"new{next(t.names)}@example.com",
                        "password": accounts.PASSWORD,
                        "invite": accounts.create_invite(t.srv, t.admin)["code"]}),
    ("GET", "/api/v1/auth/config"): Route("public"),
    ("POST", "/api/v1/auth/login"): Route(
        "public", body=lambda t: {"email": "alice@example.com", "password": accounts.PASSWORD}),
    ("POST", "/api/v1/auth/logout"): Route("user", ok=(204,)),
    ("GET", "/api/v1/auth/me"): Route("user"),
    ("POST", "/api/v1/auth/password"): Route(
        "user", ok=(400,),  # a wrong current password: served, and nothing changes
        body={"current_password": "not-the-password", "new_password": "another password"}),
    ("POST", "/api/v1/workloads"): Route(
        "user", ok=(201,),
        body=lambda t: {"name": f"m{next(t.names)}", "template": "postgres"}),
    ("GET", "/api/v1/workloads"): Route("user"),
    ("GET", "/api/v1/workloads/{id}"): Route("user", owned=True),
    ("DELETE", "/api/v1/workloads/{id}"): Route("user", owned=True, ok=(202,),
                                                params=new_workload),
    ("POST", "/api/v1/workloads/{id}/stop"): Route("user", owned=True, ok=(202,),
                                                   params=new_workload),
    ("POST", "/api/v1/workloads/{id}/start"): Route("user", owned=True, ok=(202,),
                                                    params=new_workload),
    ("GET", "/api/v1/workloads/{id}/events"): Route("user", owned=True),
    ("GET", "/api/v1/workloads/{id}/logs"): Route("user", owned=True,
                                                  ok=(409,)),  # not placed: no logs yet
    ("POST", "/api/v1/backup-targets"): Route("user", ok=(201,), body=target_body),
    ("GET", "/api/v1/backup-targets"): Route("user"),
    ("DELETE", "/api/v1/backup-targets/{id}"): Route("user", ok=(204,),
                                                     params=lambda t: {"id": new_target(t)}),
    ("POST", "/api/v1/backup-targets/{id}/check"): Route(
        "user", ok=(200,), params=lambda t: {"id": new_target(t)}),  # no node: untested
    ("PUT", "/api/v1/workloads/{id}/backup-policy"): Route(
        "user", owned=True, body=lambda t: {"target_id": new_target(t, t.owner)}),
    ("GET", "/api/v1/workloads/{id}/backup-policy"): Route("user", owned=True,
                                                           params=workload_with_policy),
    ("DELETE", "/api/v1/workloads/{id}/backup-policy"): Route("user", owned=True, ok=(204,),
                                                              params=workload_with_policy),
    ("POST", "/api/v1/workloads/{id}/backups"): Route(
        "user", owned=True, ok=(409,), params=workload_with_policy),  # not running: refused
    ("GET", "/api/v1/workloads/{id}/backups"): Route("user", owned=True),
    ("POST", "/api/v1/workloads/{id}/backups/{backup_id}/verify"): Route(
        "user", owned=True, ok=(404,),  # no such backup of the owner's workload
        params=lambda t: {"id": t.secret_workload["id"], "backup_id": "bk_none"}),
    ("POST", "/api/v1/workloads/{id}/restore"): Route(
        "user", owned=True, ok=(404, 409),  # no such backup / not PostgreSQL
        body={"name": "restored", "backup_id": "bk_none"}),
    ("GET", "/api/v1/workloads/{id}/backups/{backup_id}"): Route(
        "user", owned=True, ok=(404,),  # no such backup of the owner's workload
        params=lambda t: {"id": t.secret_workload["id"], "backup_id": "bk_none"}),
    ("GET", "/api/v1/workloads/{id}/metrics"): Route("user", owned=True),
    ("GET", "/api/v1/workloads/{id}/probes"): Route("user", owned=True),
    ("POST", "/api/v1/notification-channels"): Route(
        "user", ok=(201,), body={"kind": "webhook", "url": "https://hooks.example.test/x"}),
    ("GET", "/api/v1/notification-channels"): Route("user"),
    ("GET", "/api/v1/notification-channels/{id}"): Route(
        "user", params=lambda t: {"id": new_channel(t)}),
    ("DELETE", "/api/v1/notification-channels/{id}"): Route(
        "user", ok=(204,), params=lambda t: {"id": new_channel(t)}),
    ("POST", "/api/v1/notification-channels/{id}/test"): Route(
        "user", ok=(202,), params=lambda t: {"id": new_channel(t)}),
    ("GET", "/api/v1/notification-channels/{id}/deliveries"): Route(
        "user", params=lambda t: {"id": new_channel(t)}),
    ("GET", "/api/v1/nodes"): Route("user"),
    ("GET", "/api/v1/nodes/{id}/metrics"): Route(
        "admin", ok=(404,), params=lambda t: {"id": "node_none"}),  # no agent joined here
    ("POST", "/api/v1/nodes/join-tokens"): Route("admin", ok=(201,)),
    ("POST", "/api/v1/invites"): Route("admin", ok=(201,), body={"note": "matrix"}),
    ("GET", "/api/v1/invites"): Route("admin"),
    ("DELETE", "/api/v1/invites/{id}"): Route("admin", ok=(204,), params=new_invite),
    ("GET", "/api/v1/audit"): Route("admin"),
    ("GET", "/api/v1/events"): Route("user", stream=True),
    ("GET", "/api/v1/agent/link"): Route("public", ok=(400,)),  # not a WebSocket upgrade
    ("GET", "/healthz"): Route("public"),
    ("GET", "/readyz"): Route("public"),
    ("GET", "/metrics"): Route("admin"),
    ("GET", "/"): Route("public"),
    ("GET", "/login"): Route("public"),
    ("GET", "/signup"): Route("public"),
    ("GET", "/nodes"): Route("public"),
    ("GET", "/invites"): Route("public"),
    ("GET", "/audit"): Route("public"),
    ("GET", "/workloads/{id}"): Route("public", params=lambda t: {"id": "wl_whatever"}),
    ("GET", "/workloads/{id}/{tab}"): Route("public",
                                          params=lambda t: {"id": "wl_whatever", "tab": "backups"}),
    ("GET", "/backup-targets"): Route("public"),
    ("GET", "/notifications"): Route("public"),
    ("GET", "/assets/{file}"): Route("public", ok=(404,), params=lambda t: {"file": "none.js"}),
}


def served_routes():
    cp = run_lattice("routes")
    assert cp.returncode == 0, cp.stderr
    return [(r["method"], r["path"], r["access"]) for r in json.loads(cp.stdout)]


def forged(token):
    """The token with a character in the middle of its signature changed."""
    i = len(token) - 10
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


class AuthorisationMatrix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer()  # the default: registration by invite
        cls.srv.__enter__()
        cls.names = iter(range(10**6))
        cls.admin = accounts.sign_up(cls.srv, "root@example.com")["token"]
        cls.owner = accounts.invited(cls.srv, cls.admin, "alice@example.com")["token"]
        cls.other = accounts.invited(cls.srv, cls.admin, "bob@example.com")["token"]
        # A signed-out token: valid signature, revoked session.
        cls.revoked = accounts.login(cls.srv, "bob@example.com")
        accounts.call(cls.srv, "POST", "/api/v1/auth/logout", token=cls.revoked, expect=204)
        cls.secret_workload = cls.deploy(cls.owner, "private-db",
                                         env={"MATRIX_SECRET": SECRET_ENV})
        cls.routes = served_routes()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    @classmethod
    def deploy(cls, token, name, **extra):
        _, body = accounts.call(cls.srv, "POST", "/api/v1/workloads",
                                {"name": name, "template": "postgres", **extra}, token=token,
                                expect=201)
        return body

    # -- calling ---------------------------------------------------------------------------

    def request(self, method, pattern, route, token, params):
        path = pattern.format(**params) + route.query
        body = route.body(self) if callable(route.body) else route.body
        if route.stream:
            return self.stream_status(method, path, token)
        status, headers, data = self.srv.request(method, path, body=body, token=token)
        openapi_check.check(method, pattern, status, headers, data)
        return status, headers, data

    def stream_status(self, method, path, token):
        """The status of a streamed answer (read no further than its header)."""
        conn = self.srv.connection(timeout=5)
        try:
            conn.request(method, path, headers={"Authorization": f"Bearer {token}"}
                         if token else {})
            resp = conn.getresponse()
            if resp.status != 200:
                data = resp.read()
                return resp.status, resp.headers, json.loads(data) if data else None
            return resp.status, resp.headers, None
        finally:
            conn.close()

    def params_for(self, pattern, route):
        if route.params:
            return route.params(self)
        if route.owned:
            return {"id": self.secret_workload["id"]}
        return {}

    def assert_no_owner_data(self, data, where):
        text = json.dumps(data) if not isinstance(data, str) else data
        for leak in ("private-db", SECRET_ENV, "alice@example.com",
                     *self.secret_workload["credentials"].values()):
            self.assertNotIn(leak, text or "", f"{where} leaked {leak!r}")

    # -- the matrix ------------------------------------------------------------------------

    def test_every_route_is_in_the_matrix(self):
        served = {(m, p) for m, p, _ in self.routes}
        missing = sorted(f"{m} {p}" for m, p in served - set(ROUTES))
        self.assertEqual(missing, [], "routes without an authorisation-matrix entry: add one")
        stale = sorted(f"{m} {p}" for m, p in set(ROUTES) - served)
        self.assertEqual(stale, [], "matrix entries for routes the server no longer has")
        for m, p, access in self.routes:
            self.assertEqual(ROUTES[(m, p)].access, access, f"{m} {p}: access changed")

    def test_anonymous_and_bad_tokens_get_401_on_protected_routes(self):
        for method, pattern, access in self.routes:
            route = ROUTES[(method, pattern)]
            if access == "public":
                continue
            params = self.params_for(pattern, route) if not route.params else {
                "id": "inv_none" if "invites" in pattern else self.secret_workload["id"],
                "backup_id": "bk_none"}
            for who, token in (("anonymous", None), ("forged", forged(self.owner)),
                               ("signed out", self.revoked), ("garbage", "not-a-token")):
                with self.subTest(route=f"{method} {pattern}", caller=who):
                    status, headers, data = self.request(method, pattern, route, token, params)
                    self.assertEqual(status, 401, data)
                    self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
                    self.assert_no_owner_data(data, f"{method} {pattern} as {who}")

    def test_public_routes_serve_anonymous_callers(self):
        for method, pattern, access in self.routes:
            if access != "public":
                continue
            route = ROUTES[(method, pattern)]
            with self.subTest(route=f"{method} {pattern}"):
                status, _, data = self.request(method, pattern, route, None,
                                               self.params_for(pattern, route))
                self.assertIn(status, route.ok, data)

    def test_non_admins_get_403_on_admin_routes(self):
        for method, pattern, access in self.routes:
            if access != "admin":
                continue
            route = ROUTES[(method, pattern)]
            params = self.params_for(pattern, route)
            with self.subTest(route=f"{method} {pattern}"):
                status, _, data = self.request(method, pattern, route, self.owner, params)
                self.assertEqual(status, 403, data)
                self.assertEqual(data["type"], "urn:lattice:problem:forbidden")
                self.assertEqual(set(data), {"type", "title", "status", "detail", "instance"})
                status, _, data = self.request(method, pattern, route, self.admin, params)
                self.assertIn(status, route.ok, data)

    def test_other_users_get_404_for_someone_elses_workload(self):
        for method, pattern, access in self.routes:
            route = ROUTES[(method, pattern)]
            if not route.owned:
                continue
            params = self.params_for(pattern, route)
            with self.subTest(route=f"{method} {pattern}"):
                status, _, theirs = self.request(method, pattern, route, self.other, params)
                self.assertEqual(status, 404, theirs)
                self.assert_no_owner_data(theirs, f"{method} {pattern} as another user")
                # Exactly what a workload that does not exist gets (apart from the id echoed).
                _, _, missing = self.request(method, pattern, route, self.other,
                                             {**params, "id": "wl_doesnotexist"})
                self.assertEqual((theirs["type"], theirs["title"]),
                                 (missing["type"], missing["title"]))
                self.assertEqual(theirs["detail"].replace(params["id"], "X"),
                                 missing["detail"].replace("wl_doesnotexist", "X"))
                # The admin is no exception: workloads are their owner's alone.
                status, _, data = self.request(method, pattern, route, self.admin, params)
                self.assertEqual(status, 404, data)
                # The owner is served.
                status, _, data = self.request(method, pattern, route, self.owner, params)
                self.assertIn(status, route.ok, data)

    def test_signed_in_users_are_served_on_user_routes(self):
        for method, pattern, access in self.routes:
            route = ROUTES[(method, pattern)]
            if access != "user" or route.owned:
                continue
            with self.subTest(route=f"{method} {pattern}"):
                token = accounts.login(self.srv, "bob@example.com")  # logout revokes it
                status, _, data = self.request(method, pattern, route, token,
                                               self.params_for(pattern, route))
                self.assertIn(status, route.ok, data)
                self.assert_no_owner_data(data, f"{method} {pattern} as another user")

    def test_lists_and_the_event_stream_show_only_the_callers_own(self):
        _, theirs = accounts.call(self.srv, "GET", "/api/v1/workloads", token=self.other,
                                  expect=200)
        self.assertNotIn(self.secret_workload["id"], [w["id"] for w in theirs["items"]])
        with self.srv.raw_socket() as other, self.srv.raw_socket() as owner:
            for sock, token in ((other, self.other), (owner, self.owner)):
                sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                             + token.encode() + b"\r\n\r\n")
            time.sleep(0.3)  # both subscribed
            w = self.deploy(self.owner, "announced")
            seen_owner, seen_other = b"", b""
            deadline = time.monotonic() + 5
            while w["id"].encode() not in seen_owner and time.monotonic() < deadline:
                seen_owner += read_until_closed(owner, 0.2)[0]
            seen_other += read_until_closed(other, 0.5)[0]
        self.assertIn(w["id"].encode(), seen_owner)
        self.assertIn(b"200 OK", seen_other)
        self.assertNotIn(w["id"].encode(), seen_other)


class JoinTokens(unittest.TestCase):
    """Join tokens through the agent link, as an agent presents them."""

    @classmethod
    def setUpClass(cls):
        # Expiry is whole seconds (a token made at x.9 with TTL 1 is dead at x+1.0),
        # so the TTL leaves room for a loaded CI machine between issue and use.
        cls.srv = LatticeServer("--join-token-ttl", "3")
        cls.srv.__enter__()
        cls.admin = accounts.sign_up(cls.srv, "root@example.com")["token"]
        cls.user = accounts.invited(cls.srv, cls.admin, "user@example.com")["token"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def token(self):
        return accounts.call(self.srv, "POST", "/api/v1/nodes/join-tokens", token=self.admin,
                             expect=201)[1]["token"]

    def nodes(self):
        return accounts.call(self.srv, "GET", "/api/v1/nodes", token=self.admin,
                             expect=200)[1]["items"]

    def test_a_token_joins_once(self):
        token = self.token()
        first = agent_link.hello(self.srv, join_token=token, name="first")
        self.assertEqual(first["type"], "welcome", first)
        reused = agent_link.hello(self.srv, join_token=token, name="copycat")
        self.assertEqual(reused["type"], "error", reused)
        self.assertIn("already used", reused["message"])
        self.assertEqual([n["name"] for n in self.nodes()].count("copycat"), 0)

    def test_expired_and_forged_tokens_are_refused(self):
        expired = self.token()
        time.sleep(4.1)  # --join-token-ttl 3
        for name, token in (("expired", expired), ("forged", "ljt_" + "A" * 43),
                            ("altered", self.token()[:-1] + "x"), ("empty", "")):
            with self.subTest(token=name):
                answer = agent_link.hello(self.srv, join_token=token, name=name)
                self.assertEqual(answer["type"], "error", answer)
                self.assertNotIn(name, [n["name"] for n in self.nodes()])

    def test_a_node_secret_cannot_be_guessed(self):
        token = self.token()
        welcome = agent_link.hello(self.srv, join_token=token, name="real")
        self.assertEqual(welcome["type"], "welcome")
        wrong = agent_link.hello(self.srv, node_id=welcome["node_id"], node_secret="guess")
        self.assertEqual(wrong["type"], "error", wrong)
        right = agent_link.hello(self.srv, node_id=welcome["node_id"],
                                 node_secret=welcome["node_secret"])
        self.assertEqual(right["type"], "welcome", right)

    def test_only_admins_create_join_tokens(self):
        status, body = accounts.call(self.srv, "POST", "/api/v1/nodes/join-tokens",
                                     token=self.user)
        self.assertEqual(status, 403, body)
        self.assertNotIn("token", body)
        status, body = accounts.call(self.srv, "POST", "/api/v1/nodes/join-tokens")
        self.assertEqual(status, 401, body)


if __name__ == "__main__":
    unittest.main()
