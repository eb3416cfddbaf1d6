"""Agents speak TLS only, pinned to the server's own CA: the CA is created at first start and
kept; a join token carries its fingerprint and the exact command to paste; the link is a
WebSocket over TLS on the API's port; plain-HTTP link attempts get 400; and an agent whose pin
does not match — a wrong token, or another server — is refused and says why.
No Docker needed: the agents here never get as far as the container engine."""

import base64
import hashlib
import json
import os
import re
import socket
import ssl
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import openapi_check
from lattice_server import LatticeServer, lattice_bin, clean_env, read_until_closed

PASSWORD = "correct horse battery"
TOKEN_RE = re.compile(r"^ljt1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$")
UPGRADE = ("GET /api/v1/agent/link HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n")


def ca_fingerprint(srv):
    with open(srv.ca_cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def admin_token(srv):
    status, _, body = srv.request("POST", "/api/v1/auth/register",
                                  {"email": "admin@example.com", "password": PASSWORD})
    assert status == 201, body
    return body["token"]


def join_token(srv, token):
    status, headers, body = srv.request("POST", "/api/v1/nodes/join-tokens", token=token)
    openapi_check.check("POST", "/api/v1/nodes/join-tokens", status, headers, body)
    assert status == 201, body
    return body


def tls_connect(srv, server_hostname=None):
    """A TLS socket to the server that trusts only its CA certificate (hostname checked)."""
    ctx = ssl.create_default_context(cafile=srv.ca_cert_path)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    raw = socket.create_connection((srv.host, srv.port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname=server_hostname or srv.host)


def ws_text_frame(text):
    """A masked client text frame (RFC 6455)."""
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    n = len(payload)
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_ws_text(sock):
    """One unmasked server text frame's payload."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise AssertionError(f"closed after {data!r}")
            data += chunk
        return data
    b0, b1 = exactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(exactly(2), "big")
    elif n == 127:
        n = int.from_bytes(exactly(8), "big")
    assert b0 & 0x0F == 1, f"not a text frame: {b0:#x}"
    return exactly(n).decode()


def run_agent(server_url, token, state_dir, timeout=20):
    return subprocess.run([lattice_bin(), "agent", "--server", server_url, "--join-token", token,
                           "--state-dir", state_dir, "--name", "tls-test"],
                          capture_output=True, text=True, env=clean_env(), timeout=timeout,
                          stdin=subprocess.DEVNULL)


class AgentTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer()
        cls.srv.__enter__()
        cls.admin = admin_token(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lattice-agent-tls-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.tmp], check=False)

    def nodes(self):
        status, _, body = self.srv.request("GET", "/api/v1/nodes", token=self.admin)
        self.assertEqual(status, 200, body)
        return body["items"]

    def test_join_token_carries_the_ca_fingerprint_and_the_exact_command(self):
        tok = join_token(self.srv, self.admin)
        self.assertRegex(tok["token"], TOKEN_RE)
        self.assertEqual(tok["token"].rsplit(".", 1)[1], ca_fingerprint(self.srv))
        self.assertEqual(tok["command"], f"lattice agent --server {self.srv.agent_url} "
                                         f"--join-token {tok['token']}")
        key = os.path.join(self.srv.data_dir, "tls", "ca.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

    def test_the_link_is_a_websocket_over_tls_on_the_api_port(self):
        with tls_connect(self.srv) as s:
            self.assertEqual(s.version(), "TLSv1.3")
            s.sendall(UPGRADE.format(host=self.srv.host).encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                self.assertTrue(chunk, head)
                head += chunk
            self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
            s.sendall(ws_text_frame(json.dumps({
                "type": "hello", "protocol": 1, "join_token": "ljt1.nope.nope", "name": "x"})))
            reply = json.loads(read_ws_text(s))
            self.assertEqual(reply["type"], "error", reply)
        # Plain HTTP still serves the API on the same port.
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_other_requests_over_tls_get_a_problem(self):
        with tls_connect(self.srv) as s:
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {self.srv.host}\r\n\r\n".encode())
            data, closed = read_until_closed(s, 5)
        self.assertTrue(data.startswith(b"HTTP/1.1 404"), data)
        self.assertIn(b"plain HTTP", data)

    def test_plain_http_link_attempts_get_400_saying_use_https(self):
        for raw in (UPGRADE.format(host="x"), "GET /api/v1/agent/link HTTP/1.1\r\nHost: x\r\n\r\n"):
            with self.srv.raw_socket() as s:
                s.sendall(raw.encode())
                data, _ = read_until_closed(s, 5)
            head, _, body = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 400"), data)
            self.assertIn(b"application/problem+json", head)
            self.assertIn("https://", json.loads(body)["detail"])

    def test_agent_with_a_wrong_pin_is_refused_and_says_why(self):
        tok = join_token(self.srv, self.admin)["token"]
        secret = tok.split(".")[1]
        wrong = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        r = run_agent(self.srv.agent_url, f"ljt1.{secret}.{wrong}", os.path.join(self.tmp, "a"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is not the server this node trusts", r.stderr)
        self.assertIn(wrong, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "a", "node.json")))
        self.assertEqual(self.nodes(), [])

    def test_a_refused_join_ends_the_agent_by_the_links_error_code(self):
        # The right pin, an unknown secret: the server refuses with code "unauthenticated" and
        # the agent, having no identity yet, stops instead of retrying forever.
        tok = join_token(self.srv, self.admin)["token"]
        pin = tok.split(".")[2]
        secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        r = run_agent(self.srv.agent_url, f"ljt1.{secret}.{pin}", os.path.join(self.tmp, "r"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("the server refused to join this node", r.stderr)
        self.assertEqual(self.nodes(), [])

    def test_sigterm_stops_a_running_agent_cleanly(self):
        tok = join_token(self.srv, self.admin)["token"]
        proc = subprocess.Popen([lattice_bin(), "agent", "--server", self.srv.agent_url,
                                 "--join-token", tok, "--state-dir", os.path.join(self.tmp, "s"),
                                 "--name", "sig-test", "--host-firewall=false"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=clean_env(), stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                    n["name"] == "sig-test" and n["status"] == "ready" for n in self.nodes()):
                time.sleep(0.1)
            self.assertTrue(any(n["name"] == "sig-test" for n in self.nodes()))
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=15)
            self.assertEqual(proc.returncode, 0, out[-3000:])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_agent_refuses_a_server_with_another_ca(self):
        tok = join_token(self.srv, self.admin)["token"]
        with LatticeServer() as other:
            r = run_agent(other.agent_url, tok, os.path.join(self.tmp, "b"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is not the server this node trusts", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "b", "node.json")))

    def test_agent_refuses_plain_urls(self):
        tok = join_token(self.srv, self.admin)["token"]
        for url in (self.srv.base_url, f"ws://{self.srv.host}:{self.srv.port}"):
            r = run_agent(url, tok, os.path.join(self.tmp, "c"))
            self.assertNotEqual(r.returncode, 0, r.stderr)
            self.assertIn("agents connect over TLS only", r.stderr)
            self.assertIn("https://", r.stderr)


class CaLifetimeTest(unittest.TestCase):
    def test_ca_survives_restarts_and_the_leaf_names_the_advertised_host(self):
        with LatticeServer("--advertise-url", "https://cloud.example:9443") as srv:
            admin = admin_token(srv)
            before = ca_fingerprint(srv)
            tok = join_token(srv, admin)
            self.assertEqual(tok["command"], "lattice agent --server https://cloud.example:9443 "
                                             f"--join-token {tok['token']}")
            with tls_connect(srv, server_hostname="cloud.example") as s:
                self.assertEqual(s.version(), "TLSv1.3")
            srv.restart()
            self.assertEqual(ca_fingerprint(srv), before)
            self.assertTrue(join_token(srv, admin)["token"].endswith("." + before))
            with tls_connect(srv, server_hostname="localhost"):
                pass
            with self.assertRaises(ssl.SSLCertVerificationError):
                tls_connect(srv, server_hostname="elsewhere.example")

    def test_a_plain_advertise_url_is_refused_at_start(self):
        srv = LatticeServer("--advertise-url", "http://cloud.example:8080")
        try:
            with self.assertRaises(AssertionError) as e:
                srv.start()
            self.assertIn("must be an https:// URL", str(e.exception))
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
