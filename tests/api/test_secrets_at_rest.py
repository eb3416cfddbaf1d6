"""Secrets are not readable in the data directory's files.

Drives a server through everything that handles a secret — sign-ups and password changes,
a failed sign-in, sessions, invites, a join token and a node's credential, workloads with
generated credentials and an env secret — then reads every file under the data directory
(the database, its WAL and shared-memory files, the key file, anything else) while the server
runs and again after it stops, and looks for each secret: in clear, hex and base64."""

import base64
import os
import unittest

import accounts
import agent_link
from accounts import call
from lattice_server import LatticeServer

USER_PASSWORD = "user-known-password-6f1c"
NEW_PASSWORD = "changed-known-password-93ad"
FAILED_ATTEMPT = "failed-attempt-password-2be7"
ENV_SECRET = "env-secret-value-7d44a1"


def forms(secret):
    raw = secret.encode()
    return {"clear": raw, "hex": raw.hex().encode(), "base64": base64.b64encode(raw),
            "base64url": base64.urlsafe_b64encode(raw).rstrip(b"=")}


class SecretsAtRest(unittest.TestCase):
    def test_no_secret_is_readable_in_the_data_dir(self):
        with LatticeServer() as srv:
            admin = accounts.sign_up(srv, "root@example.com")["token"]
            code = accounts.create_invite(srv, admin)["code"]
            user = accounts.sign_up(srv, "user@example.com", invite=code,
                                    password=USER_PASSWORD)["token"]
            self.assertEqual(call(srv, "POST", accounts.LOGIN,
                                  {"email": "user@example.com", "password": FAILED_ATTEMPT})[0],
                             401)
            _, pg = call(srv, "POST", "/api/v1/workloads", {"name": "db", "template": "postgres"},
                         token=user, expect=201)
            _, s3 = call(srv, "POST", "/api/v1/workloads", {"name": "s3", "template": "minio"},
                         token=user, expect=201)
            _, custom = call(srv, "POST", "/api/v1/workloads",
                             {"name": "app", "template": "custom", "image": "busybox",
                              "env": {"API_KEY": ENV_SECRET}}, token=user, expect=201)
            spare = accounts.create_invite(srv, admin, "unused")["code"]
            _, join = call(srv, "POST", "/api/v1/nodes/join-tokens", token=admin, expect=201)
            welcome = agent_link.hello(srv, join_token=join["token"], name="n1")
            self.assertEqual(welcome["type"], "welcome", welcome)
            _, changed = call(srv, "POST", "/api/v1/auth/password",
                              {"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD},
                              token=user, expect=200)

            secrets = {
                "the user's password": USER_PASSWORD,
                "the user's new password": NEW_PASSWORD,
                "the first account's password": accounts.PASSWORD,
                "a failed sign-in's password": FAILED_ATTEMPT,
                "a workload's env secret": ENV_SECRET,
                "a used invite code": code,
                "an unused invite code": spare,
                "a join token": join["token"],
                "a node secret": welcome["node_secret"],
                "a session token": changed["token"],
                "a session secret": changed["token"].split(".")[2],
                "an old session token": user,
            }
            for w in (pg, s3, custom):
                for key, value in w["credentials"].items():
                    if "password" in key or "key" in key or key == "connection_string":
                        secrets[f"{w['name']} credential {key}"] = value
            self.assertIn("db credential password", secrets)
            self.assertTrue(any(k.startswith("s3 credential") for k in secrets), s3)

            files = self.scan(srv.data_dir, secrets)
            self.assertTrue(any(f.endswith("lattice.db-wal") for f in files),
                            f"the WAL was not there to be read: {files}")

    def test_no_secret_is_readable_after_a_restart(self):
        srv = LatticeServer()
        with srv:
            admin = accounts.sign_up(srv, "root@example.com", password=USER_PASSWORD)["token"]
            _, w = call(srv, "POST", "/api/v1/workloads",
                        {"name": "app", "template": "custom", "image": "busybox",
                         "env": {"API_KEY": ENV_SECRET}}, token=admin, expect=201)
            srv.stop()  # checkpoints and removes the WAL
            self.scan(srv.data_dir, {"password": USER_PASSWORD, "env secret": ENV_SECRET,
                                     "token": admin})
            srv.start()
            # Still readable by its owner through the API: sealed, not lost.
            _, again = call(srv, "GET", "/api/v1/workloads/{id}", token=admin, expect=200,
                            id=w["id"])
            self.assertEqual(again["credentials"], w["credentials"])

    def scan(self, data_dir, secrets):
        """Fails if any file under `data_dir` holds one of `secrets`; returns the files read."""
        read = []
        for root, _, names in os.walk(data_dir):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    data = f.read()
                read.append(path)
                for what, secret in secrets.items():
                    for form, needle in forms(secret).items():
                        self.assertNotIn(needle, data, f"{what} is in {path} ({form})")
        self.assertTrue(any(p.endswith("lattice.db") for p in read), read)
        return read


if __name__ == "__main__":
    unittest.main()
