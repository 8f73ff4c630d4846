#!/usr/bin/env python3
"""test_keyrot.py - `parley admin key rotate` while the server serves: every address stays readable,
every token still authenticates, the old generation ends with no rows and out of the key file, and a
copy of the database opened with only the old key reads no address. An interrupted rotation finishes
on a second run; a key file others may read is refused (docs/operations.md, "Key rotation")."""
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import unittest
from urllib.parse import urlencode

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from parley_harness import BIN, MP, ServerCase, admin, main  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BUYERS = ["kb%02d" % i for i in range(24)]


def buyer_line(b):
    return {"type": "buyer", "id": b.upper(), "name": "Buyer " + b, "email": "%s.private@mail.test" % b,
            "locale": "en-US"}


class KeyRotation(ServerCase):
    own_store = True
    fixture_kw = {"extra_lines": [buyer_line(b) for b in BUYERS]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        agents = cls.srv.get("/v1/agents", cls.fx.owner).json["agents"]
        cls.sam = {a["name"]: a["id"] for a in agents}["Sam Agent"]
        cls.addrs = []
        for i in range(3):
            email = "sam.%d@acme-team.test" % i
            admin(cls.store, "agent-address", "add", "--agent", str(cls.sam), "--email", email)
            cls.addrs.append(email)
        cls.cred = json.loads(admin(cls.store, "spapi-credentials", "--seller", "S1"))

    def key(self, *args, env=None):
        cmd = [BIN, "admin", "key"] + list(args) + ["--db", self.store.url, "--key-file", self.store.key_file]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)

    def status(self, key_file=None, db=None):
        p = subprocess.run([BIN, "admin", "key", "status", "--check", "--json", "--db", db or self.store.url,
                            "--key-file", key_file or self.store.key_file], capture_output=True, text=True, timeout=300)
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr

    def generations(self):
        with open(self.store.key_file) as f:
            return [int(line.split()[1]) for line in f if line.startswith("gen ")]

    def access_token(self):
        body = urlencode({"grant_type": "refresh_token", "refresh_token": self.cred["refresh_token"],
                          "client_id": self.cred["client_id"], "client_secret": self.cred["client_secret"]})
        r = self.srv.request("POST", "/auth/o2/token", raw=body.encode(), headers=FORM)
        self.assertEqual(r.status, 200, r)
        return r.json["access_token"]

    def listed_addresses(self):
        r = self.srv.get("/v1/agents/%d/addresses" % self.sam, self.fx.owner)
        self.assertEqual(r.status, 200, r)
        return sorted(a["email"] for a in r.json["addresses"])

    def test_rotation_while_serving(self):
        old_key = os.path.join(self.store.dir, "old.key")
        shutil.copy2(self.store.key_file, old_key)
        before = self.generations()
        self.assertEqual(len(before), 1)
        old_gen, new_gen = before[0], before[0] + 1
        rc, st, err = self.status()
        self.assertEqual(rc, 0, err)
        total = st["generations"][0]["rows"]
        # 2 sellers, 2 + 24 buyers, 3 agent addresses (and any a test before added)
        self.assertGreaterEqual(total, 2 + 2 + len(BUYERS) + 3)
        access = self.access_token()
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "before the rotation")

        # A client keeps using the server: messages, token checks, and reading and
        # registering sealed addresses, while the rotation runs beside it.
        acked, stop, errors, added = [], threading.Event(), [], []

        def load():
            n = 0
            while not stop.is_set():
                n += 1
                r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "load %d" % n}, self.fx.b1)
                if r.status != 201:
                    errors.append(("send", r))
                    return
                acked.append(n)
                for tok in (self.fx.agent, self.fx.b2, self.fx.operator):
                    r = self.srv.get("/v1/me", tok)
                    if r.status != 200:
                        errors.append(("me", r))
                        return
                r = self.srv.get("/v1/agents/%d/addresses" % self.sam, self.fx.owner)
                if r.status != 200 or not set(self.addrs) <= {a["email"] for a in r.json["addresses"]}:
                    errors.append(("addresses", r))
                    return
                if len(added) < 3:
                    email = "during.%d@acme-team.test" % len(added)
                    r = self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": email}, self.fx.agent)
                    if r.status != 201:
                        errors.append(("add", r))
                        return
                    added.append(email)

        client = threading.Thread(target=load)
        client.start()
        try:
            while len(acked) < 5 and not errors:
                threading.Event().wait(0.01)
            p = self.key("rotate", "--batch", "4")
            while len(acked) < 10 and not errors and client.is_alive():  # and some after it
                threading.Event().wait(0.01)
        finally:
            stop.set()
            client.join(timeout=120)
        self.assertEqual(errors, [])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("added key generation %d" % new_gen, p.stdout)
        self.assertIn("retired key generation %d" % old_gen, p.stdout)

        # The old generation is gone from the key file, which stays 0600; no row uses it.
        self.assertEqual(self.generations(), [new_gen])
        self.assertEqual(stat.S_IMODE(os.stat(self.store.key_file).st_mode), 0o600)
        with open(old_key) as f:
            old_gen_line = [line for line in f if line.startswith("gen ")][0]
        with open(self.store.key_file) as f:
            self.assertNotIn(old_gen_line.split()[2], f.read())
        rc, st, err = self.status()
        self.assertEqual(rc, 0, err)
        self.assertEqual([(g["id"], g["current"]) for g in st["generations"]], [(new_gen, True)])
        self.assertEqual(st["generations"][0]["rows"], total + len(added))
        self.assertEqual((st["unreadable"], st["unknown_generation_rows"]), (0, 0))

        # Every address is readable: through the running server and the operator's CLI.
        want = sorted(self.addrs + added)
        self.assertEqual(self.listed_addresses(), want)
        out = admin(self.store, "agent-address", "list", "--agent", str(self.sam))
        self.assertEqual(sorted(line.split()[1] for line in out.splitlines()), want)
        # A value sealed now is the new generation's (the server follows the key file).
        r = self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": "after@acme-team.test"}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        rc, st, err = self.status()
        self.assertEqual(st["generations"][0]["rows"], total + len(added) + 1)

        # Every token still authenticates, sign-in included; SP-API credentials still work.
        for tok in (self.fx.owner, self.fx.agent, self.fx.read_only, self.fx.b1, self.fx.b2, self.fx.operator):
            self.assertEqual(self.srv.get("/v1/me", tok).status, 200)
        self.assertEqual(self.srv.post("/v1/session", {"token": self.fx.b1}).status, 201)
        for tok in (access, self.access_token()):  # the access token from before, and a new one
            r = self.srv.request("GET", "/messaging/v1/orders/%s?marketplaceIds=%s" % (self.fx.orders["B1/S1"][0], MP),
                                 headers={"x-amz-access-token": tok})
            self.assertEqual(r.status, 200, r)

        # A copy of the database with only the old key reads no address.
        copy = os.path.join(self.store.dir, "copy.db")
        src = sqlite3.connect(self.store.url)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.close()
        rc, st, err = self.status(key_file=old_key, db=copy)
        self.assertEqual(rc, 1, err)
        self.assertEqual(st["opened"], 0)
        self.assertEqual(st["unreadable"], total + len(added) + 1)
        self.assertEqual(st["unknown_generation_rows"], total + len(added) + 1)

    def test_interrupted_rotation_finishes_on_second_run(self):
        start = self.generations()[-1]
        env = dict(os.environ, PARLEY_TEST_KEY_STOP_AFTER="2")
        p = self.key("rotate", "--batch", "1", env=env)
        if "stopped after 2 batches" not in p.stderr:
            self.skipTest("this build has no fault injection (Release)")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.generations(), [start, start + 1])  # both kept: rows remain on the old one
        rc, st, err = self.status()
        self.assertEqual(rc, 0, err)
        rows = {g["id"]: g["rows"] for g in st["generations"]}
        self.assertEqual(rows[start + 1], 2)
        self.assertGreater(rows[start], 0)
        # retire alone refuses while rows remain
        p = self.key("retire")
        self.assertEqual(p.returncode, 1)
        self.assertIn("still seals", p.stderr)
        # the second run resumes (no third generation) and finishes
        p = self.key("rotate", "--batch", "7")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("resuming the rotation to key generation %d" % (start + 1), p.stdout)
        self.assertEqual(self.generations(), [start + 1])
        rc, st, err = self.status()
        self.assertEqual(rc, 0, err)
        self.assertEqual([g["id"] for g in st["generations"]], [start + 1])
        self.assertEqual(st["unreadable"], 0)
        self.assertTrue(set(self.addrs) <= set(self.listed_addresses()))

    def test_add_then_rotate_resumes(self):
        # several nodes: the generation is added first, the file copied, then the walk runs
        start = self.generations()[-1]
        p = self.key("add")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("added key generation %d" % (start + 1), p.stdout)
        p = self.key("add")
        self.assertIn("pending already", p.stdout)
        self.assertEqual(self.generations(), [start, start + 1])
        p = self.key("rotate")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("resuming the rotation to key generation %d" % (start + 1), p.stdout)
        self.assertEqual(self.generations(), [start + 1])
        rc, st, err = self.status()
        self.assertEqual((rc, st["unreadable"]), (0, 0), err)

    def test_limits_and_world_readable_key_file(self):
        for bad in ("0", "10001", "x", "-3"):
            p = self.key("rotate", "--batch", bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--batch must be 1 to 10000 rows", p.stderr)
        self.assertEqual(len(self.generations()), 1)  # nothing was added
        p = self.key("spin")
        self.assertEqual(p.returncode, 2)
        copy = os.path.join(self.store.dir, "readable.key")
        shutil.copy2(self.store.key_file, copy)
        for mode in (0o644, 0o640, 0o604):
            os.chmod(copy, mode)
            for args in (["admin", "key", "status"], ["admin", "token", "list"], ["serve", "--listen", "127.0.0.1:0"]):
                p = subprocess.run([BIN] + args + ["--db", self.store.url, "--key-file", copy],
                                   capture_output=True, text=True, timeout=120)
                self.assertNotEqual(p.returncode, 0, args)
                self.assertIn("key file %s may be read by others" % copy, p.stderr)
                self.assertIn("chmod 600 " + copy, p.stderr)


if __name__ == "__main__":
    main()
