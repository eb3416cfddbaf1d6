"""Just enough of a WebSocket client (RFC 6455) to say `hello` on the agent link the way an
agent would — over TLS, on the server's one port — and read the server's first answer, for
tests of join tokens without Docker. It does not pin the server's CA (the real agent does;
src/tls/pinned_client.h): these tests are about what the server accepts.

    answer = agent_link.hello(srv, join_token="ljt_...")   # {"type": "welcome", ...} or
                                                           # {"type": "error", "message": ...}
"""

import base64
import json
import os
import socket
import ssl
import select
import struct
import threading
import time

PROTOCOL = 2  # link::kProtocolVersion (src/link/protocol.h)


def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the server closed the link")
        data += chunk
    return data


def ws_frame(text, opcode=0x1, fin=True):
    """One masked client frame (RFC 6455 5.2) carrying `text` (str or bytes): by default a
    whole text message."""
    payload = text.encode() if isinstance(text, str) else text
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    stream = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return head + mask + masked


def _send_text(sock, text):
    sock.sendall(ws_frame(text))


def read_frame(sock):
    """(opcode, payload) of the server's next frame."""
    b0, b1 = _read_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", _read_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", _read_exact(sock, 8))[0]
    return b0 & 0x0F, _read_exact(sock, n)  # server frames are not masked


def _read_message(sock):
    """The next text message as a string; None if the server closes instead."""
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            return None
        if opcode == 0x1:
            return payload.decode()


def _open_link(srv, timeout):
    """The upgraded TLS socket of a new agent link."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((srv.host, srv.port), timeout=timeout)
    sock = ctx.wrap_socket(raw, server_hostname=srv.host)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/v1/agent/link HTTP/1.1\r\nHost: {srv.host}:{srv.port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: nothing after the header may be swallowed
        if not chunk:
            raise ConnectionError(f"no upgrade answer: {head!r}")
        head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
        sock.close()
        raise AssertionError(f"the agent link did not upgrade: {head!r}")
    return sock


def _hello_message(join_token="", node_id="", node_secret="", name="probe"):
    return json.dumps({
        "type": "hello", "protocol": PROTOCOL, "join_token": join_token, "node_id": node_id,
        "node_secret": node_secret, "name": name, "cpus": 1, "memory_mb": 1024,
        "disk_mb": 1024, "labels": {}, "agent_version": "test", "address": "127.0.0.1",
        "running": []})


class FakeAgent:
    """A node that joins, then holds its link open and runs nothing: it sends heartbeats and
    records what the server sends (assignments, logs.open, ...) without answering. Enough for
    tests that need a workload placed on a connected node, e.g. followed logs that stay open.

        with FakeAgent(srv, join_token) as agent:
            agent.node_id, agent.received("logs.open")
    """

    def __init__(self, srv, join_token, name="fake", heartbeat=1.0):
        self.srv, self.join_token, self.name, self.heartbeat = srv, join_token, name, heartbeat
        self.node_id = None
        self._sock = None
        self._lock = threading.Lock()
        self._received = []
        self._outbox = []  # messages to send, in order (the loop thread sends them)
        self.closed = threading.Event()  # set when the server ended the link
        self._stop = threading.Event()
        self._threads = []

    def __enter__(self):
        self._sock = _open_link(self.srv, timeout=10)
        _send_text(self._sock, _hello_message(join_token=self.join_token, name=self.name))
        welcome = json.loads(_read_message(self._sock))
        if welcome.get("type") != "welcome":
            self._sock.close()
            raise AssertionError(f"the server did not welcome the fake agent: {welcome}")
        self.node_id = welcome["node_id"]
        self._sock.settimeout(None)
        t = threading.Thread(target=self._loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        for t in self._threads:
            t.join(timeout=5)

    def send(self, message):
        """Queues `message` (a dict, e.g. a status report) to be sent within a heartbeat."""
        with self._lock:
            self._outbox.append(json.dumps(message))

    def received(self, kind):
        """The messages of type `kind` received so far."""
        with self._lock:
            return [m for m in self._received if m.get("type") == kind]

    def _loop(self):
        # One thread reads and writes (an SSL socket is not for two): wait for the server's
        # next message up to a heartbeat interval, send a heartbeat when one is due.
        next_beat = time.monotonic() + self.heartbeat
        try:
            while not self._stop.is_set():
                wait = max(0.0, next_beat - time.monotonic())
                if self._sock.pending() or select.select([self._sock], [], [], wait)[0]:
                    text = _read_message(self._sock)
                    if text is None:
                        if not self._stop.is_set():
                            self.closed.set()
                        return
                    with self._lock:
                        self._received.append(json.loads(text))
                with self._lock:
                    outbox, self._outbox = self._outbox, []
                for text in outbox:
                    _send_text(self._sock, text)
                if time.monotonic() >= next_beat:
                    _send_text(self._sock, json.dumps({"type": "heartbeat", "running": 0}))
                    next_beat = time.monotonic() + self.heartbeat
        except (OSError, ValueError, ConnectionError):
            if not self._stop.is_set():
                self.closed.set()
            return


def hello(srv, join_token="", node_id="", node_secret="", name="probe", timeout=10):
    """Opens the agent link, sends a hello and returns the first message the server sends back
    (parsed JSON), or None if it closes the link without one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=srv.host) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /api/v1/agent/link HTTP/1.1\r\nHost: {srv.host}:{srv.port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"no upgrade answer: {head!r}")
            head += chunk
        status_line = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status_line + b" ":
            raise AssertionError(f"the agent link did not upgrade: {head!r}")
        _send_text(sock, json.dumps({
            "type": "hello", "protocol": PROTOCOL, "join_token": join_token, "node_id": node_id,
            "node_secret": node_secret, "name": name, "cpus": 1, "memory_mb": 1024,
            "disk_mb": 1024, "labels": {}, "agent_version": "test", "address": "127.0.0.1",
            "running": []}))
        text = _read_message(sock)
        return json.loads(text) if text is not None else None
