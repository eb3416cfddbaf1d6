"""Agent sampling cost (docs/BENCHMARKS.md, "Metrics"): `lattice dev` with N running busybox
containers (one user, a /24 tenant network), the process's CPU time and RSS over a window with
metrics off (--stats-interval 0) and on (10). Run: python3 bench/metrics/sampling.py [N] [SECONDS].
It removes what it created (by the node's label) when it ends."""
import json, os, subprocess, sys, time, urllib.request

BIN = os.environ.get("LATTICE_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "lattice"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
WINDOW = int(sys.argv[2]) if len(sys.argv) > 2 else 60
env = dict(os.environ)
env.setdefault("DOCKER_HOST", "unix:///run/lattice/docker.sock")

def call(base, m, p, body=None, tok=None):
    r = urllib.request.Request(base + p, method=m, data=json.dumps(body).encode() if body is not None else None,
                               headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + tok} if tok else {})})
    with urllib.request.urlopen(r, timeout=60) as resp:
        return json.loads(resp.read() or b"{}")

def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def run(interval, port):
    data = f"/tmp/lattice-bench-metrics-{interval}"
    subprocess.run(["rm", "-rf", data])
    p = subprocess.Popen([BIN, "dev", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--stats-interval", str(interval),
                          "--quota-workloads", "1000", "--quota-memory-mb", "1000000", "--quota-cpus", "1000", "--network-prefix", "24", "--log-level", "warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(4)
        t = call(base, "POST", "/api/v1/auth/register", {"email": "b@example.com", "password": "correct horse battery"})["token"]
        ids = [call(base, "POST", "/api/v1/workloads", {"name": f"s{i}", "template": "custom", "image": "lattice/busybox:dev",
                                                        "command": ["sleep", "100000"], "resources": {"memory_mb": 16, "cpus": 0.1}}, t)["id"] for i in range(N)]
        deadline = time.time() + 300
        while time.time() < deadline:
            items = call(base, "GET", "/api/v1/workloads", tok=t)["items"]
            if sum(w["status"] == "running" for w in items) == N:
                break
            time.sleep(2)
        time.sleep(25)  # settle; two sampling passes
        c0, r0 = cpu_seconds(p.pid), rss_mb(p.pid)
        time.sleep(WINDOW)
        c1, r1 = cpu_seconds(p.pid), rss_mb(p.pid)
        pts = call(base, "GET", f"/api/v1/workloads/{ids[0]}/metrics?from=-2m&step=10s", tok=t)["points"]
        return (c1 - c0) / WINDOW * 100, r1, len(pts), ids, t, base
    finally:
        node = json.load(open(f"{data}/agent/node.json"))["node_id"]
        try:
            for w in call(base, "GET", "/api/v1/workloads", tok=t)["items"]:
                call(base, "DELETE", f"/api/v1/workloads/{w['id']}", tok=t)
        except Exception as e:
            print("cleanup:", e)
        p.terminate(); p.wait(timeout=30)
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=lattice.node={node}"], capture_output=True, text=True, env=env).stdout.split()
        if ids: subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, env=env)
        nets = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label=lattice.node={node}"], capture_output=True, text=True, env=env).stdout.split()
        if nets: subprocess.run(["docker", "network", "rm", *nets], capture_output=True, env=env)

for interval, port in ((0, 18481), (10, 18482)):
    cpu, rss, npts, *_ = run(interval, port)
    print(f"stats-interval {interval}: {N} containers, lattice dev CPU {cpu:.2f}% of one core over {WINDOW}s, RSS {rss:.1f} MB, points for one workload: {npts}", flush=True)
