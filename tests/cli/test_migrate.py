#!/usr/bin/env python3
"""test_migrate.py - upgrades: `parley migrate --check` says where a database made by an
earlier release stands and changes nothing; `--apply` (or `parley serve` at start) brings
it to the current schema, the same as a new database's; and everything the earlier
release stored is still there and usable: messages, sealed addresses, templates, tokens,
the audit chains. The fixture is tests/data/schema/v12 (tests/data/schema/make-fixture.sh)."""
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from parley_harness import BIN, Server, Store, main  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "data", "schema", "v12")


def cli(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=300)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def schema(path):
    """Every table, index and trigger's SQL, by name (the schema's history table's rows aside)."""
    c = sqlite3.connect(path)
    try:
        return c.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        c.close()


class Upgrade(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        self.addCleanup(self.store.cleanup)
        with gzip.open(FIXTURE + ".db.gz") as src, open(self.store.url, "wb") as dst:
            shutil.copyfileobj(src, dst)
        shutil.copyfile(FIXTURE + ".key", self.store.key_file)
        os.chmod(self.store.key_file, 0o600)
        with open(FIXTURE + ".tokens.json") as f:
            self.tokens = json.load(f)
        self.db = self.store.url

    def migrate(self, *args):
        return cli("migrate", "--db", self.db, *args)

    def test_check_changes_nothing_and_apply_upgrades(self):
        before = sha(self.db)
        p = self.migrate("--check")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("database schema: version 12", p.stdout)
        self.assertRegex(p.stdout, r"to apply: migrations 13 to \d+")
        self.assertIn("`parley serve` applies them all at start", p.stdout)
        self.assertEqual(sha(self.db), before, "a check wrote to the database")
        c = sqlite3.connect(self.db)
        self.assertEqual(c.execute("PRAGMA user_version").fetchone()[0], 12)
        c.close()

        p = self.migrate("--apply")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"applied migrations 13 to (\d+)")
        p = self.migrate("--check")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("nothing to apply", p.stdout)
        p = self.migrate("--apply")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("nothing to apply", p.stdout)

        # the history: one row per migration, the new ones with the time they were applied
        c = sqlite3.connect(self.db)
        rows = c.execute("SELECT version, applied_at, compat FROM parley_schema ORDER BY version").fetchall()
        version = c.execute("PRAGMA user_version").fetchone()[0]
        c.close()
        self.assertEqual([r[0] for r in rows], list(range(1, version + 1)))
        self.assertTrue(all(r[1] is None for r in rows[:12]), rows[:12])
        self.assertTrue(all(r[1] for r in rows[12:]), rows[12:])

        # the same schema as a database this release makes from nothing
        fresh = os.path.join(self.store.dir, "fresh.db")
        p = cli("admin", "--db", fresh, "token", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(schema(self.db), schema(fresh))

        p = cli("audit", "verify", "--db", self.db, "--key-file", self.store.key_file)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_serve_upgrades_at_start_and_keeps_everything(self):
        srv = Server(self.store, ["--smtp-relay", "off"]).start()
        self.addCleanup(srv.stop)
        buyer = self.tokens["buyers"]["B1"]
        owner = self.tokens["agents"]["Maya Lopez"]["token"]
        t1 = self.tokens["threads"][0]["id"]
        # what the earlier release stored, read through this one
        r = srv.request("GET", "/v1/threads/" + t1, token=buyer)
        self.assertEqual(r.status, 200, r)
        texts = [m.get("text") for m in r.json["messages"]]
        self.assertTrue(any("fixture-buyer-question" in (t or "") for t in texts), texts)
        self.assertTrue(any("fixture-seller-answer" in (t or "") for t in texts), texts)
        self.assertFalse(any("check the stock first" in (t or "") for t in texts), "a note reached the buyer")
        r = srv.request("GET", "/v1/templates", token=owner)
        self.assertEqual(r.status, 200, r)
        self.assertIn("Fixture", [t["name"] for t in r.json["templates"]])
        # a sealed address of the earlier release opens with its key
        r = srv.request("GET", "/v1/agents/1/addresses", token=owner)
        self.assertEqual(r.status, 200, r)
        self.assertIn("maya@s1-fixture.example", json.dumps(r.json))
        # and the conversation goes on
        r = srv.request("POST", "/v1/threads/%s/messages" % t1, body={"text": "One more question."}, token=buyer)
        self.assertEqual(r.status, 201, r)
        r = srv.request("POST", "/v1/threads/%s/messages" % t1, body={"text": "Happy to help."}, token=owner)
        self.assertEqual(r.status, 201, r)
        p = self.migrate("--check")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_missing_database(self):
        p = cli("migrate", "--db", os.path.join(self.store.dir, "none.db"), "--check")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no database at", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.store.dir, "none.db")))
        p = cli("migrate", "--db", self.db)
        self.assertEqual(p.returncode, 2)
        p = cli("migrate", "--db", self.db, "--check", "--apply")
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    main()
