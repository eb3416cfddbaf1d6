"""The HTTP layer against misbehaving and ordinary clients: routing errors, body and header
limits, malformed input, timeouts (slow-loris, idle), keep-alive, request ids and CORS."""

import socket
import threading
import time
import unittest

import openapi_check
from lattice_server import LatticeServer, parse_raw_response, read_until_closed

HEADER_TIMEOUT = 2
IDLE_TIMEOUT = 2
BODY_LIMIT = 2048
ORIGIN = "http://console.test"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


def get_request(path="/healthz", extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n" + extra + b"\r\n"


def read_response(sock, timeout=5):
    """Reads one complete response (Content-Length framed) from a keep-alive socket."""
    data = b""
    end = time.monotonic() + timeout
    while True:
        parsed = parse_raw_response(data)
        if parsed is not None:
            head_len = data.index(b"\r\n\r\n") + 4
            if len(data) >= head_len + int(parsed[1].get("Content-Length", "0")):
                return parsed
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no complete response within {timeout}s: {data!r}")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed mid-response: {data!r}")
        data += chunk


def trickle_until_closed(sock, limit, interval=0.2):
    """Sends one header line every `interval` s; returns seconds until the server closed the
    connection, or None if it was still open after `limit` s."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            sock.sendall(b"X-Slow: 1\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
        _, closed = read_until_closed(sock, interval)
        if closed:
            return time.monotonic() - start
    return None


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer("--body-limit", str(BODY_LIMIT),
                                "--header-timeout", str(HEADER_TIMEOUT),
                                "--idle-timeout", str(IDLE_TIMEOUT),
                                "--cors-origin", ORIGIN)
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def assertServing(self):
        status, _, body = self.srv.request("GET", "/healthz", timeout=3)
        self.assertEqual((status, body), (200, {"status": "ok"}))

    # -- routing ---------------------------------------------------------------------------

    def test_unknown_route_is_404_problem(self):
        for path in ("/nope", "/api/v1/auth/me/", "/api/v1/auth", "/healthz/x", "//healthz",
                     "/api/v1/auth/me/extra"):
            with self.subTest(path=path):
                status, headers, body = self.srv.request("GET", path)
                self.assertEqual(status, 404, body)
                self.assertEqual(headers["Content-Type"], "application/problem+json")
                self.assertEqual(body["instance"], path)
                openapi_check.check_unrouted(status, headers, body)

    def test_query_string_is_not_part_of_the_route(self):
        status, headers, body = self.srv.request("GET", "/healthz?verbose=1")
        self.assertEqual(status, 200)
        openapi_check.check("GET", "/healthz", status, headers, body)

    def test_wrong_method_is_405_with_allow(self):
        for method, path, allow in (("DELETE", LOGIN, "POST"), ("GET", LOGIN, "POST"),
                                    ("POST", "/healthz", "GET"), ("PUT", "/api/v1/auth/me", "GET"),
                                    ("PATCH", "/metrics", "GET")):
            with self.subTest(method=method, path=path):
                status, headers, body = self.srv.request(method, path)
                self.assertEqual(status, 405, body)
                self.assertEqual(headers["Allow"], allow)
                openapi_check.check_unrouted(status, headers, body)

    # -- bodies ------------------------------------------------------------------------------

    def test_malformed_json_is_400(self):
        for raw in (b"{", b'{"email": "a@b.co", }', b"\xff\xfe", b'{"a": 1} trailing',
                    b"[" * 100 + b"]" * 100):
            with self.subTest(raw=raw[:20]):
                status, headers, body = self.srv.request(
                    "POST", LOGIN, raw=raw, headers={"Content-Type": "application/json"})
                self.assertEqual(status, 400, body)
                self.assertEqual(body["type"], "urn:lattice:problem:bad-request")
                openapi_check.check("POST", LOGIN, status, headers, body)
        self.assertServing()

    def test_json_array_body_is_400(self):
        status, headers, body = self.srv.request("POST", LOGIN, body=[{"email": "a@b.co"}])
        self.assertEqual(status, 400, body)
        self.assertIn("object", body["detail"])
        openapi_check.check("POST", LOGIN, status, headers, body)

    def test_wrong_content_type_is_415(self):
        for headers in ({"Content-Type": "text/plain"},
                        {"Content-Type": "application/x-www-form-urlencoded"},
                        {"Content-Type": "application/jsonx"},
                        {}):
            with self.subTest(headers=headers):
                status, hdrs, body = self.srv.request(
                    "POST", LOGIN, raw=b'{"email":"a@b.co","password":"0123456789"}',
                    headers=headers)
                self.assertEqual(status, 415, body)
                openapi_check.check("POST", LOGIN, status, hdrs, body)
        # Parameters and case do not matter.
        status, _, body = self.srv.request(
            "POST", LOGIN, raw=b'{"email":"a@b.co","password":"0123456789"}',
            headers={"Content-Type": "Application/JSON; charset=utf-8"})
        self.assertEqual(status, 401, body)

    def test_body_over_the_limit_is_413(self):
        payload = b'{"email": "' + b"x" * 4096 + b'", "password": "0123456789"}'
        status, headers, body = self.srv.request(
            "POST", LOGIN, raw=payload, headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413, body)
        self.assertEqual(body["instance"], LOGIN)
        self.assertIn(str(BODY_LIMIT), body["detail"])
        openapi_check.check("POST", LOGIN, status, headers, body)
        # Just under the limit is fine (and reaches the handler).
        payload = b'{"email": "' + b"x" * (BODY_LIMIT - 100) + b'", "password": "0123456789"}'
        status, _, body = self.srv.request(
            "POST", LOGIN, raw=payload, headers={"Content-Type": "application/json"})
        self.assertEqual(status, 401, body)

    def test_large_body_gets_413_not_a_reset(self):
        # The client is still sending when the server answers: the server must drain, not reset
        # the connection (which would destroy the 413 before the client reads it).
        payload = b'{"email": "' + b"x" * (2 << 20) + b'"}'
        for _ in range(3):
            status, headers, body = self.srv.request(
                "POST", LOGIN, raw=payload, headers={"Content-Type": "application/json"})
            self.assertEqual(status, 413, body)
            openapi_check.check("POST", LOGIN, status, headers, body)

    def test_chunked_body_over_the_limit_is_413(self):
        with self.srv.raw_socket() as s:
            chunk = b"x" * 1024
            s.sendall(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + (b"400\r\n" + chunk + b"\r\n") * 4 + b"0\r\n\r\n")
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed, data)
        status, headers, body = parse_raw_response(data)
        self.assertEqual(status, 413, body)
        openapi_check.check("POST", LOGIN, status, headers, body)

    def test_huge_content_length_is_413_promptly(self):
        with self.srv.raw_socket() as s:
            start = time.monotonic()
            s.sendall(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n")
            data, closed = read_until_closed(s, 5)
            elapsed = time.monotonic() - start
        self.assertTrue(closed, "the connection should be closed after the 413")
        self.assertLess(elapsed, 3, "the 413 must not wait for the body")
        status, headers, body = parse_raw_response(data)
        self.assertEqual(status, 413, body)
        openapi_check.check("POST", LOGIN, status, headers, body)

    def test_expect_100_continue(self):
        payload = b'{"email":"nobody@example.com","password":"0123456789"}'
        with self.srv.raw_socket() as s:
            s.sendall(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                      b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n")
            s.settimeout(5)
            interim = s.recv(1024)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim)
            s.sendall(payload)
            status, headers, body = read_response(s)
        self.assertEqual(status, 401, body)
        openapi_check.check("POST", LOGIN, status, headers, body)

    # -- malformed requests ------------------------------------------------------------------

    def test_oversized_header_is_431(self):
        with self.srv.raw_socket() as s:
            s.sendall(get_request(extra=b"X-Big: " + b"a" * (17 << 10) + b"\r\n"))
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed)
        status, headers, body = parse_raw_response(data)
        self.assertEqual(status, 431, body)
        openapi_check.check_unrouted(status, headers, body)
        self.assertServing()

    def test_garbage_is_400_or_closed_and_the_server_survives(self):
        garbage = [
            b"\x00\x01\x02\x03\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # TLS hello
            b"GET\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\n",
            b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 2 + b"\n\n\n",
        ]
        for raw in garbage:
            with self.subTest(raw=raw[:24]):
                with self.srv.raw_socket() as s:
                    s.sendall(raw)
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    data, closed = read_until_closed(s, 5)
                self.assertTrue(closed, f"still open after garbage: {data!r}")
                if data and raw[:1] == b"\x16":
                    # A TLS handshake goes to the TLS front (the agents' side of the port): a
                    # broken one is answered, if at all, with a TLS alert record.
                    self.assertEqual(data[:1], b"\x15", data)
                elif data:
                    status, headers, body = parse_raw_response(data)
                    self.assertEqual(status, 400, body)
                    openapi_check.check_unrouted(status, headers, body)
                self.assertServing()

    # -- timeouts ----------------------------------------------------------------------------

    def test_slow_loris_is_cut_off_while_others_are_served(self):
        result = {}
        with self.srv.raw_socket() as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")

            def trickle():
                result["closed_after"] = trickle_until_closed(slow, HEADER_TIMEOUT + 6)

            t = threading.Thread(target=trickle)
            t.start()
            served = 0
            try:
                while t.is_alive():
                    start = time.monotonic()
                    self.assertServing()
                    self.assertLess(time.monotonic() - start, 2.0, "normal client was stalled")
                    served += 1
                    time.sleep(0.1)
            finally:
                t.join()
        self.assertGreater(served, 2)
        closed_after = result.get("closed_after")
        self.assertIsNotNone(closed_after, "a trickling header was never cut off")
        self.assertGreaterEqual(closed_after, HEADER_TIMEOUT - 0.5)
        self.assertLess(closed_after, HEADER_TIMEOUT + 3)

    def test_silent_connection_is_closed_after_header_timeout(self):
        with self.srv.raw_socket() as s:
            start = time.monotonic()
            data, closed = read_until_closed(s, HEADER_TIMEOUT + 4)
            elapsed = time.monotonic() - start
        self.assertTrue(closed)
        self.assertEqual(data, b"")
        self.assertGreaterEqual(elapsed, HEADER_TIMEOUT - 0.5)

    def test_idle_keep_alive_connection_is_closed(self):
        with self.srv.raw_socket() as s:
            s.sendall(get_request())
            status, _, _ = read_response(s)
            self.assertEqual(status, 200)
            start = time.monotonic()
            data, closed = read_until_closed(s, IDLE_TIMEOUT + 4)
            elapsed = time.monotonic() - start
        self.assertTrue(closed, "an idle connection should be closed")
        self.assertEqual(data, b"")
        self.assertGreaterEqual(elapsed, IDLE_TIMEOUT - 0.5)
        self.assertLess(elapsed, IDLE_TIMEOUT + 3)

    # -- connections -------------------------------------------------------------------------

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        conn = self.srv.connection()
        try:
            local = None
            for i in range(5):
                path = ("/healthz", "/readyz", "/nope", "/healthz", "/metrics")[i]
                status, headers, _ = self.srv.request("GET", path, conn=conn)
                # /metrics wants an admin's token: its 401 must keep the connection too.
                self.assertEqual(status, {"/nope": 404, "/metrics": 401}.get(path, 200))
                self.assertNotEqual((headers.get("Connection") or "").lower(), "close")
                self.assertIsNotNone(conn.sock, "the connection was closed")
                if local is None:
                    local = conn.sock.getsockname()
                self.assertEqual(conn.sock.getsockname(), local, "a new connection was opened")
        finally:
            conn.close()

    def test_pipelined_requests(self):
        with self.srv.raw_socket() as s:
            s.sendall(get_request("/healthz") + get_request("/readyz") +
                      b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed, "Connection: close should end the connection")
        self.assertEqual(data.count(b"HTTP/1.1 200 OK\r\n"), 3, data)

    def test_http_1_0_closes_after_the_response(self):
        with self.srv.raw_socket() as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed)
        status, headers, body = parse_raw_response(data)
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"HTTP/1.0 200"), data[:40])

    # -- request ids -------------------------------------------------------------------------

    def test_request_id_echoed_when_safe(self):
        status, headers, _ = self.srv.request("GET", "/healthz",
                                              headers={"X-Request-Id": "abc-123_X.y"})
        self.assertEqual(headers["X-Request-Id"], "abc-123_X.y")
        status, headers, _ = self.srv.request("GET", "/nope", headers={"X-Request-Id": "r-404"})
        self.assertEqual((status, headers["X-Request-Id"]), (404, "r-404"))

    def test_request_id_generated_otherwise(self):
        ids = set()
        for sent in (None, "has space", "x" * 65, "quote\"d", ""):
            headers = {} if sent is None else {"X-Request-Id": sent}
            status, hdrs, body = self.srv.request("GET", "/healthz", headers=headers)
            rid = hdrs.get("X-Request-Id")
            self.assertTrue(rid, "every response needs an X-Request-Id")
            self.assertNotEqual(rid, sent)
            openapi_check.check("GET", "/healthz", status, hdrs, body)
            ids.add(rid)
        self.assertEqual(len(ids), 5, f"generated ids must be unique: {ids}")

    # -- CORS --------------------------------------------------------------------------------

    def test_cors_allowed_origin(self):
        status, headers, _ = self.srv.request("GET", "/healthz", headers={"Origin": ORIGIN})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], ORIGIN)
        self.assertIn("Origin", headers.get("Vary", ""))
        self.assertIn("X-Request-Id", headers.get("Access-Control-Expose-Headers", ""))
        # Error responses carry it too, or the console could not read them.
        status, headers, _ = self.srv.request("GET", "/api/v1/auth/me",
                                              headers={"Origin": ORIGIN})
        self.assertEqual(status, 401)
        self.assertEqual(headers["Access-Control-Allow-Origin"], ORIGIN)

    def test_cors_other_origin_gets_nothing(self):
        for origin in ("http://evil.test", "http://console.test.evil.test", "null",
                       "https://console.test"):
            with self.subTest(origin=origin):
                status, headers, _ = self.srv.request("GET", "/healthz",
                                                      headers={"Origin": origin})
                self.assertEqual(status, 200)
                self.assertIsNone(headers.get("Access-Control-Allow-Origin"))

    def test_cors_preflight(self):
        status, headers, body = self.srv.request(
            "OPTIONS", "/api/v1/auth/me",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"})
        self.assertEqual(status, 204, body)
        self.assertIsNone(body)
        self.assertEqual(headers["Access-Control-Allow-Origin"], ORIGIN)
        allow_headers = headers.get("Access-Control-Allow-Headers", "").lower()
        for h in ("authorization", "content-type", "x-request-id"):
            self.assertIn(h, allow_headers)
        self.assertIn("GET", headers.get("Access-Control-Allow-Methods", ""))
        self.assertTrue(headers.get("Access-Control-Max-Age"))
        # A preflight from another origin is not approved.
        status, headers, _ = self.srv.request(
            "OPTIONS", "/api/v1/auth/me",
            headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"})
        self.assertNotEqual(status, 204)
        self.assertIsNone(headers.get("Access-Control-Allow-Origin"))


class KeepAliveTimeoutTest(unittest.TestCase):
    """Idle timeout much longer than the header timeout: a keep-alive connection may wait, but
    must not trickle its next header under the idle timeout."""

    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer("--header-timeout", "1", "--idle-timeout", "30")
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_slow_loris_after_a_first_request_is_cut_off(self):
        with self.srv.raw_socket() as s:
            s.sendall(get_request())
            self.assertEqual(read_response(s)[0], 200)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
            closed_after = trickle_until_closed(s, 8)
        self.assertIsNotNone(closed_after, "trickling the second header was never cut off")
        self.assertLess(closed_after, 4, "the header timeout, not the idle timeout, applies")

    def test_idle_connection_outlives_the_header_timeout(self):
        with self.srv.raw_socket() as s:
            s.sendall(get_request())
            self.assertEqual(read_response(s)[0], 200)
            time.sleep(2)  # twice the header timeout, far below the idle timeout
            s.sendall(get_request("/readyz"))
            self.assertEqual(read_response(s)[0], 200)


if __name__ == "__main__":
    unittest.main()
