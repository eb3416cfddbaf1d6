"""A webhook receiver for tests (docs/notifications.md, "Verifying a webhook"): an http.server on
127.0.0.1:<port 0> that checks each POST's X-Lattice-Signature (HMAC-SHA256 over
"<timestamp>.<body>" with the channel's secret) and timestamp window, answering 204 when both hold
and 401 otherwise. Set `secret` once the channel is created; `received` lists
(headers, body as a dict, signature ok) in arrival order. Standard library only.
"""

import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    """A webhook receiver that checks each request's signature against `secret`."""

    def __init__(self):
        self.secret = None
        self.received = []  # (headers, body dict, signature ok)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ts = self.headers["X-Lattice-Timestamp"]
                want = "sha256=" + hmac.new(outer.secret.encode(), ts.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(want, self.headers["X-Lattice-Signature"])
                ok = ok and abs(time.time() - int(ts)) < 300  # no replays
                outer.received.append((dict(self.headers), json.loads(body), ok))
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/lattice"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
