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
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "images"))

import lattice_server  # noqa: E402
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
        try:
            s.connect(self.path)
        except OSError:
            s.close()
            raise
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

    def containers(self, *labels):
        """Containers carrying every one of `labels` ("key" or "key=value")."""
        f = urllib.parse.quote(json.dumps({"label": list(labels)}))
        status, body = self.call("GET", f"/containers/json?all=1&filters={f}")
        assert status == 200, body
        return body

    def volume_exists(self, name):
        return self.call("GET", f"/volumes/{name}")[0] == 200

    def remove_labelled(self, label):
        """Removes the containers, volumes and networks carrying `label`."""
        for c in self.containers(label):
            self.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        f = urllib.parse.quote(json.dumps({"label": [label]}))
        status, body = self.call("GET", f"/volumes?filters={f}")
        for v in (body or {}).get("Volumes") or []:
            self.call("DELETE", f"/volumes/{v['Name']}")
        status, body = self.call("GET", f"/networks?filters={f}")
        for n in body if status == 200 and isinstance(body, list) else []:
            self.call("DELETE", f"/networks/{n['Id']}")


def remove_engine_leftovers(server):
    """What the nodes of a test's server left on the Docker engine (their state dirs are under
    its temp dir): containers, volumes and the per-user networks, which the agent removes only
    with a user's last workload. A network left behind costs every later dockerd start a bridge
    and its firewall rules; hundreds of them made the engine's start outlast its timeout."""
    nodes = []
    for root, _, files in os.walk(server.tmp_dir):
        if "node.json" in files:
            try:
                with open(os.path.join(root, "node.json")) as f:
                    nodes.append(json.load(f)["node_id"])
            except (OSError, ValueError, KeyError):
                pass
    if not nodes:
        return
    docker = Docker()
    if not docker.available():
        return
    for node in nodes:
        docker.remove_labelled(f"lattice.node={node}")


lattice_server.cleanup_hooks.append(remove_engine_leftovers)


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

    def freeze(self):
        """SIGSTOP: the process goes silent but its sockets stay open (a hung node, not a
        dead one)."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)  # a frozen agent could not act on SIGTERM
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


class EventTail:
    """Follows GET /api/v1/events (what the console listens to) on a background thread and
    keeps every (event, data) pair; close() ends it."""

    def __init__(self, client):
        self.events = []
        self._lock = threading.Lock()
        self._sock = socket.create_connection((client.srv.host, client.srv.port), timeout=120)
        self._conn = http.client.HTTPConnection(client.srv.host, client.srv.port)
        self._conn.sock = self._sock
        self._conn.request("GET", "/api/v1/events",
                           headers={"Authorization": f"Bearer {client.token}"})
        resp = self._conn.getresponse()
        assert resp.status == 200, resp.status
        self._resp = resp
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        event = "message"
        try:
            while True:
                line = self._resp.fp.readline()
                if not line:
                    return
                line = line.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: "):
                    with self._lock:
                        self.events.append((event, json.loads(line[len("data: "):])))
                elif line == "":
                    event = "message"
        except (OSError, ValueError):
            return

    def seen(self, event, pred):
        """The first event of that type whose data satisfies pred, or None."""
        with self._lock:
            return next((d for e, d in self.events if e == event and pred(d)), None)

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._conn.close()
        self._sock.close()
        self._thread.join(timeout=5)


def workload_ids(*clients):
    """Every workload the clients' users have (best effort): call before stopping the server, so a
    test class's tearDown can remove from the engine whatever a failed test left behind."""
    ids = []
    for c in clients:
        try:
            ids += [w["id"] for w in c.call("GET", "/api/v1/workloads")[2]["items"]]
        except Exception:  # the server is already gone: nothing to ask
            pass
    return ids


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


class PrivateDockerd:
    """A second, throw-away Docker engine beside the shared one, for tests that must stop and
    restart an engine (the shared one at $DOCKER_HOST is never touched). Everything it owns —
    data root, exec root, pid file, socket, log — lives in one temp dir, and it runs in a
    network namespace of its own (`unshare --net`): its docker0 bridge and its containers'
    interfaces are invisible to the host's, so it cannot fight the first engine over them.
    (`--bridge none` would not do: dockerd then deletes the host's docker0, which the shared
    engine's containers need.) Its containers can reach nothing outside that namespace and
    publish no ports the host can reach; the tests that use it need neither.

        with PrivateDockerd() as engine:
            engine.load_image_from(Docker(), BUSYBOX)
            engine.stop(); engine.start()
    """

    START_TIMEOUT = 60

    def __init__(self):
        # A short path: a unix socket path must fit in 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="lt-dockerd-", dir="/tmp")
        self.socket = os.path.join(self.dir, "docker.sock")
        self.url = "unix://" + self.socket
        self.docker = Docker(self.url)
        self.proc = None
        self.log = os.path.join(self.dir, "dockerd.log")

    @staticmethod
    def unavailable():
        """Why a private engine cannot run here, or None."""
        if os.geteuid() != 0:
            return "starting a private dockerd needs root"
        for tool in ("dockerd", "unshare"):
            if not shutil.which(tool):
                return f"{tool} is not installed"
        return None

    def start(self):
        assert self.proc is None, "already running"
        cmd = ["unshare", "--net", "--", "dockerd",
               "--data-root", os.path.join(self.dir, "data"),
               "--exec-root", os.path.join(self.dir, "exec"),
               "--pidfile", os.path.join(self.dir, "docker.pid"), "--host", self.url,
               "--iptables=false", "--ip-masq=false", "--shutdown-timeout", "2"]
        with open(self.log, "ab") as out:
            # Its own session: a Ctrl-C meant for the test runner must not reach it first.
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + self.START_TIMEOUT
        while not self.docker.available():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the private dockerd did not start\n{self.output()}")
            time.sleep(0.2)
        return self

    def stop(self, timeout=60):
        """SIGTERM and wait: the engine stops its containers (1 s grace) and its containerd."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def cleanup(self):
        """Removes every container, stops the engine and deletes its directory."""
        if self.proc is not None and self.docker.available():
            for c in self.docker.call("GET", "/containers/json?all=1")[1] or []:
                self.docker.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def load_image_from(self, source, image):
        """Copies `image` from the `source` engine: GET /images/{name}/get streamed straight
        into POST /images/load (what `docker save | docker load` does)."""
        quoted = urllib.parse.quote(image, safe="")
        src = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        src.settimeout(120)
        src.connect(source.path)
        get = http.client.HTTPConnection("docker")
        get.sock = src
        get.request("GET", f"/images/{quoted}/get")
        tarball = get.getresponse()
        assert tarball.status == 200, (tarball.status, tarball.read()[:500])
        dst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dst.settimeout(120)
        dst.connect(self.socket)
        load = http.client.HTTPConnection("docker")
        load.sock = dst
        chunks = iter(lambda: tarball.read(1 << 20), b"")
        load.request("POST", "/images/load?quiet=1", body=chunks,
                     headers={"Content-Type": "application/x-tar"}, encode_chunked=True)
        r = load.getresponse()
        body = r.read()
        get.close()
        load.close()
        assert r.status == 200, (r.status, body[:500])
        assert self.docker.has_image(image), f"{image} missing after load: {body[:500]!r}"

    def output(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False
