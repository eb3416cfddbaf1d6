"""Test harness: runs the real `lattice server` binary on a loopback port and talks HTTP to it.

    with LatticeServer("--body-limit", "2048") as srv:
        status, headers, body = srv.request("GET", "/healthz")

The binary is $LATTICE_BIN (set by CTest); the data directory is a fresh temporary directory,
removed on exit. Standard library only.
"""

import atexit
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
LISTEN_PREFIX = "Lattice listening on http://"


def lattice_bin():
    path = os.environ.get("LATTICE_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "lattice")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"lattice binary not found at {path}; set LATTICE_BIN")
    return path


def source_dir():
    path = os.environ.get("LATTICE_SOURCE_DIR")
    if not path:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    return os.path.abspath(path)


def clean_env(extra=None):
    """os.environ without the caller's own LATTICE_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LATTICE_") or k in ("LATTICE_BIN", "LATTICE_SOURCE_DIR")}
    env.update(extra or {})
    return env


def run_lattice(*args, env=None, timeout=15):
    """Runs `lattice ARGS` to completion; returns CompletedProcess (text output)."""
    return subprocess.run([lattice_bin(), *args], capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout, stdin=subprocess.DEVNULL)


def parse_body(headers, data):
    """JSON for JSON media types, text otherwise, None for an empty body."""
    if not data:
        return None
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        return json.loads(data)
    return data.decode("utf-8", "replace")


class ServerError(AssertionError):
    pass


_live = set()  # servers not yet cleaned up; killed at exit if a test forgot (or crashed)
# Called with the server at cleanup, before its temp dir goes (the e2e harness registers the
# removal of what its nodes left on the Docker engine).
cleanup_hooks = []


@atexit.register
def _cleanup_leftovers():
    for srv in list(_live):
        srv.cleanup()


class LatticeServer:
    """A `lattice server` child process on 127.0.0.1:<free port>.

    args: extra command-line arguments. listen/data_dir: pass None to leave them off the command
    line (to test environment variables or config files). env: extra environment variables.
    """

    def __init__(self, *args, listen="127.0.0.1:0", data_dir="", env=None):
        self.args = list(args)
        self.listen = listen
        self._tmp = tempfile.mkdtemp(prefix="lattice-api-test-")
        # data_dir="" means "a fresh one under the temp dir"; None means "don't pass it".
        self.data_dir = os.path.join(self._tmp, "data") if data_dir == "" else data_dir
        self.env = dict(env or {})
        self.proc = None
        self.host = None
        self.port = None
        self._generation = 0
        self._stdout_path = None
        self._stderr_path = None
        low = random.randrange(21000, 60000, 100)
        self._public_ports = f"{low}-{low + 99}"
        _live.add(self)

    @property
    def tmp_dir(self):
        """A scratch directory removed with the server (the default data dir lives inside)."""
        return self._tmp

    # -- lifecycle ---------------------------------------------------------------------------

    def command(self):
        cmd = [lattice_bin(), "server"]
        if self.listen is not None:
            cmd += ["--listen", self.listen]
        if self.data_dir is not None:
            cmd += ["--data-dir", self.data_dir]
        if "--public-ports" not in self.args and "LATTICE_PUBLIC_PORTS" not in self.env:
            # Servers of parallel tests must not hand out the same public ports.
            cmd += ["--public-ports", self._public_ports]
        if "--signups-per-address" not in self.args and "LATTICE_SIGNUPS_PER_ADDRESS" not in self.env:
            # Every test signs its accounts up from 127.0.0.1; test_sessions.py tests the limit.
            cmd += ["--signups-per-address", "0"]
        return cmd + self.args

    def start(self):
        assert self.proc is None, "already running"
        self._generation += 1
        self._stdout_path = os.path.join(self._tmp, f"stdout.{self._generation}.log")
        self._stderr_path = os.path.join(self._tmp, f"stderr.{self._generation}.log")
        env = clean_env(self.env)  # a developer's own settings must not leak into the tests
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=env, cwd=self._tmp)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            line = self._listening_line()
            if line is not None:
                hostport = line[len(LISTEN_PREFIX):].strip()
                host, _, port = hostport.rpartition(":")
                self.host, self.port = host.strip("[]"), int(port)
                return self
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise ServerError(f"lattice server exited with {rc} before listening\n"
                                  f"command: {self.command()}\n{self.output()}")
            if time.monotonic() > deadline:
                self._kill()
                raise ServerError(f"lattice server did not print '{LISTEN_PREFIX}...' within "
                                  f"{START_TIMEOUT}s\n{self.output()}")
            time.sleep(0.01)

    def _listening_line(self):
        with open(self._stdout_path, "r", errors="replace") as f:
            for line in f:
                if line.startswith(LISTEN_PREFIX) and line.endswith("\n"):
                    return line
        return None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then asserts a clean exit (code 0) within `timeout` seconds."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise ServerError(f"lattice server did not exit within {timeout}s of SIGTERM\n"
                              f"{self.output()}")
        if rc != 0:
            raise ServerError(f"lattice server exited with {rc} after SIGTERM\n{self.output()}")

    def _kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def kill9(self):
        """SIGKILL, as a crash would: no shutdown work at all. start() runs it again on the
        same data dir."""
        self._kill()

    def restart(self):
        """Stops (cleanly) and starts again on the same data dir; the port may change."""
        self.stop()
        return self.start()

    def cleanup(self):
        self._kill()
        for hook in cleanup_hooks:
            hook(self)
        shutil.rmtree(self._tmp, ignore_errors=True)
        _live.discard(self)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            self.cleanup()
        return False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        """The server's stdout and stderr so far (for failure messages)."""
        parts = []
        for name, path in (("stdout", self._stdout_path), ("stderr", self._stderr_path)):
            if path and os.path.exists(path):
                with open(path, "r", errors="replace") as f:
                    text = f.read()
                if len(text) > 8000:
                    text = "...\n" + text[-8000:]
                parts.append(f"--- {name} ---\n{text}")
        return "\n".join(parts)

    # -- HTTP ----------------------------------------------------------------------------------

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def agent_url(self):
        """What agents dial: the same port, over TLS (the default --advertise-url)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def ca_cert_path(self):
        """The server's CA certificate (created at first start in <data-dir>/tls)."""
        return os.path.join(self.data_dir, "tls", "ca.crt")

    def connection(self, timeout=10, source_address=None):
        """A new http.client connection (for keep-alive tests); the caller closes it."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                          source_address=source_address)

    def request(self, method, path, body=None, headers=None, raw=None, token=None,
                conn=None, timeout=10, source_address=None):
        """Sends one request; returns (status, headers, parsed body).

        body: serialised as JSON with Content-Type: application/json. raw: bytes (or str) sent
        as-is, with whatever headers the caller gives. token: sent as a bearer token.
        conn: reuse this connection (keep-alive) instead of a fresh one that is closed after.
        headers is an http.client.HTTPMessage (case-insensitive .get()).
        """
        hdrs = dict(headers or {})
        payload = None
        if body is not None and raw is not None:
            raise ValueError("give body or raw, not both")
        if body is not None:
            payload = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif raw is not None:
            payload = raw.encode() if isinstance(raw, str) else raw
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        own = conn is None
        c = self.connection(timeout, source_address) if own else conn
        try:
            c.request(method, path, body=payload, headers=hdrs)
            resp = c.getresponse()
            data = resp.read()
            return resp.status, resp.headers, parse_body(resp.headers, data)
        finally:
            if own:
                c.close()

    def raw_socket(self, timeout=5):
        """A connected TCP socket to the server (for malformed or slow clients)."""
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def read_until_closed(sock, deadline_seconds):
    """Reads until the peer closes; returns (bytes, closed). closed is False on deadline."""
    data = b""
    end = time.monotonic() + deadline_seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def parse_raw_response(data):
    """Parses the first HTTP response in `data` (bytes from a raw socket).

    Returns (status, headers, parsed body) like LatticeServer.request, or None if `data` holds
    no complete response header.
    """
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    status_line, _, header_block = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise AssertionError(f"not an HTTP response: {data[:200]!r}")
    headers = http.client.parse_headers(io.BytesIO(header_block + b"\r\n\r\n"))
    length = int(headers.get("Content-Length", "0"))
    return int(parts[1]), headers, parse_body(headers, rest[:length])
