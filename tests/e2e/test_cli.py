"""The `lattice` client verbs end to end: the real binary, run as a user would, against
`lattice dev` (server + embedded agent) on the real Docker engine.

Covers login/whoami/logout and the config file, deploying every template with --wait (and
connecting with what it printed), ps/inspect/logs (including `logs -f` receiving a line written
after it started), stop/start/rm, nodes and join tokens, --help, bash completion, and each usage
(exit 2) and server (exit 1) error path.
"""

import json
import os
import pty
import queue
import select
import signal
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import BUSYBOX, Client, Docker, LatticeDev, psql, skip_reason, wait_until
from lattice_server import lattice_bin

REASON = skip_reason()
PASSWORD = "correct horse battery"
S3CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images", "s3check.py")
# A custom workload that prints a numbered line every 0.3 s and exits promptly on SIGTERM.
TICKER = ['sh', '-c', 'trap "exit 0" TERM; echo "$GREETING"; i=0; '
          'while true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done']


def unused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def details(text):
    """The indented `key  value` lines of `deploy` output, as a dict."""
    out = {}
    for line in text.splitlines():
        if line.startswith("  ") and "  " in line.strip():
            k, v = line.strip().split(None, 1)
            out[k] = v.strip()
    return out


@unittest.skipIf(REASON, REASON)
class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lattice-cli-test-")
        cls.srv = LatticeDev("--stats-interval", "1").start()  # metrics within seconds
        cls.docker = Docker()
        try:
            cls.admin = Client(cls.srv, "admin@example.com", PASSWORD)  # the first user: admin
            cls.user = Client(cls.srv, "user@example.com", PASSWORD)
            wait_until(lambda: any(n["status"] == "ready" for n in
                                   cls.user.call("GET", "/api/v1/nodes")[2]["items"]),
                       30, "the embedded agent's node to be ready")
            # The shared sign-in most tests use, made with the CLI itself.
            cls.cfg = cls.config_dir("main")
            r = cls.run_cli("login", "--server", cls.srv.base_url, "--email", "user@example.com",
                            "--password-stdin", cfg=cls.cfg, input=PASSWORD + "\n")
            assert r.returncode == 0, r.stderr
        except BaseException:
            cls.srv.stop()
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            leftovers = cls.user.call("GET", "/api/v1/workloads")[2]["items"]
            cls.srv.stop()
            for w in leftovers:
                cls.docker.remove_labelled(f"lattice.workload={w['id']}")
        finally:
            cls.srv.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- running the binary ---------------------------------------------------------------------

    @classmethod
    def config_dir(cls, name):
        path = os.path.join(cls.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    @classmethod
    def env(cls, cfg, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_")}
        env["XDG_CONFIG_HOME"] = cfg
        env.update(extra or {})
        return env

    @classmethod
    def run_cli(cls, *args, cfg=None, env=None, input=None, timeout=120):
        kw = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run([lattice_bin(), *args], capture_output=True, text=True,
                              env=cls.env(cfg or cls.cfg, env), timeout=timeout, **kw)

    def ok(self, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0, f"lattice {' '.join(args)}\n{r.stdout}\n{r.stderr}")
        return r

    def fails(self, code, args, *fragments, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, code, f"lattice {' '.join(args)}\n{r.stdout}\n{r.stderr}")
        for f in fragments:
            self.assertIn(f, r.stderr, f"lattice {' '.join(args)}")
        return r

    def ps(self):
        return {w["name"]: w for w in json.loads(self.ok("ps", "--output", "json").stdout)}

    def on_terminal(self, *args, cfg=None, answers=(), timeout=120):
        """Runs the CLI on a pseudo-terminal (stdin, stdout and stderr); returns (code, output).

        answers: (prompt, reply) pairs; each reply is typed once its prompt has appeared."""
        leader, follower = pty.openpty()
        proc = subprocess.Popen([lattice_bin(), *args], stdin=follower, stdout=follower,
                                stderr=follower, env=self.env(cfg or self.cfg))
        os.close(follower)
        out = b""
        pending = list(answers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if pending and pending[0][0].encode() in out:
                    os.write(leader, pending.pop(0)[1].encode())
            elif proc.poll() is not None:
                break
        os.close(leader)
        return proc.wait(timeout=10), out.decode(errors="replace")

    # -- sign-in ----------------------------------------------------------------------------------

    def test_login_whoami_logout(self):
        cfg = self.config_dir("login")
        self.fails(1, ["whoami"], "not signed in", "lattice login", cfg=cfg)
        self.fails(2, ["login", "--server", self.srv.base_url, "--email", "user@example.com"],
                   "--password-stdin", cfg=cfg)
        self.fails(1, ["login", "--server", self.srv.base_url, "--email", "user@example.com",
                       "--password-stdin"], "email or password is incorrect", cfg=cfg,
                   input="wrong password\n")
        r = self.ok("login", "--server", self.srv.base_url, "--email", "user@example.com",
                    "--password-stdin", cfg=cfg, input=PASSWORD + "\n")
        self.assertIn(f"Signed in to {self.srv.base_url} as user@example.com", r.stdout)

        path = os.path.join(cfg, "lattice", "config.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        with open(path) as f:
            saved = json.load(f)
        self.assertEqual(saved["server"], self.srv.base_url)
        token = saved["token"]
        self.assertTrue(token)

        self.assertEqual(self.ok("whoami", cfg=cfg).stdout.strip(),
                         f"user@example.com (user) on {self.srv.base_url}")
        me = json.loads(self.ok("whoami", "--output", "json", cfg=cfg).stdout)
        self.assertEqual((me["email"], me["role"]), ("user@example.com", "user"))

        # LATTICE_SERVER overrides the saved server, and the token is not sent elsewhere.
        self.fails(1, ["whoami"], "not signed in to http://127.0.0.1:1", cfg=cfg,
                   env={"LATTICE_SERVER": "http://127.0.0.1:1"})
        # LATTICE_TOKEN overrides the saved token (here: with no saved sign-in at all).
        r = self.ok("whoami", cfg=self.config_dir("empty"),
                    env={"LATTICE_SERVER": self.srv.base_url, "LATTICE_TOKEN": self.admin.token})
        self.assertIn("admin@example.com (admin)", r.stdout)

        self.assertIn("Signed out", self.ok("logout", cfg=cfg).stdout)
        self.fails(1, ["whoami"], "not signed in", cfg=cfg)
        # The session was ended on the server, not just forgotten here.
        self.assertEqual(self.srv.request("GET", "/api/v1/auth/me", token=token)[0], 401)
        self.assertIn("Not signed in", self.ok("logout", cfg=cfg).stdout)

    def test_login_prompts_for_the_password_without_echo(self):
        cfg = self.config_dir("prompt")
        code, out = self.on_terminal(
            "login", "--server", self.srv.base_url, cfg=cfg,
            answers=[("Email: ", "user@example.com\n"),
                     ("Password for user@example.com: ", PASSWORD + "\n")])
        self.assertEqual(code, 0, out)
        self.assertIn("Signed in to", out)
        self.assertIn("user@example.com", out)  # the email is echoed as typed…
        self.assertNotIn(PASSWORD, out)  # …the password is not
        self.assertIn("user@example.com (user)", self.ok("whoami", cfg=cfg).stdout)

    # -- deploying --------------------------------------------------------------------------------

    def test_deploy_managed_templates_wait_and_connect(self):
        # Both at once, to keep the test short: postgres with plain progress lines, minio on a
        # terminal with progress redrawn in place.
        pg = subprocess.Popen([lattice_bin(), "deploy", "postgres", "pg", "--wait"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, env=self.env(self.cfg))
        code, tty_out = self.on_terminal("deploy", "minio", "files", "--wait")
        pg_out, pg_err = pg.communicate(timeout=180)
        self.assertEqual(pg.returncode, 0, pg_err)
        self.assertEqual(code, 0, tty_out)

        # Not a terminal: one plain line per status, ending with running.
        self.assertNotIn("\r", pg_err)
        self.assertRegex(pg_err.splitlines()[-1], r"^pg: running \(\d+s\)$")
        self.assertIn("Deployed postgres workload pg", pg_out)
        self.assertIn("Endpoints:", pg_out)
        creds = details(pg_out)
        self.assertRegex(creds["postgres"], r"^postgres://127\.0\.0\.1:\d+$")
        # What it printed is what a user pastes.
        self.assertEqual(psql(creds["connection_string"], "select 40 + 2"), "42")

        # A terminal: the status line is redrawn in place, then the details follow.
        self.assertIn("\r\x1b[K", tty_out)
        self.assertIn("files: running", tty_out)
        creds = details(tty_out.replace("\r\n", "\n"))
        hostport = creds["endpoint"].replace("http://", "")
        r = subprocess.run([sys.executable, S3CHECK, hostport, creds["access_key"],
                            creds["secret_key"], "mkbucket", "cli"], capture_output=True,
                           text=True, timeout=60)
        self.assertTrue(r.stdout.startswith("200"), r.stdout + r.stderr)

        listed = self.ps()
        for name, template in (("pg", "postgres"), ("files", "minio")):
            self.assertEqual(listed[name]["status"], "running")
            self.assertEqual(listed[name]["template"], template)
            self.assertTrue(listed[name]["endpoints"][0]["url"])
        table = self.ok("ps").stdout.splitlines()
        self.assertEqual(table[0].split(), ["NAME", "TEMPLATE", "STATUS", "NODE", "ENDPOINTS",
                                            "AGE"])
        self.assertEqual(sorted(self.ok("ps", "--quiet").stdout.split()), ["files", "pg"])

        page = self.ok("inspect", "pg").stdout
        self.assertRegex(page, r"Status: +running")
        self.assertIn("connection_string", page)
        self.assertIn("Events:", page)
        self.assertEqual(json.loads(self.ok("inspect", "pg", "-o", "json").stdout)["id"],
                         listed["pg"]["id"])

        for name in ("pg", "files"):
            self.assertIn(f"{name} is removed.", self.ok("rm", name, "--wait").stdout)
            self.assertEqual(self.docker.containers(f"lattice.workload={listed[name]['id']}"), [])
        self.assertEqual(self.ps(), {})

    def test_custom_logs_follow_and_lifecycle(self):
        r = self.ok("deploy", "custom", "ticker", "--image", BUSYBOX, "--env", "GREETING=hello",
                    "--port", "8080", "--memory", "64", "--cpus", "0.5", "--wait",
                    "--output", "json", "--", *TICKER)
        w = json.loads(r.stdout)
        self.assertEqual((w["status"], w["template"]), ("running", "custom"))
        self.assertEqual(w["resources"], {"memory_mb": 64, "cpus": 0.5})
        self.assertEqual(w["endpoints"][0]["container_port"], 8080)

        wait_until(lambda: "tick 2" in self.ok("logs", "ticker").stdout, 15, "ticks in the log")
        text = self.ok("logs", "ticker", "--tail", "1000").stdout
        self.assertEqual(text.splitlines()[0], "hello")
        last = max(int(l.split()[1]) for l in text.splitlines() if l.startswith("tick "))
        self.assertLessEqual(len(self.ok("logs", "ticker", "--tail", "2").stdout.splitlines()), 2)

        # -f: lines written after it started arrive, until Ctrl-C.
        follow = subprocess.Popen([lattice_bin(), "logs", "-f", "ticker", "--tail", "0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL, env=self.env(self.cfg))
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in follow.stdout], daemon=True).start()
        newer = None
        deadline = time.monotonic() + 15
        try:
            while newer is None and time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=1)
                except queue.Empty:
                    continue
                if line.startswith("tick ") and int(line.split()[1]) > last:
                    newer = line
        finally:
            follow.send_signal(signal.SIGINT)
            follow.wait(timeout=10)
            follow.stdout.close()
            follow.stderr.close()
        self.assertIsNotNone(newer, "logs -f printed no new line")
        self.assertEqual(follow.returncode, -signal.SIGINT)

        self.assertIn("ticker is stopped.", self.ok("stop", "ticker", "--wait").stdout)
        self.assertEqual(self.ps()["ticker"]["status"], "stopped")
        self.assertIn("ticker is running.", self.ok("start", "ticker", "--wait").stdout)
        self.assertEqual(self.ps()["ticker"]["status"], "running")
        # Without --wait the verbs return at once; rm then --wait on a second call is harmless.
        self.assertEqual(self.ok("rm", "ticker").stdout.strip(), "Removing ticker.")
        wait_until(lambda: "ticker" not in self.ps(), 30, "ticker to be removed")
        self.assertEqual(self.docker.containers(f"lattice.workload={w['id']}"), [])

    # -- errors -----------------------------------------------------------------------------------

    def test_metrics_table_and_json(self):
        self.ok("deploy", "custom", "meter", "--image", BUSYBOX, "--wait", "--", "sleep", "600")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            series = json.loads(self.ok("metrics", "meter", "--since", "5m", "--step", "1s",
                                        "-o", "json").stdout)
            if series["points"]:
                break
            time.sleep(0.5)
        self.assertEqual(series["workload_id"], self.ps()["meter"]["id"])
        self.assertEqual((series["step"], series["resolution"]), (1, "raw"))
        self.assertGreater(series["points"][-1]["memory_bytes"], 0)
        table = self.ok("metrics", "meter", "--since", "5m").stdout
        self.assertIn("TIME", table)
        self.assertIn("CPU (MAX)", table)
        self.assertIn("MiB", table)  # the memory and its limit
        self.fails(1, ["metrics", "meter", "--step", "soon"], "step")
        self.fails(1, ["metrics", "nothing-here"], "nothing-here")
        self.ok("rm", "meter", "--wait")

    def test_usage_errors_exit_2(self):
        custom = ["deploy", "custom", "bad", "--image", BUSYBOX]
        cases = [
            (["deploy", "custom", "bad"], "--image is required"),
            (custom + ["--env", "NOEQUALS"], "--env 'NOEQUALS': expected KEY=VALUE"),
            (custom + ["--port", "0"], "--port '0': expected a port from 1 to 65535"),
            (custom + ["--port", "http"], "--port 'http'"),
            (custom + ["--port", "53/sctp"], "tcp or udp"),
            (["deploy", "postgres", "bad", "--memory", "lots"], "--memory"),
            (["deploy", "postgres"], "NAME is required"),
            (["deploy", "mysql", "bad"], "unknown template 'mysql'"),
            (["deploy"], "choose one of: postgres, minio, custom"),
            (["deploy", "postgres", "bad", "--bogus"], "--bogus"),
            (["ps", "--output", "yaml"], "yaml"),
            (["logs"], "NAME is required"),
            (["logs", "x", "--tail", "20000"], "--tail"),
            (["nosuchverb"], "lattice"),
            (["join-token"], "choose one of: create"),
            (["ps", "--server", "ftp://example"], "unsupported scheme"),
            (["login", "--email", "user@example.com"], "--password-stdin"),
        ]
        for args, fragment in cases:
            with self.subTest(args=args):
                r = self.fails(2, args, fragment)
                self.assertIn("--help", r.stderr)
        self.assertNotIn("bad", self.ps())  # nothing was created

    def test_server_and_network_errors_exit_1(self):
        port = unused_port()
        self.fails(1, ["ps", "--server", f"http://127.0.0.1:{port}"],
                   f"cannot reach http://127.0.0.1:{port}: connection refused",
                   "is the server running? check --server or LATTICE_SERVER",
                   env={"LATTICE_TOKEN": "any"})
        self.fails(1, ["ps"], "not signed in", "lattice login", cfg=self.config_dir("nobody"))
        self.fails(1, ["ps"], "not signed in (or the session expired): run `lattice login`",
                   env={"LATTICE_TOKEN": "lt1.bogus"})
        self.fails(1, ["deploy", "postgres", "Bad_Name"], "name: must be a DNS label")
        for verb in ("inspect", "logs", "start", "stop", "rm"):
            self.fails(1, [verb, "nope"], "no workload named 'nope'", "lattice ps")

        self.ok("deploy", "custom", "dup", "--image", BUSYBOX, "--", "sleep", "600")
        self.fails(1, ["deploy", "postgres", "dup"], "already")
        self.ok("rm", "dup", "--wait")

        r = self.fails(1, ["deploy", "custom", "ghost", "--image", "lattice/does-not-exist:1",
                           "--wait", "--timeout", "90"], "ghost failed", "lattice/does-not-exist:1",
                       "lattice logs ghost")
        self.assertIn("ghost: failed", r.stderr)
        self.ok("rm", "ghost", "--wait")

    def test_nodes_and_join_tokens(self):
        table = self.ok("nodes").stdout.splitlines()
        self.assertEqual(table[0].split()[:3], ["NAME", "STATUS", "ADDRESS"])
        self.assertIn("ready", table[1])
        nodes = json.loads(self.ok("nodes", "--output", "json").stdout)
        self.assertEqual(nodes[0]["status"], "ready")

        self.fails(1, ["join-token", "create"], "administrator")
        admin = {"LATTICE_SERVER": self.srv.base_url, "LATTICE_TOKEN": self.admin.token}
        r = self.ok("join-token", "create", env=admin)
        self.assertIn("lattice agent --server", r.stdout)
        token = json.loads(self.ok("join-token", "create", "-o", "json", env=admin).stdout)
        self.assertTrue(token["token"].startswith("ljt1."))
        self.assertIn(token["token"], token["command"])

    # -- help and completion ----------------------------------------------------------------------

    def test_every_verb_has_help(self):
        verbs = [["login"], ["logout"], ["whoami"], ["deploy"], ["deploy", "postgres"],
                 ["deploy", "minio"], ["deploy", "custom"], ["ps"], ["inspect"], ["logs"],
                 ["metrics"],
                 ["start"], ["stop"], ["rm"], ["nodes"], ["join-token"], ["join-token", "create"],
                 ["completion"], ["completion", "bash"]]
        for v in verbs:
            with self.subTest(verb=v):
                r = self.ok(*v, "--help")
                self.assertIn(f"Usage: lattice {' '.join(v)}", r.stdout)
                self.assertIn("Example", r.stdout)
                self.assertIn("lattice " + v[0], r.stdout.split("Example", 1)[1])
        top = self.ok("--help").stdout
        for v in ("login", "deploy", "ps", "logs", "nodes", "join-token", "completion"):
            self.assertIn(v, top)

    def test_bash_completion(self):
        script = os.path.join(self.tmp, "lattice.bash")
        with open(script, "w") as f:
            f.write(self.ok("completion", "bash").stdout)
        self.assertEqual(subprocess.run(["bash", "-n", script]).returncode, 0)
        self.ok("deploy", "custom", "sleeper", "--image", BUSYBOX, "--", "sleep", "600")

        def complete(*words):
            line = " ".join(f"'{w}'" for w in (lattice_bin(), *words))
            r = subprocess.run(
                ["bash", "-c", f'source "{script}"; COMP_WORDS=({line}); '
                 f'COMP_CWORD={len(words)}; _lattice; printf "%s\\n" "${{COMPREPLY[@]}}"'],
                capture_output=True, text=True, env=self.env(self.cfg), timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            return sorted(r.stdout.split())

        self.assertEqual(complete("dep"), ["deploy"])
        self.assertEqual(complete("deploy", ""), ["--help", "-h", "custom", "minio", "postgres"])
        self.assertIn("--image", complete("deploy", "custom", "web", "--i"))
        self.assertEqual(complete("ps", "--output", ""), ["json", "table"])
        self.assertEqual(complete("logs", "sl"), ["sleeper"])  # names from `lattice ps -q`
        self.assertEqual(complete("deploy", "custom", "x", "--", "s"), [])
        self.ok("rm", "sleeper", "--wait")


if __name__ == "__main__":
    unittest.main()
