#!/usr/bin/env python3
"""test_migrate.py - upgrades: `parley migrate --check` says where a database made by an
earlier release stands and changes nothing; `--apply` (or `parley serve` at start) brings
it to the current schema, the same as a new database's; and everything the earlier
release stored is still there and usable: messages, sealed addresses, templates, tokens,
the audit chains. The fixtures are tests/data/schema/v12 (tests/data/schema/make-fixture.sh),
one per backend: PARLEY_BACKEND=pg runs the same tests on PostgreSQL."""
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
from parley_harness import BACKEND, BIN, Server, Store, main  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "data", "schema", "v12")


def cli(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=300)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


PG = BACKEND != "sqlite"


def psql(url, sql=None, stdin=None):
    """psql on the database of a store URL (parley's own parameters left out): unaligned rows,
    NULL written as <null>."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-P", "null=<null>", "-v", "ON_ERROR_STOP=1",
                        url.split("?")[0]] + (["-c", sql] if sql else []),
                       input=stdin, capture_output=True, text=True, timeout=120)
    if p.returncode:
        raise RuntimeError("psql: " + p.stderr)
    return p.stdout


def query(url, sql):
    """Rows of one query, on either backend, as lists of strings (NULL: None)."""
    if PG:
        return [[None if v == "<null>" else v for v in line.split("|")]
                for line in psql(url, sql).splitlines() if line]
    c = sqlite3.connect(url)
    try:
        return [[None if v is None else str(v) for v in row] for row in c.execute(sql).fetchall()]
    finally:
        c.close()


def schema(url):
    """Every table, column, index and trigger, by name."""
    if PG:
        return query(url, "SELECT table_name, column_name, data_type, is_nullable, column_default"
                          " FROM information_schema.columns WHERE table_schema = 'public'"
                          " ORDER BY table_name, ordinal_position") + \
            query(url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
    return query(url, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


def version(url):
    return int(query(url, "SELECT max(version) FROM parley_schema" if PG else "PRAGMA user_version")[0][0])


class Upgrade(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        self.addCleanup(self.store.cleanup)
        if PG:
            with gzip.open(FIXTURE + ".pg.sql.gz", "rt") as src:
                psql(self.store.url, stdin=src.read())
        else:
            with gzip.open(FIXTURE + ".db.gz") as src, open(self.store.url, "wb") as dst:
                shutil.copyfileobj(src, dst)
        shutil.copyfile(FIXTURE + ".key", self.store.key_file)
        os.chmod(self.store.key_file, 0o600)
        with open(FIXTURE + (".pg" if PG else "") + ".tokens.json") as f:
            self.tokens = json.load(f)
        self.db = self.store.url

    def migrate(self, *args):
        return cli("migrate", "--db", self.db, *args)

    def test_check_changes_nothing_and_apply_upgrades(self):
        before = schema(self.db) if PG else sha(self.db)
        p = self.migrate("--check")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("database schema: version 12", p.stdout)
        self.assertRegex(p.stdout, r"to apply: migrations 13 to \d+")
        self.assertIn("`parley serve` applies them all at start", p.stdout)
        self.assertEqual(schema(self.db) if PG else sha(self.db), before, "a check wrote to the database")
        self.assertEqual(version(self.db), 12)

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
        rows = query(self.db, "SELECT version, applied_at, compat FROM parley_schema ORDER BY version")
        self.assertEqual([int(r[0]) for r in rows], list(range(1, version(self.db) + 1)))
        if not PG:  # rows of migrations from before the history was kept have no time
            self.assertTrue(all(r[1] is None for r in rows[:12]), rows[:12])
        self.assertTrue(all(r[1] for r in rows[12:]), rows[12:])
        self.assertTrue(all(r[2] == "0" for r in rows), rows)

        # the same schema as a database this release makes from nothing
        fresh = Store()
        self.addCleanup(fresh.cleanup)
        p = cli("admin", "--db", fresh.url, "--key-file", fresh.key_file, "token", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(schema(self.db), schema(fresh.url))

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
        if PG:
            self.skipTest("a SQLite file")
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
