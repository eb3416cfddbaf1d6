"""Notifications through the real binary, without Docker (docs/notifications.md):

  - a webhook channel hears of a real alert: a fake agent reports the workload failed, and a
    local receiver (http.server on port 0) gets a POST whose HMAC-SHA256 signature it verifies
    with the secret shown once at creation;
  - "send test" delivers a `test` notification and the delivery log says so;
  - a receiver that is down: the delivery is retried (with --notify-retry-base 1) and then
    `failed`, with its attempts logged;
  - an e-mail channel: the message arrives at a real SMTP sink (aiosmtpd) on a free port;
  - the CLI: `lattice notify add|ls|test|log|rm`;
  - bad input is a 400 problem naming the field, node events are for admins (403), another
    user's channel is 404; every answer matches docs/openapi.yaml.
"""

import json
import socket
import time
import unittest

import accounts
import agent_link
from webhook_receiver import Receiver
from lattice_server import LatticeServer, run_lattice

CHANNELS = "/api/v1/notification-channels"
CHANNEL = "/api/v1/notification-channels/{id}"
TEST = "/api/v1/notification-channels/{id}/test"
DELIVERIES = "/api/v1/notification-channels/{id}/deliveries"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps every message."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.content.decode("utf-8", "replace")))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


def wait_for(predicate, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class NotificationsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smtp = SmtpSink()
        cls.srv = LatticeServer("--smtp-url", f"smtp://127.0.0.1:{cls.smtp.port}",
                                "--smtp-from", "lattice@example.com",
                                "--notify-retry-base", "1", "--notify-max-attempts", "3")
        cls.srv.__enter__()
        cls.admin = accounts.sign_up(cls.srv, "root@example.com")["token"]
        cls.alice = accounts.invited(cls.srv, cls.admin, "alice@example.com")["token"]
        cls.bob = accounts.invited(cls.srv, cls.admin, "bob@example.com")["token"]
        cls.rx = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.rx.close()
        cls.srv.__exit__(None, None, None)
        cls.smtp.close()

    def create(self, token, body, expect=201):
        return accounts.call(self.srv, "POST", CHANNELS, body, token=token, expect=expect)[1]

    def deliveries(self, token, cid):
        return accounts.call(self.srv, "GET", DELIVERIES, token=token, expect=200, id=cid)[1]["items"]

    def test_a_failed_workload_reaches_a_signed_webhook_and_a_test_is_logged(self):
        made = self.create(self.alice, {"kind": "webhook", "url": self.rx.url,
                                        "events": ["workload.failed"]})
        self.assertTrue(made["secret"].startswith("whsec_"))
        self.rx.secret = made["secret"]
        _, got = accounts.call(self.srv, "GET", CHANNEL, token=self.alice, expect=200,
                               id=made["id"])
        self.assertNotIn("secret", got)
        self.assertEqual(got["events"], ["workload.failed"])

        # A real alert: the node's agent reports the workload failed.
        _, join = accounts.call(self.srv, "POST", "/api/v1/nodes/join-tokens", {},
                                token=self.admin, expect=201)
        with agent_link.FakeAgent(self.srv, join["token"], name="notified", heartbeat=0.3) as agent:
            _, w = accounts.call(self.srv, "POST", "/api/v1/workloads",
                                 {"name": "crashy", "template": "custom", "image": "example/app:1"},
                                 token=self.alice, expect=201)
            wait_for(lambda: accounts.call(self.srv, "GET", "/api/v1/workloads/{id}",
                                           token=self.alice, id=w["id"])[1].get("node_id"),
                     what="placement")
            agent.send({"type": "status", "workload_id": w["id"], "generation": 1,
                        "state": "failed", "reason": "the container exited with code 3",
                        "bindings": []})
            wait_for(lambda: self.rx.received, what="the webhook")
        headers, body, ok = self.rx.received[0]
        self.assertTrue(ok, "the signature verifies with the secret shown at creation")
        self.assertEqual(headers["X-Lattice-Event"], "workload.failed")
        self.assertEqual(body["kind"], "workload.failed")
        self.assertEqual(body["workload"], {"id": w["id"], "name": "crashy"})
        self.assertEqual(body["message"], "the container exited with code 3")
        self.assertEqual(headers["X-Lattice-Delivery"], body["id"])
        log = wait_for(lambda: [d for d in self.deliveries(self.alice, made["id"])
                                if d["status"] == "delivered"], what="the log")
        self.assertEqual((log[0]["kind"], log[0]["attempts"], log[0]["last_code"]),
                         ("workload.failed", 1, 204))
        self.assertEqual(log[0]["workload_id"], w["id"])

        # Send test.
        _, queued = accounts.call(self.srv, "POST", TEST, token=self.alice, expect=202,
                                  id=made["id"])
        self.assertEqual((queued["kind"], queued["status"]), ("test", "pending"))
        wait_for(lambda: len(self.rx.received) >= 2, what="the test notification")
        self.assertEqual(self.rx.received[1][1]["kind"], "test")
        self.assertTrue(self.rx.received[1][2])
        wait_for(lambda: [d for d in self.deliveries(self.alice, made["id"])
                          if d["id"] == queued["id"] and d["status"] == "delivered"],
                 what="the test in the log")

    def test_a_receiver_that_is_down_is_retried_then_failed(self):
        made = self.create(self.alice, {"kind": "webhook",
                                        "url": f"http://127.0.0.1:{free_port()}/gone"})
        _, queued = accounts.call(self.srv, "POST", TEST, token=self.alice, expect=202,
                                  id=made["id"])
        # Attempts at 0 s, +1 s, +2 s (--notify-retry-base 1, --notify-max-attempts 3).
        failed = wait_for(lambda: [d for d in self.deliveries(self.alice, made["id"])
                                   if d["id"] == queued["id"] and d["status"] == "failed"],
                          timeout=20, what="the failed delivery")
        self.assertEqual(failed[0]["attempts"], 3)
        self.assertEqual(failed[0]["last_code"], 0)
        self.assertIsNone(failed[0]["next_attempt_at"])
        self.assertTrue(failed[0]["last_result"])

    def test_an_email_reaches_the_smtp_sink(self):
        made = self.create(self.alice, {"kind": "email", "email": "ops@example.com"})
        self.assertIsNone(made["secret"])
        self.assertEqual(made["email"], "ops@example.com")
        accounts.call(self.srv, "POST", TEST, token=self.alice, expect=202, id=made["id"])
        mail = wait_for(lambda: self.smtp.messages, what="the e-mail")
        sender, rcpts, content = mail[0]
        self.assertEqual(sender, "lattice@example.com")
        self.assertEqual(rcpts, ["ops@example.com"])
        self.assertIn("Subject: [Lattice] test", content)
        self.assertIn("this channel works", content)
        log = wait_for(lambda: [d for d in self.deliveries(self.alice, made["id"])
                                if d["status"] == "delivered"], what="the log")
        self.assertEqual(log[0]["last_code"], 250)

    def test_bad_input_node_events_and_other_users(self):
        for body, field in (({"kind": "webhook", "url": "ftp://x/y"}, "url"),
                            ({"kind": "webhook"}, "url"),
                            ({"kind": "pager", "url": "http://x/"}, "kind"),
                            ({"kind": "email", "email": "not-an-address"}, "email"),
                            ({"kind": "webhook", "url": "http://x/", "events": ["nope"]}, "events"),
                            ({"url": "http://x/"}, "kind")):
            with self.subTest(body=body):
                problem = self.create(self.alice, body, expect=400)
                self.assertIn(field, [e["field"] for e in problem.get("errors", [])], problem)
        self.create(self.alice, {"kind": "webhook", "url": "http://x/", "events": ["node.down"]},
                    expect=403)
        admins = self.create(self.admin, {"kind": "webhook", "url": "http://x/",
                                          "events": ["node.down", "node.up"]})
        self.assertEqual(admins["events"], ["node.down", "node.up"])

        mine = self.create(self.alice, {"kind": "webhook", "url": "https://hooks.example.com/x"})
        self.assertNotIn("node.down", mine["events"])
        for method, pattern in (("GET", CHANNEL), ("DELETE", CHANNEL), ("POST", TEST),
                                ("GET", DELIVERIES)):
            accounts.call(self.srv, method, pattern, token=self.bob, expect=404, id=mine["id"])
        listed = accounts.call(self.srv, "GET", CHANNELS, token=self.bob, expect=200)[1]
        self.assertEqual(listed["items"], [])
        self.assertTrue(listed["email_available"])
        accounts.call(self.srv, "DELETE", CHANNEL, token=self.alice, expect=204, id=mine["id"])
        accounts.call(self.srv, "GET", CHANNEL, token=self.alice, expect=404, id=mine["id"])

    def test_the_cli_adds_lists_tests_and_removes_a_channel(self):
        env = {"LATTICE_SERVER": self.srv.base_url, "LATTICE_TOKEN": self.bob}

        def lattice(*args):
            cp = run_lattice(*args, env=env)
            return cp.returncode, cp.stdout, cp.stderr

        rc, out, err = lattice("notify", "add", "--webhook", self.rx.url, "--events",
                               "workload.failed,backup.failed", "-o", "json")
        self.assertEqual(rc, 0, err)
        made = json.loads(out)
        self.assertEqual(made["events"], ["workload.failed", "backup.failed"])
        self.rx.secret = made["secret"]
        rc, out, err = lattice("notify", "ls")
        self.assertEqual(rc, 0, err)
        self.assertIn(made["id"], out)
        self.assertIn("workload.failed,backup.failed", out)
        before = len(self.rx.received)
        rc, out, err = lattice("notify", "test", made["id"])
        self.assertEqual(rc, 0, err)
        wait_for(lambda: len(self.rx.received) > before, what="the CLI's test")
        self.assertTrue(self.rx.received[-1][2], "signed")
        wait_for(lambda: "delivered" in lattice("notify", "log", made["id"])[1], what="the log")
        rc, _, err = lattice("notify", "add", "--webhook", "ftp://nope")
        self.assertNotEqual(rc, 0)
        self.assertIn("scheme", err)
        rc, out, err = lattice("notify", "rm", made["id"])
        self.assertEqual(rc, 0, err)
        self.assertNotIn(made["id"], lattice("notify", "ls")[1])


if __name__ == "__main__":
    unittest.main()
