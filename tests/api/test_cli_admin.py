"""The administrators' client verbs against a real server: `lattice invite create|ls|rm` and
`lattice audit`, for people (tables) and scripts (--output json), and how they refuse
non-admins."""

import json
import shutil
import tempfile
import unittest

import accounts
from lattice_server import LatticeServer, run_lattice


class AdminVerbs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = LatticeServer()
        cls.srv.__enter__()
        cls.admin = accounts.sign_up(cls.srv, "root@example.com")["token"]
        cls.user = accounts.invited(cls.srv, cls.admin, "user@example.com")["token"]
        cls.config = tempfile.mkdtemp(prefix="lattice-cli-config-")

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        shutil.rmtree(cls.config, ignore_errors=True)

    def lattice(self, *args, token=None):
        cp = run_lattice(*args, env={"LATTICE_SERVER": self.srv.base_url,
                                     "LATTICE_TOKEN": token or self.admin,
                                     "XDG_CONFIG_HOME": self.config})
        return cp.returncode, cp.stdout, cp.stderr

    def test_invite_create_ls_rm(self):
        rc, out, err = self.lattice("invite", "create", "--note", "for Bob")
        self.assertEqual(rc, 0, err)
        code = next(w for w in out.split() if w.startswith("lin_"))
        self.assertIn("/signup", out)
        bob = accounts.sign_up(self.srv, "bob@example.com", invite=code)
        self.assertEqual(bob["user"]["role"], "user")

        rc, out, err = self.lattice("invite", "create", "--ttl", "3600", "-o", "json")
        self.assertEqual(rc, 0, err)
        created = json.loads(out)
        self.assertTrue(created["code"].startswith("lin_"))

        rc, out, err = self.lattice("invite", "ls")
        self.assertEqual(rc, 0, err)
        self.assertIn("bob@example.com", out)
        self.assertIn("for Bob", out)
        self.assertNotIn(code, out)
        rc, out, _ = self.lattice("invite", "ls", "--output", "json")
        listed = {i["id"]: i for i in json.loads(out)}
        self.assertEqual(listed[created["id"]]["status"], "pending")

        rc, out, err = self.lattice("invite", "rm", created["id"])
        self.assertEqual((rc, out.strip()), (0, f"Deleted invite {created['id']}."), err)
        rc, _, err = self.lattice("invite", "rm", created["id"])
        self.assertEqual(rc, 1)
        self.assertIn("No invite", err)

    def test_audit(self):
        rc, out, err = self.lattice("audit", "--limit", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[0].split(),
                         ["TIME", "ACTOR", "ACTION", "TARGET", "FROM", "OUTCOME", "DETAIL"])
        self.assertIn("Older events: lattice audit --before ", out)
        rc, out, err = self.lattice("audit", "-o", "json", "--limit", "500")
        self.assertEqual(rc, 0, err)
        page = json.loads(out)
        actions = {e["action"] for e in page["items"]}
        self.assertTrue({"auth.register", "invite.create"} <= actions, actions)
        oldest = page["items"][-1]["id"]
        rc, out, _ = self.lattice("audit", "--before", str(oldest))
        self.assertEqual((rc, out), (0, "No older events.\n"))

    def test_non_admins_are_told_no(self):
        for args in (("invite", "create"), ("invite", "ls"), ("invite", "rm", "inv_x"),
                     ("audit",)):
            with self.subTest(args=args):
                rc, out, err = self.lattice(*args, token=self.user)
                self.assertEqual(rc, 1, out)
                self.assertIn("administrator", err)

    def test_usage_errors(self):
        for args in (("invite",), ("invite", "burn"), ("invite", "rm"),
                     ("invite", "create", "--ttl", "5"), ("audit", "--limit", "0"),
                     ("audit", "--before", "-1")):
            with self.subTest(args=args):
                rc, _, err = self.lattice(*args)
                self.assertEqual(rc, 2, err)


if __name__ == "__main__":
    unittest.main()
