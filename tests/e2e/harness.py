"""End-to-end harness: the real `lattice` binary (dev, or server + agent), a real Docker engine
($DOCKER_HOST, started by scripts/ensure-docker.sh) and the locally built images.

Standard library only; reuses the API harness in tests/api.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "images"))

from lattice_server import LatticeServer, lattice_bin  # noqa: E402

IMAGES = ["--image", "postgres=lattice/postgres:15", "--image", "minio=lattice/s3:dev"]
BUSYBOX = "lattice/busybox:dev"


def docker_host():
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


class Docker:
    """A few Docker Engine API calls over the unix socket, for assertions."""

    def __init__(self, url=None):
        url = url or docker_host()
        assert url.startswith("unix://"), f"tests need a unix socket DOCKER_HOST, got {url}"
        self.path = url[len("unix://"):]

    def call(self, method, target, body=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.path)
        conn = http.client.HTTPConnection("docker")
        conn.sock = s
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, target, body=payload,
                     headers={"Content-Type": "application/json"} if payload else {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, (json.loads(data) if data and data[:1] in b"[{" else data)

    def available(self):
        try:
            return self.call("GET", "/_ping")[0] == 200
        except OSError:
            return False

    def has_image(self, ref):
        return self.call("GET", f"/images/{ref}/json")[0] == 200

    def containers(self, label):
        f = urllib.parse.quote(json.dumps({"label": [label]}))
        status, body = self.call("GET", f"/containers/json?all=1&filters={f}")
        assert status == 200, body
        return body

    def volume_exists(self, name):
        return self.call("GET", f"/volumes/{name}")[0] == 200

    def remove_labelled(self, label):
        for c in self.containers(label):
            self.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        f = urllib.parse.quote(json.dumps({"label": [label]}))
        status, body = self.call("GET", f"/volumes?filters={f}")
        for v in (body or {}).get("Volumes") or []:
            self.call("DELETE", f"/volumes/{v['Name']}")


def skip_reason():
    """Why the e2e tests cannot run here, or None. With LATTICE_REQUIRE_DOCKER set (the test
    command sets it after starting the engine) a missing component is an error, not a skip."""
    reason = _missing()
    if reason and os.environ.get("LATTICE_REQUIRE_DOCKER"):
        raise RuntimeError(f"LATTICE_REQUIRE_DOCKER is set but {reason}")
    return reason


def _missing():
    d = Docker()
    if not d.available():
        return f"no Docker engine answers at {docker_host()} (scripts/ensure-docker.sh starts one)"
    for img in ("lattice/postgres:15", "lattice/s3:dev", BUSYBOX):
        if not d.has_image(img):
            return f"image {img} is missing (scripts/build-images.sh builds it)"
    return None


class LatticeDev(LatticeServer):
    """`lattice dev`: the server plus its embedded agent on the local Docker engine."""

    def __init__(self, *args, **kw):
        super().__init__(*IMAGES, *args, **kw)
        self.env.setdefault("DOCKER_HOST", docker_host())

    def command(self):
        cmd = super().command()
        cmd[1] = "dev"
        return cmd


class Agent:
    """A separate `lattice agent` process."""

    def __init__(self, server_url, join_token, state_dir, *args, docker=None):
        self.cmd = [lattice_bin(), "agent", "--server", server_url, "--join-token", join_token,
                    "--state-dir", state_dir, *args]
        if docker:
            self.cmd += ["--docker-host", docker]
        self.log = os.path.join(state_dir, "agent.log")
        os.makedirs(state_dir, exist_ok=True)
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.setdefault("DOCKER_HOST", docker_host())
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, env=env)
        return self

    def kill9(self):
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-6000:]


class Client:
    """Signed-in API calls against a LatticeServer/LatticeDev."""

    def __init__(self, srv, email, password="correct horse battery"):
        self.srv = srv
        status, _, body = srv.request("POST", "/api/v1/auth/register",
                                      {"email": email, "password": password})
        assert status == 201, body
        self.token = body["token"]
        self.user = body["user"]

    def call(self, method, path, body=None, **kw):
        return self.srv.request(method, path, body, token=self.token, timeout=30, **kw)

    def deploy(self, spec):
        status, _, body = self.call("POST", "/api/v1/workloads", spec)
        assert status == 201, (status, body)
        return body

    def get(self, wid):
        return self.call("GET", f"/api/v1/workloads/{wid}")

    def wait_status(self, wid, want, timeout=180):
        """Polls until the workload's status is in `want`; returns the workload."""
        want = {want} if isinstance(want, str) else set(want)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            status, _, body = self.get(wid)
            assert status == 200, (status, body)
            last = body
            if body["status"] in want:
                return body
            time.sleep(0.25)
        raise AssertionError(f"workload {wid} did not reach {want} in {timeout}s; last: {last}\n"
                             f"{self.srv.output()}")

    def wait_gone(self, wid, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _, body = self.get(wid)
            if status == 404:
                return
            time.sleep(0.25)
        raise AssertionError(f"workload {wid} still exists after {timeout}s: {body}")


def endpoint(workload, name=None):
    for ep in workload["endpoints"]:
        if name is None or ep["name"] == name:
            return ep
    raise AssertionError(f"no endpoint {name} in {workload['endpoints']}")


def psql(connection_string, sql, timeout=30):
    """Runs `psql` (the real client) with exactly the connection string the API returned."""
    r = subprocess.run(["psql", connection_string, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-c", sql], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"psql failed ({r.returncode}): {r.stderr}"
    return r.stdout.strip()


def http_get(url, timeout=10):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    conn.request("GET", u.path or "/")
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
