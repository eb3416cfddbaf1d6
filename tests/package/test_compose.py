"""compose.yaml with Debian's docker-compose: Lattice's own images (built from the .deb under
test, with a tag of this run), the server on the PostgreSQL store, an agent on the host's
Docker engine; a PostgreSQL workload deploys, answers psql through the server's edge, and is
deleted. Free ports, a project name of its own, and everything it made is removed."""

import os
import shutil
import subprocess
import unittest

from pkg_harness import (SOURCE_DIR, deb_path, docker, free_port, free_port_range, healthz, http,
                         items, required, run, run_id, skip_reason, wait_until)

COMPOSE_FILE = os.path.join(SOURCE_DIR, "compose.yaml")
PASSWORD = "a-long-test-password"


def compose_skip_reason():
    reason = skip_reason()
    if reason:
        return reason
    if not shutil.which("docker-compose"):
        return "docker-compose missing (apt-get install docker-compose)"
    if not shutil.which("psql"):
        return "psql missing (apt-get install postgresql-client)"
    if docker("image", "inspect", "lattice/postgres:15", check=False).returncode != 0:
        return "lattice/postgres:15 missing (scripts/build-images.sh postgres)"
    return None


@unittest.skipIf(required(compose_skip_reason()), compose_skip_reason())
class ComposeTest(unittest.TestCase):
    def setUp(self):
        rid = run_id()
        self.tag = f"test-{rid}"
        self.project = f"latticetest{rid.replace('-', '')}"
        out = run(os.path.join(SOURCE_DIR, "scripts", "build-lattice-image.sh"), "--tag", self.tag,
                  deb_path(), timeout=600).stdout.split()
        self.assertEqual(out, [f"lattice/lattice:{self.tag}", f"lattice/lattice-agent:{self.tag}"])
        self.addCleanup(docker, "rmi", *out, check=False)
        self.port = free_port()
        low, high = free_port_range(5)
        self.env = dict(os.environ,
                        LATTICE_STORE_PASSWORD=f"pw-{rid}",
                        LATTICE_IMAGE=out[0], LATTICE_AGENT_IMAGE=out[1],
                        LATTICE_PORT=str(self.port),
                        LATTICE_PUBLIC_PORTS_LOW=str(low), LATTICE_PUBLIC_PORTS_HIGH=str(high),
                        LATTICE_NODE_NAME=f"node-{rid}",
                        LATTICE_DOCKER_SOCKET=os.environ.get(
                            "DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://"))
        self.env.pop("LATTICE_JOIN_TOKEN", None)
        self.addCleanup(self.compose, "down", "-v", "--remove-orphans", check=False)
        self.url = f"http://127.0.0.1:{self.port}"

    def compose(self, *args, check=True, env=None, timeout=300):
        return run("docker-compose", "-f", COMPOSE_FILE, "-p", self.project, *args,
                   env=env or self.env, check=check, timeout=timeout)

    def logs(self):
        return self.compose("logs", "--no-color", "--tail", "40", check=False).stdout

    def test_server_store_agent_and_a_postgres_workload(self):
        self.compose("up", "-d", "store", "server")
        try:
            wait_until(lambda: healthz(self.url), 90, "the server's /healthz")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.logs()}")
        status, body = http("POST", self.url + "/api/v1/auth/register",
                            {"email": "admin@example.com", "password": PASSWORD})
        self.assertEqual(status, 201, body)
        token, user_id = body["token"], body.get("user", {}).get("id")
        if user_id:  # the agent makes one network per user; it outlives the workload
            self.addCleanup(docker, "network", "rm", f"lattice-t-{user_id}", check=False)
        status, join = http("POST", self.url + "/api/v1/nodes/join-tokens", token=token)
        self.assertEqual(status, 201, join)

        self.compose("up", "-d", "agent", env=dict(self.env, LATTICE_JOIN_TOKEN=join["token"]))

        def node_ready():
            _, nodes = http("GET", self.url + "/api/v1/nodes", token=token)
            return [n for n in items(nodes) if n.get("status") == "ready"]
        try:
            node = wait_until(node_ready, 60, "the agent's node to be ready")[0]
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.logs()}")
        self.addCleanup(self.remove_node_containers, node["id"])

        status, w = http("POST", self.url + "/api/v1/workloads",
                         {"name": "db", "template": "postgres"}, token=token)
        self.assertEqual(status, 201, w)

        def running():
            _, got = http("GET", self.url + f"/api/v1/workloads/{w['id']}", token=token)
            self.assertNotEqual(got.get("status"), "failed", got)
            return got if got.get("status") == "running" else None
        try:
            got = wait_until(running, 180, "the PostgreSQL workload to run")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.logs()}")
        cs = got["credentials"]["connection_string"]

        def answers():
            r = subprocess.run(["psql", cs, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                "-c", "select 40 + 2"], capture_output=True, text=True, timeout=20)
            return r.returncode == 0 and r.stdout.strip() == "42"
        wait_until(answers, 60, "psql through the server's edge")

        status, _ = http("DELETE", self.url + f"/api/v1/workloads/{w['id']}", token=token)
        self.assertIn(status, (200, 202, 204))

        def gone():
            return http("GET", self.url + f"/api/v1/workloads/{w['id']}", token=token)[0] == 404
        wait_until(gone, 60, "the workload to be deleted")

    def remove_node_containers(self, node_id):
        """Whatever the agent left running for this node (normally nothing)."""
        ids = docker("ps", "-aq", "--filter", f"label=lattice.node={node_id}",
                     check=False).stdout.split()
        if ids:
            docker("rm", "-f", "-v", *ids, check=False)


if __name__ == "__main__":
    unittest.main()
