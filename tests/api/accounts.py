"""Accounts for API tests: signing up (with an invite where the server wants one), signing in,
and creating invites. Every response is validated against docs/openapi.yaml.

    admin = accounts.sign_up(srv, "root@example.com")          # the first account: the admin
    alice = accounts.invited(srv, admin["token"], "alice@example.com")
"""

import openapi_check

PASSWORD = "correct horse battery"
REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
INVITES = "/api/v1/invites"


def call(srv, method, pattern, body=None, token=None, expect=None, headers=None, **ids):
    """One checked request; returns (status, body). `expect` asserts the status."""
    status, hdrs, data = srv.request(method, pattern.format(**ids), body=body, token=token,
                                     headers=headers)
    openapi_check.check(method, pattern, status, hdrs, data)
    if expect is not None:
        assert status == expect, f"{method} {pattern}: expected {expect}, got {status}: {data}"
    return status, data


def sign_up(srv, email, invite=None, password=PASSWORD, expect=201):
    body = {"email": email, "password": password}
    if invite is not None:
        body["invite"] = invite
    return call(srv, "POST", REGISTER, body, expect=expect)[1]


def create_invite(srv, admin_token, note="", ttl_seconds=None):
    body = {"note": note}
    if ttl_seconds is not None:
        body["ttl_seconds"] = ttl_seconds
    return call(srv, "POST", INVITES, body, token=admin_token, expect=201)[1]


def invited(srv, admin_token, email):
    """Signs `email` up with a fresh invite from the admin; returns the sign-up response."""
    return sign_up(srv, email, invite=create_invite(srv, admin_token, f"for {email}")["code"])


def login(srv, email, password=PASSWORD):
    return call(srv, "POST", LOGIN, {"email": email, "password": password}, expect=200)[1]["token"]
