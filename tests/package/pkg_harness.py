"""Helpers for the packaging tests: the docker CLI against $DOCKER_HOST, free loopback ports,
HTTP to a server, and the .deb under test ($LATTICE_DEB, built by scripts/build-deb.sh).
Everything a test creates carries the label lattice.test=<run id> so it removes only its own."""

import json
import os
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request

SOURCE_DIR = os.path.abspath(os.environ.get(
    "LATTICE_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
BASE_IMAGE = "lattice/debian:bookworm"


def run(*cmd, check=True, timeout=300, env=None, input=None):
    """Runs a command; returns CompletedProcess (text). check: assert exit 0 with its output."""
    cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                        env=env, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and cp.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {cp.returncode}\n"
                             f"stdout: {cp.stdout[-3000:]}\nstderr: {cp.stderr[-3000:]}")
    return cp


def docker(*args, **kw):
    return run("docker", *args, **kw)


def skip_reason():
    """Why the packaging tests cannot run here, or None."""
    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        return "no Docker engine (run scripts/ensure-docker.sh, set DOCKER_HOST)"
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        return f"{BASE_IMAGE} missing (scripts/build-images.sh debian)"
    return None


def required(reason):
    """reason, for unittest.skipIf; under the project's test command (LATTICE_REQUIRE_DOCKER)
    a missing requirement fails the test run instead of skipping it."""
    if reason and os.environ.get("LATTICE_REQUIRE_DOCKER"):
        raise RuntimeError(f"LATTICE_REQUIRE_DOCKER is set but {reason}")
    return reason


def deb_path():
    path = os.environ.get("LATTICE_DEB")
    if not path or not os.path.isfile(path):
        raise AssertionError(f"LATTICE_DEB={path!r}: no package (scripts/build-deb.sh builds it)")
    return os.path.abspath(path)


def run_id():
    return f"{int(time.time())}-{random.randrange(1 << 30):x}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_range(n):
    """n consecutive ports that are free on 127.0.0.1 right now."""
    for _ in range(200):
        low = random.randrange(30000, 60000 - n)
        socks = []
        try:
            for p in range(low, low + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return low, low + n - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError(f"no {n} consecutive free ports")


def http(method, url, body=None, token=None, timeout=10):
    """(status, parsed JSON or text) for one request; connection errors raise."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
    if raw and "json" in ctype:
        return status, json.loads(raw)
    return status, raw.decode("utf-8", "replace")


def wait_until(fn, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 — retried until the deadline, then reported
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last!r})")


def healthz(base_url):
    try:
        return http("GET", base_url + "/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def items(body):
    return body["items"] if isinstance(body, dict) and "items" in body else body
