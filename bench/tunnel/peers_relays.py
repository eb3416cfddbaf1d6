"""The peers of bench/tunnel/peers.py and the plumbing to run and watch them: helper processes
started and stopped by PID, a stunnel4 pair, a throw-away sshd with `ssh -L`, and the CPU time of
the processes a path's bytes go through. Standard library only."""

import getpass
import os
import re
import shutil
import socket
import subprocess
import sys
import time

# Both TLS peers use the cipher Lattice's data connections prefer, so the comparison is of
# the relays, not of the ciphers.
STUNNEL_SUITE = "TLS_AES_128_GCM_SHA256"
SSH_CIPHER = "aes128-gcm@openssh.com"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Failure(Exception):
    """Something the benchmark needs did not work (as opposed to a missed goal)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True if some socket listens on TCP `port` (IPv4), read from /proc/net/tcp: no connection
    is made, so no server sees a stray client."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def echo_works(host, port, timeout=3):
    """One 64-byte round trip through (host, port): the path carries bytes end to end."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            msg = os.urandom(64)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    return False
                got += chunk
            return got == msg
    except OSError:
        return False


class Processes:
    """The helper processes this run started; stop_all() ends exactly those, by PID."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}

    def start(self, name, cmd):
        out = open(os.path.join(self.tmp, f"{name}.log"), "ab")
        p = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        out.close()
        self.procs[name] = p
        return p

    def wait_listening(self, name, ports, timeout=20):
        deadline = time.monotonic() + timeout
        while not all(listening(p) for p in ports):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise Failure(f"{name} did not listen on {ports}:\n{self.output(name)}")
            time.sleep(0.05)

    def output(self, name):
        try:
            with open(os.path.join(self.tmp, f"{name}.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run(cmd, timeout, what):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise Failure(f"{what} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def who_dials(addr, port, via):
    """Which processes on the node hold a connection to the container's (addr, port) while one
    client is connected through `via`: the agent itself ("lattice") when it dials the container's
    address, "docker-proxy" when it goes through the published port."""
    with socket.create_connection(via, timeout=5) as s:
        s.sendall(b"x")
        s.recv(1)  # the stream relays end to end
        out = run(["ss", "-Htnp", "state", "established", "dst", f"{addr}:{port}"], 10, "ss")
    return sorted(set(re.findall(r'users:\(\("([^"]+)"', out)))


# -- the peers -------------------------------------------------------------------------------


def start_stunnel(procs, tmp, targets):
    """Two stunnel processes, client mode and server mode, one service per target.
    targets: {name: (host, port)}. Returns {name: client-side loopback port}."""
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", f"{tmp}/stunnel.key", "-out", f"{tmp}/stunnel.crt", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], 30, "openssl req")
    common = ["foreground = yes", "pid =", "debug = warning", "sslVersionMin = TLSv1.3",
              f"ciphersuites = {STUNNEL_SUITE}"]
    client, server, fronts, backs = list(common), list(common), {}, {}
    for name, (host, port) in targets.items():
        fronts[name], backs[name] = free_port(), free_port()
        client += [f"[{name}]", "client = yes", f"accept = 127.0.0.1:{fronts[name]}",
                   f"connect = 127.0.0.1:{backs[name]}", "verifyPeer = yes",
                   f"CAfile = {tmp}/stunnel.crt", "socket = l:TCP_NODELAY=1",
                   "socket = r:TCP_NODELAY=1"]
        server += [f"[{name}]", f"accept = 127.0.0.1:{backs[name]}", f"connect = {host}:{port}",
                   f"cert = {tmp}/stunnel.crt", f"key = {tmp}/stunnel.key",
                   "socket = l:TCP_NODELAY=1", "socket = r:TCP_NODELAY=1"]
    binary = shutil.which("stunnel4") or shutil.which("stunnel")
    for role, lines in (("stunnel-server", server), ("stunnel-client", client)):
        with open(f"{tmp}/{role}.conf", "w") as f:
            f.write("\n".join(lines) + "\n")
        procs.start(role, [binary, f"{tmp}/{role}.conf"])
    procs.wait_listening("stunnel-server", list(backs.values()))
    procs.wait_listening("stunnel-client", list(fronts.values()))
    return fronts


def ensure_privsep_dir():
    """sshd refuses to start without its privilege separation directory (/run/sshd, which the
    system's service would create). Returns it if this made it (for the caller to remove),
    else None."""
    if os.path.isdir("/run/sshd"):
        return None
    os.mkdir("/run/sshd", 0o755)
    return "/run/sshd"


def start_ssh(procs, tmp, targets):
    """A throw-away sshd on a free loopback port (its own host key, config and authorized key;
    the system's sshd and its files are not touched) and `ssh -N -L` for every target.
    Returns {name: forwarded loopback port}. Call ensure_privsep_dir() first."""
    for key in ("host", "client"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{tmp}/{key}_key"], 30,
            "ssh-keygen")
    shutil.copy(f"{tmp}/client_key.pub", f"{tmp}/authorized_keys")
    port = free_port()
    with open(f"{tmp}/sshd_config", "w") as f:
        f.write("\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {tmp}/host_key",
            f"PidFile {tmp}/sshd.pid", f"AuthorizedKeysFile {tmp}/authorized_keys",
            "StrictModes no", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "AllowTcpForwarding yes",
            "LogLevel ERROR"]) + "\n")
    procs.start("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", f"{tmp}/sshd_config"])
    procs.wait_listening("sshd", [port])
    fwd = {name: free_port() for name in targets}
    cmd = ["ssh", "-F", "/dev/null", "-N", "-T", "-i", f"{tmp}/client_key",
           "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
           "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR", "-c", SSH_CIPHER,
           "-p", str(port)]
    for name, (host, tport) in targets.items():
        cmd += ["-L", f"127.0.0.1:{fwd[name]}:{host}:{tport}"]
    procs.start("ssh", cmd + [f"{getpass.getuser()}@127.0.0.1"])
    procs.wait_listening("ssh", list(fwd.values()))
    return fwd


# -- the relay processes' CPU time ------------------------------------------------------------


def cpu_seconds(pids):
    """User + system CPU time of these processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass  # gone: its time is lost, which the caller's bytes cannot tell
    return ticks / os.sysconf("SC_CLK_TCK")


def with_descendants(root):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def docker_proxies(ports):
    """The docker-proxy processes that serve these host ports."""
    want = {f"-host-port\0{p}\0".encode() for p in ports}
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"docker-proxy" in cmd.split(b"\0")[0] and any(w in cmd for w in want):
                pids.append(int(d))
    return pids  # none when the engine's userland proxy is off
