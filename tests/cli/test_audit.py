#!/usr/bin/env python3
"""test_audit.py - `parley audit`: one hash chain per seller, signed checkpoints, and a
verification that catches every way of rewriting the record short of the signing key.

A tamperer here has the database file and removes the append-only triggers; what they do
not have is the key file's secret, which signs the checkpoints."""
import hashlib
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from parley_harness import Store, run_cli  # noqa: E402

ZERO = "0" * 64


def audit_hash(prev, seller, at, actor, action, subject, detail):
    """store__audit_hash: BLAKE2b-256 over length-prefixed fields."""
    h = hashlib.blake2b(digest_size=32)
    for v in (prev, seller or "", str(at), actor, action, subject, detail or "{}"):
        b = v.encode("utf-8")
        h.update(struct.pack("=I", len(b)))
        h.update(b)
    return h.hexdigest()


def rechain(db, chain):
    """Rewrites every hash of one chain, and its head, so that the chain links again: what a
    tamperer with the database but without the key can do after changing an entry."""
    c = sqlite3.connect(db)
    c.execute("DROP TRIGGER IF EXISTS audit_no_update")
    rows = c.execute("SELECT id, seller_id, at, actor, action, subject, detail, prev_hash FROM audit"
                     " WHERE chain = ? ORDER BY seq", (chain,)).fetchall()
    prev = rows[0][7]
    for r in rows:
        h = audit_hash(prev, r[1], r[2], r[3], r[4], r[5], r[6])
        c.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, r[0]))
        prev = h
    c.execute("UPDATE audit_heads SET hash = ? WHERE chain = ?", (prev, chain))
    c.commit()
    c.close()


class Audit(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        self.addCleanup(self.store.cleanup)
        self.db = self.store.url
        out = run_cli(["demo"], self.store)
        self.assertEqual(out.returncode, 0, out.stderr)

    def verify(self):
        out = run_cli(["audit", "verify", "--json"], self.store)
        return out.returncode, json.loads(out.stdout.strip().splitlines()[-1]), out.stderr

    def test_every_seller_has_its_own_chain(self):
        rc, rep, err = self.verify()
        self.assertEqual(rc, 0, err)
        self.assertTrue(rep["ok"])
        c = sqlite3.connect(self.db)
        chains = dict(c.execute("SELECT chain, count(*) FROM audit GROUP BY chain").fetchall())
        # the demo's two sellers and the platform (marketplace and buyers)
        self.assertEqual(set(chains), {"S1", "S2", ""})
        self.assertEqual(rep["chains"], 3)
        self.assertEqual(rep["entries"], sum(chains.values()))
        for chain in chains:
            seqs = [r[0] for r in c.execute("SELECT seq FROM audit WHERE chain = ? ORDER BY id", (chain,))]
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)), chain)

    def test_changed_entry_is_found(self):
        c = sqlite3.connect(self.db)
        c.execute("DROP TRIGGER audit_no_update")
        c.execute("UPDATE audit SET actor = 'someone else' WHERE id = (SELECT min(id) FROM audit WHERE chain = 'S2')")
        c.commit()
        rc, rep, err = self.verify()
        self.assertEqual(rc, 1)
        self.assertFalse(rep["ok"])
        self.assertIn("chain 'S2'", err)
        self.assertIn("changed after it was written", err)

    def test_rewritten_chain_is_caught_by_the_signed_checkpoint(self):
        out = run_cli(["audit", "checkpoint"], self.store)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("signed checkpoint", out.stdout)
        # nothing appended since: no second checkpoint
        out = run_cli(["audit", "checkpoint"], self.store)
        self.assertIn("unchanged since", out.stdout)
        c = sqlite3.connect(self.db)
        c.execute("DROP TRIGGER audit_no_update")
        c.execute("UPDATE audit SET actor = 'forger' WHERE id = (SELECT max(id) FROM audit WHERE chain = 'S1')")
        c.commit()
        c.close()
        rechain(self.db, "S1")
        rc, rep, err = self.verify()
        self.assertEqual(rc, 1, "a rewritten chain that links again must still fail")
        self.assertIn("no longer holds the entry", err)
        self.assertEqual(rep["checkpoints"], 1)

    def test_forged_checkpoint_is_refused(self):
        self.assertEqual(run_cli(["audit", "checkpoint"], self.store).returncode, 0)
        c = sqlite3.connect(self.db)
        c.execute("DROP TRIGGER audit_checkpoints_no_update")
        c.execute("UPDATE audit_checkpoints SET root = ?", ("f" * 64,))
        c.commit()
        c.close()
        rc, rep, err = self.verify()
        self.assertEqual(rc, 1)
        self.assertIn("signature", err)

    def test_checkpoint_is_signed_by_the_published_key(self):
        self.assertEqual(run_cli(["audit", "checkpoint"], self.store).returncode, 0)
        rc, rep, _ = self.verify()
        self.assertEqual(rc, 0)
        row = sqlite3.connect(self.db).execute(
            "SELECT at, nchains, root, heads, public_key, signature FROM audit_checkpoints").fetchone()
        self.assertEqual(row[4], rep["public_key"])
        heads = json.loads(row[3])
        self.assertEqual(len(heads), row[1])
        self.assertEqual([h[0] for h in heads], sorted(h[0] for h in heads))
        # every head it names is the chain's head now (nothing appended since)
        now = dict((r[0], [r[1], r[2]]) for r in sqlite3.connect(self.db).execute(
            "SELECT chain, seq, hash FROM audit_heads"))
        self.assertEqual({h[0]: [h[1], h[2]] for h in heads}, now)

    def test_later_appends_still_verify(self):
        self.assertEqual(run_cli(["audit", "checkpoint"], self.store).returncode, 0)
        tok = json.load(open(self.db + ".tokens.json"))
        # more entries on one chain after the checkpoint: the old checkpoint still holds
        out = run_cli(["admin", "agent", "add", "--seller", "S1", "--name", "Late Agent"], self.store)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        self.assertEqual(run_cli(["audit", "checkpoint"], self.store).returncode, 0)
        rc, rep, err = self.verify()
        self.assertEqual(rc, 0, err)
        self.assertEqual(rep["checkpoints"], 2)
        self.assertTrue(tok["operator"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
