"""What an idle agent link costs the server, through the real binary (issue 18's memory target:
a server holds one link per node, tens of thousands, nearly all idle between heartbeats).

- N links that joined and then fall silent grow the server's resident memory by less than
  LIMIT_KB each. What one holds is its TLS connection (OpenSSL's SSL object, ~13 KB with its
  session and keys; no record buffers), its WebSocket (~2.4 KB) and one pending read; before
  issue 18's rework it was ~48 KB (the coroutines of the accept, the routing and the link
  stayed suspended above it, and two read buffers were held).
- The link still reads what it must: a hello split over several WebSocket frames, larger than
  the small array an idle read is lent, is read whole; so is a long message in pieces after it.
"""

import json
import time
import unittest

import agent_link
from lattice_server import LatticeServer

PASSWORD = "correct horse battery"
WARM_UP = 40  # links opened first, so that threads, arenas and caches exist before measuring
LINKS = 300
LIMIT_KB = 32


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def ws_fragments(text, parts):
    """`text` as one text message in `parts` frames: text, continuations, FIN on the last."""
    payload = text.encode()
    step = -(-len(payload) // parts)
    return b"".join(agent_link.ws_frame(payload[i * step:(i + 1) * step],
                                        opcode=0x1 if i == 0 else 0x0, fin=i == parts - 1)
                    for i in range(parts))


class LinkMemoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Heartbeats every 60 s: the links may stay silent for the whole test (3 × 60 s).
        cls.srv = LatticeServer("--registration", "open", "--heartbeat", "60", "--access-log",
                                "false", "--log-level", "warn").start()
        status, _, body = cls.srv.request("POST", "/api/v1/auth/register",
                                          body={"email": "root@example.com",
                                                "password": PASSWORD})
        assert status == 201, body
        cls.admin = body["token"]
        cls.socks = []

    @classmethod
    def tearDownClass(cls):
        for s in cls.socks:
            s.close()
        cls.srv.cleanup()

    def join_token(self):
        status, _, body = self.srv.request("POST", "/api/v1/nodes/join-tokens", token=self.admin)
        self.assertEqual(status, 201, body)
        return body["token"]

    def open_link(self, name):
        """A joined link, left silent; its socket is kept open."""
        sock = agent_link._open_link(self.srv, timeout=10)
        self.socks.append(sock)
        agent_link._send_text(sock, agent_link._hello_message(join_token=self.join_token(),
                                                              name=name))
        welcome = json.loads(agent_link._read_message(sock))
        self.assertEqual(welcome.get("type"), "welcome", welcome)
        return sock, welcome

    def test_an_idle_link_costs_the_server_little(self):
        for i in range(WARM_UP):
            self.open_link(f"warm-{i}")
        time.sleep(1)
        before = rss_kb(self.srv.proc.pid)
        for i in range(LINKS):
            self.open_link(f"idle-{i}")
        time.sleep(1)  # the last welcomes' writers and connect bookkeeping are done
        per_link = (rss_kb(self.srv.proc.pid) - before) / LINKS
        print(f"\nidle agent link: {per_link:.1f} KB of server RSS each ({LINKS} links)")
        self.assertLess(per_link, LIMIT_KB)
        # They are all still up.
        status, _, body = self.srv.request("GET", "/api/v1/nodes", token=self.admin)
        self.assertEqual(status, 200, body)
        ready = [n for n in body["items"] if n["status"] == "ready"]
        self.assertGreaterEqual(len(ready), WARM_UP + LINKS)

    def test_a_hello_in_several_frames_is_read_whole(self):
        sock = agent_link._open_link(self.srv, timeout=10)
        self.socks.append(sock)
        hello = agent_link._hello_message(join_token=self.join_token(), name="f" * 200)
        self.assertGreater(len(hello), 256)  # more than an idle read is lent
        sock.sendall(ws_fragments(hello, 3))
        welcome = json.loads(agent_link._read_message(sock))
        self.assertEqual(welcome.get("type"), "welcome", welcome)
        # Then, on the admitted link, a long message in pieces and a heartbeat: the link reads
        # both and is still there (a ping gets its pong; a link that lost track of its frames
        # would have closed).
        report = json.dumps({"type": "status", "workload_id": "wl_" + "x" * 400,
                             "generation": 1, "state": "running", "reason": "", "bindings": []})
        sock.sendall(ws_fragments(report, 4))
        agent_link._send_text(sock, json.dumps({"type": "heartbeat", "running": 0}))
        sock.sendall(agent_link.ws_frame(b"still there?", opcode=0x9))
        while True:
            opcode, payload = agent_link.read_frame(sock)
            self.assertNotEqual(opcode, 0x8, f"the server closed the link: {payload!r}")
            if opcode == 0xA:
                break
        self.assertEqual(payload, b"still there?")

if __name__ == "__main__":
    unittest.main()
