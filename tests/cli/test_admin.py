#!/usr/bin/env python3
"""test_admin.py - `parley admin` for identities: token list and revoke, agent deactivate.

Each test works on a fresh SQLite store through the real command; the effect of a
revocation or a deactivation is read back through `token list --all --json`, and a
deactivated agent is shown to get no new token.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

PARLEY = os.environ.get("PARLEY_BIN", "parley")


class AdminIdentities(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="parley-cli-admin-")
        self.db = os.path.join(self.dir, "t.db")
        self.ok("marketplace", "add", "--id", "M", "--name", "M", "--domain", "example.com")
        self.ok("seller", "add", "--id", "S1", "--marketplace", "M", "--name", "Acme")
        self.ok("seller", "add", "--id", "S2", "--marketplace", "M", "--name", "Other")
        self.ok("buyer", "add", "--id", "B1", "--name", "Jane", "--email", "jane@mail.test")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_admin(self, *args):
        return subprocess.run([PARLEY, "admin"] + list(args) + ["--db", self.db], capture_output=True,
                              text=True, timeout=120)

    def ok(self, *args):
        p = self.run_admin(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def tokens(self, *extra):
        return [json.loads(line) for line in self.ok("token", "list", "--json", *extra).splitlines()]

    def test_list_shows_everything_but_the_secret(self):
        agent = self.ok("agent", "add", "--seller", "S1", "--name", "Maya")
        secrets = [self.ok("token", "create", "--agent", agent),
                   self.ok("token", "create", "--buyer", "B1", "--expires-in", "3600"),
                   self.ok("token", "create", "--operator", "ops")]
        table = self.ok("token", "list")
        as_json = self.ok("token", "list", "--json")
        for s in secrets:
            self.assertNotIn(s, table)
            self.assertNotIn(s, as_json)
        rows = self.tokens()
        self.assertEqual([r["owner"] for r in rows], ["operator:ops", "buyer:B1", "agent:" + agent])  # newest first
        self.assertEqual([r["kind"] for r in rows], ["operator", "buyer", "agent"])
        self.assertEqual(rows[2]["seller_id"], "S1")
        self.assertIsNone(rows[0]["expires_at"])
        self.assertRegex(rows[1]["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsNone(rows[0]["last_used_at"])
        for r in rows:
            self.assertEqual(r["scope"], "api")
            self.assertRegex(r["created_at"], r"^\d{4}-")
        header = table.splitlines()[0].split()
        self.assertEqual(header[:4], ["ID", "OWNER", "KIND", "SCOPE"])
        self.assertIn("EXPIRES", header)

    def test_revoke(self):
        self.ok("token", "create", "--operator", "ops")
        self.ok("token", "create", "--buyer", "B1")
        tid = [r["id"] for r in self.tokens() if r["owner"] == "buyer:B1"][0]
        self.assertIn("revoked token %d" % tid, self.ok("token", "revoke", str(tid)))
        self.assertNotIn(tid, [r["id"] for r in self.tokens()])
        revoked = [r for r in self.tokens("--all") if r["id"] == tid]
        self.assertTrue(revoked and revoked[0]["revoked_at"])
        # again: nothing more to revoke, not an error
        self.assertIn("already revoked", self.ok("token", "revoke", str(tid)))
        p = self.run_admin("token", "revoke", "999")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not_found", p.stderr)
        p = self.run_admin("token", "revoke", "abc")
        self.assertEqual(p.returncode, 2)

    def test_deactivate_agent(self):
        a1 = self.ok("agent", "add", "--seller", "S1", "--name", "Leaving")
        a2 = self.ok("agent", "add", "--seller", "S1", "--name", "Staying")
        self.ok("token", "create", "--agent", a1)
        self.ok("token", "create", "--agent", a1, "--expires-in", "600")
        self.ok("token", "create", "--agent", a2)
        out = self.ok("agent", "deactivate", a1)
        self.assertIn("deactivated agent %s; 2 tokens revoked" % a1, out)
        left = [r["owner"] for r in self.tokens()]
        self.assertEqual(left, ["agent:" + a2])
        p = self.run_admin("token", "create", "--agent", a1)
        self.assertEqual(p.returncode, 1)
        self.assertIn("agent_deactivated", p.stderr)
        self.assertEqual(p.stdout, "")
        p = self.run_admin("agent", "deactivate", "4242")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not_found", p.stderr)

    def test_help(self):
        p = subprocess.run([PARLEY, "admin", "--help"], capture_output=True, text=True, timeout=60)
        for words in ("token list", "token revoke", "agent deactivate", "account set", "account totp-off"):
            self.assertIn(words, p.stdout)
        p = subprocess.run([PARLEY, "serve", "--help"], capture_output=True, text=True, timeout=60)
        self.assertIn("--trust-proxy", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
