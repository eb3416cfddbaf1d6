"""Hostile clients against the HTTP layer, beyond test_http.py's single slow client: headers
and bodies trickled one byte at a time, a crowd of slow-loris connections at once, many small
headers and huge request targets. Each is cut off (connection closed, 408, 431 or 413) within
its deadline, and ordinary clients are served meanwhile."""

import socket
import threading
import time
import unittest

import openapi_check
from lattice_server import LatticeServer, parse_raw_response, read_until_closed

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
BODY_LIMIT = 4096
HEADER_LIMIT = 16 << 10  # the server's fixed limit on the request line plus header fields
LOGIN = "/api/v1/auth/login"


def trickle(sock, data, interval, limit):
    """Sends `data` one byte every `interval` s (cycling through it) until the server closes
    the connection or `limit` s pass. Returns (seconds until closed or None, bytes received)."""
    start = time.monotonic()
    got = b""
    i = 0
    while time.monotonic() - start < limit:
        try:
            sock.sendall(data[i % len(data):i % len(data) + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start, got
        i += 1
        chunk, closed = read_until_closed(sock, interval)
        got += chunk
        if closed:
            return time.monotonic() - start, got
    return None, got


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer("--header-timeout", str(HEADER_TIMEOUT),
                                "--body-timeout", str(BODY_TIMEOUT),
                                "--body-limit", str(BODY_LIMIT), "--idle-timeout", "30")
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def assertServing(self, within=2.0):
        start = time.monotonic()
        status, _, body = self.srv.request("GET", "/healthz", timeout=within + 1)
        self.assertEqual((status, body), (200, {"status": "ok"}))
        self.assertLess(time.monotonic() - start, within, "an ordinary client was stalled")

    # -- slow-loris ----------------------------------------------------------------------------

    def test_header_trickled_byte_by_byte_is_cut_off(self):
        # Every byte resets no timer: the whole header must be in within --header-timeout.
        head = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 200
        with self.srv.raw_socket() as s:
            closed_after, got = trickle(s, head, 0.05, HEADER_TIMEOUT + 6)
        self.assertIsNotNone(closed_after, "a header trickled byte by byte was never cut off")
        self.assertGreaterEqual(closed_after, HEADER_TIMEOUT - 0.5)
        self.assertLess(closed_after, HEADER_TIMEOUT + 2)
        self.assertEqual(got, b"", "nothing is answered to an unfinished request")
        self.assertServing()

    def test_a_crowd_of_slow_loris_connections_does_not_starve_others(self):
        crowd = 100
        socks = [self.srv.raw_socket(timeout=HEADER_TIMEOUT + 6) for _ in range(crowd)]
        closed_after = [None] * crowd
        start = time.monotonic()
        stop = threading.Event()

        def keep_trickling():
            # One byte per connection every 0.2 s, round-robin, until each is closed.
            i = 0
            while not stop.is_set() and any(c is None for c in closed_after):
                for n, s in enumerate(socks):
                    if closed_after[n] is not None:
                        continue
                    try:
                        s.sendall(b"GET /healthz HTTP/1.1\r\nX: y"[i % 28:i % 28 + 1])
                        s.setblocking(False)
                        if s.recv(1024) == b"":
                            closed_after[n] = time.monotonic() - start
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed_after[n] = time.monotonic() - start
                    finally:
                        s.setblocking(True)
                i += 1
                time.sleep(0.2)

        t = threading.Thread(target=keep_trickling)
        t.start()
        try:
            served = 0
            while time.monotonic() - start < HEADER_TIMEOUT + 1:
                self.assertServing(within=1.0)
                served += 1
                time.sleep(0.1)
            t.join(timeout=HEADER_TIMEOUT + 6)
        finally:
            stop.set()
            t.join()
            for s in socks:
                s.close()
        self.assertGreater(served, 5)
        still_open = sum(1 for c in closed_after if c is None)
        self.assertEqual(still_open, 0, f"{still_open} of {crowd} slow connections never closed")
        self.assertLess(max(closed_after), HEADER_TIMEOUT + 3, max(closed_after))
        self.assertServing()

    def test_body_trickled_byte_by_byte_gets_408(self):
        body = b'{"email": "slow@example.com", "password": "0123456789"}'
        with self.srv.raw_socket() as s:
            s.sendall(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body) + 100).encode() + b"\r\n\r\n")
            closed_after, got = trickle(s, body, 0.1, BODY_TIMEOUT + 6)
        self.assertIsNotNone(closed_after, "a trickled body was never cut off")
        self.assertGreaterEqual(closed_after, BODY_TIMEOUT - 0.5)
        self.assertLess(closed_after, BODY_TIMEOUT + 2)
        status, headers, problem = parse_raw_response(got)
        self.assertEqual(status, 408, problem)
        self.assertEqual(problem["instance"], LOGIN)
        openapi_check.check_unrouted(status, headers, problem)
        self.assertServing()

    def test_body_that_never_comes_gets_408(self):
        with self.srv.raw_socket() as s:
            start = time.monotonic()
            s.sendall(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
            data, closed = read_until_closed(s, BODY_TIMEOUT + 4)
            elapsed = time.monotonic() - start
        self.assertTrue(closed)
        self.assertGreaterEqual(elapsed, BODY_TIMEOUT - 0.5)
        self.assertEqual(parse_raw_response(data)[0], 408)

    # -- oversized -----------------------------------------------------------------------------

    def test_many_small_headers_over_the_limit_are_431(self):
        fields = b"".join(b"X-H%d: v\r\n" % i for i in range(3000))  # ~27 KiB
        self.assertGreater(len(fields), HEADER_LIMIT)
        with self.srv.raw_socket() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + fields + b"\r\n")
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed)
        status, headers, body = parse_raw_response(data)
        self.assertEqual(status, 431, body)
        openapi_check.check_unrouted(status, headers, body)
        # Under the limit, the same kind of request is served.
        fields = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))  # ~9 KiB
        with self.srv.raw_socket() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + fields +
                      b"\r\n")
            data, _ = read_until_closed(s, 5)
        self.assertEqual(parse_raw_response(data)[0], 200)

    def test_huge_request_target_is_431(self):
        with self.srv.raw_socket() as s:
            s.sendall(b"GET /healthz?" + b"q" * (HEADER_LIMIT + 1024) + b" HTTP/1.1\r\n"
                      b"Host: t\r\n\r\n")
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed)
        status, headers, body = parse_raw_response(data)
        self.assertEqual(status, 431, body)
        openapi_check.check_unrouted(status, headers, body)
        self.assertServing()

    def test_endless_header_line_gets_431_and_is_cut_off(self):
        # One header line that never ends: the server answers 431 at the limit, drains what
        # is still coming for a short linger (so the answer is not lost to a reset), and then
        # closes. The client cannot keep it reading.
        with self.srv.raw_socket() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Endless: ")
            result = {}

            def flood():
                start = time.monotonic()
                try:
                    while time.monotonic() - start < 15:
                        s.sendall(b"a" * 65536)
                except OSError:
                    result["cut_after"] = time.monotonic() - start

            t = threading.Thread(target=flood)
            t.start()
            data, closed = read_until_closed(s, 5)
            t.join()
        self.assertTrue(closed, "no answer and no close")
        self.assertEqual(parse_raw_response(data)[0], 431)
        self.assertIn("cut_after", result, "the server kept reading an endless header")
        self.assertLess(result["cut_after"], 6)
        self.assertServing()

    def test_oversized_body_on_every_body_route_is_413(self):
        payload = b'{"name": "' + b"x" * (BODY_LIMIT * 4) + b'"}'
        for path in (LOGIN, "/api/v1/auth/register", "/api/v1/workloads",
                     "/api/v1/nodes/join-tokens"):
            with self.subTest(path=path):
                status, headers, body = self.srv.request(
                    "POST", path, raw=payload, headers={"Content-Type": "application/json",
                                                        "Authorization": "Bearer x"})
                self.assertEqual(status, 413, body)
                self.assertEqual(body["instance"], path)


if __name__ == "__main__":
    unittest.main()
