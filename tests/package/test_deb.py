"""The .deb in a clean Debian 12 container (the local base image, no systemd): it installs with
apt (Depends resolved from Debian), the server starts as its systemd unit would start it (the
unit's User= and ExecStart= line), /healthz answers, `lattice --version` is the package's;
an upgrade keeps the settings and a workload record; remove keeps the data; purge deletes it.

The steps depend on each other, so they run as one test, in order, in one container."""

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

from pkg_harness import (BASE_IMAGE, deb_path, docker, free_port, free_port_range, healthz, http,
                         items, required, run, run_id, skip_reason, wait_until)

UNIT = "/lib/systemd/system/lattice-server.service"


def unit_setting(text, key):
    values = re.findall(rf"^{key}=(.*)$", text, re.M)
    assert len(values) == 1, f"{key}= appears {len(values)} times in {UNIT}"
    return values[0].strip()


def bumped_copy(deb, version, out_dir):
    """The same package with Version: `version`, as a new release of it would be."""
    tree = os.path.join(out_dir, "tree")
    run("dpkg-deb", "-R", deb, tree)
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    with open(control, "w") as f:
        f.write(re.sub(r"^Version: .*$", f"Version: {version}", text, flags=re.M))
    out = os.path.join(out_dir, f"lattice_{version}_amd64.deb")
    run("dpkg-deb", "--root-owner-group", "-Zxz", "-b", tree, out)
    shutil.rmtree(tree)
    return out


@unittest.skipIf(required(skip_reason()), skip_reason())
class DebTest(unittest.TestCase):
    def setUp(self):
        self.deb = deb_path()
        self.version = run("dpkg-deb", "-f", self.deb, "Version").stdout.strip()
        self.tmp = tempfile.mkdtemp(prefix="lattice-deb-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        shutil.copy(self.deb, self.tmp)
        self.new_version = self.version + "+test1"
        bumped_copy(self.deb, self.new_version, self.tmp)
        self.name = f"lattice-deb-test-{run_id()}"
        # Host network: apt reaches the mirror even when dockerd runs without NAT, and the
        # test reaches the server on a free loopback port.
        docker("run", "-d", "--init", "--name", self.name, "--label", "lattice.test=deb", "--network", "host",
               "-v", f"{self.tmp}:/pkg:ro", BASE_IMAGE, "sleep", "infinity")
        self.addCleanup(docker, "rm", "-f", "-v", self.name, check=False)

    def sh(self, script, check=True, timeout=300):
        return docker("exec", self.name, "sh", "-ec", script, check=check, timeout=timeout)

    def start_server(self):
        """The unit's ExecStart as its User=, with a free port (env beats the config file)."""
        unit = self.sh(f"cat {UNIT}").stdout
        user, cmd = unit_setting(unit, "User"), unit_setting(unit, "ExecStart")
        self.port = free_port()
        low, high = free_port_range(5)
        env = f"LATTICE_LISTEN=127.0.0.1:{self.port} LATTICE_PUBLIC_PORTS={low}-{high}"
        inner = (f"echo $$ >/run/lattice-test.pid; exec setpriv --reuid {user} --regid {user} "
                 f"--init-groups env HOME=/var/lib/lattice {env} {cmd} >/tmp/server.log 2>&1")
        self.sh(f"cd /; sh -c '{inner}' </dev/null >/dev/null 2>&1 &")
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            wait_until(lambda: healthz(self.url), 30, "/healthz of the packaged server")
        except AssertionError:
            raise AssertionError(self.sh("cat /tmp/server.log", check=False).stdout)

    def stop_server(self):
        self.sh("kill -TERM $(cat /run/lattice-test.pid); "
                "for i in $(seq 100); do kill -0 $(cat /run/lattice-test.pid) 2>/dev/null || exit 0; "
                "sleep 0.1; done; exit 1")

    def test_install_upgrade_remove_purge(self):
        deb = f"/pkg/{os.path.basename(self.deb)}"
        # --- install from a clean base: apt resolves Depends from Debian
        self.sh("apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive "
                f"apt-get install -y -q --no-install-recommends {deb} >/tmp/install.log 2>&1 "
                "|| { tail -30 /tmp/install.log; exit 1; }", timeout=600)
        self.assertEqual(self.sh("dpkg-query -W -f='${Status} ${Version}' lattice").stdout,
                         f"install ok installed {self.version}")
        line = self.sh("lattice --version").stdout.strip()
        self.assertRegex(line, rf"^lattice {re.escape(self.version)} \(commit (\S+), schema \d+\)$")
        host_bin = os.environ.get("LATTICE_BIN")
        if host_bin:  # the package holds the binary of this build
            self.assertEqual(line, run(host_bin, "--version").stdout.strip())
        # user, state directory, settings readable by the server only
        self.sh("getent passwd lattice")
        self.assertEqual(self.sh("stat -c '%U %a' /var/lib/lattice").stdout.strip(), "lattice 700")
        self.assertEqual(self.sh("stat -c '%U:%G %a' /etc/lattice/lattice.toml").stdout.strip(),
                         "root:lattice 640")
        conffiles = self.sh("cat /var/lib/dpkg/info/lattice.conffiles").stdout.split()
        self.assertEqual(conffiles, ["/etc/lattice/lattice.toml", "/etc/lattice/agent.env"])
        # (the base image keeps no docs on disk, dpkg path-exclude; the package lists them)
        self.sh("dpkg -L lattice | grep -qx /usr/share/doc/lattice/install.md")

        # --- the server as systemd would run it
        self.start_server()
        _, signed = http("POST", self.url + "/api/v1/auth/register",
                         {"email": "admin@example.com", "password": "a-long-test-password"})
        token = signed["token"]
        status, wl = http("POST", self.url + "/api/v1/workloads",
                          {"name": "keepme", "template": "postgres"}, token=token)
        self.assertEqual(status, 201, wl)
        self.stop_server()
        self.assertTrue(self.sh("test -f /var/lib/lattice/lattice.db && "
                                "stat -c %U /var/lib/lattice/lattice.db").stdout.strip() == "lattice")

        # --- upgrade to a newer version: the operator's settings and the data stay
        self.sh("echo '# edited by the operator' >> /etc/lattice/lattice.toml")
        self.sh(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                f"/pkg/lattice_{self.new_version}_amd64.deb >/tmp/upgrade.log 2>&1 "
                "|| { tail -30 /tmp/upgrade.log; exit 1; }")
        self.assertEqual(self.sh("dpkg-query -W -f='${Version}' lattice").stdout, self.new_version)
        self.sh("grep -q '^# edited by the operator' /etc/lattice/lattice.toml")
        self.start_server()
        _, login = http("POST", self.url + "/api/v1/auth/login",
                        {"email": "admin@example.com", "password": "a-long-test-password"})
        status, body = http("GET", self.url + "/api/v1/workloads", token=login["token"])
        self.assertEqual(status, 200, body)
        self.assertIn("keepme", [w["name"] for w in items(body)])
        self.stop_server()

        # --- remove: the program goes, settings and data stay
        self.sh("DEBIAN_FRONTEND=noninteractive apt-get remove -y -q lattice >/dev/null")
        self.sh("! test -e /usr/bin/lattice && test -f /var/lib/lattice/lattice.db "
                "&& test -f /etc/lattice/lattice.toml && getent passwd lattice >/dev/null")

        # --- purge: data, settings and the user go
        self.sh("dpkg --purge lattice >/dev/null")
        self.sh("! test -e /var/lib/lattice && ! test -e /var/lib/lattice-agent "
                "&& ! test -e /etc/lattice && ! getent passwd lattice && ! getent group lattice")
        self.sh("! dpkg -s lattice >/dev/null 2>&1")


if __name__ == "__main__":
    unittest.main()
