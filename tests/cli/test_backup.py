#!/usr/bin/env python3
"""test_backup.py - `parley backup` while the server takes messages, and `parley restore`: every
message acknowledged before the backup began is in the restored store, attachments come back
byte for byte, and a damaged backup is refused before anything is written."""
import os
import shutil
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))
from parley_harness import BIN, Server, ServerCase, Store, main  # noqa: E402


def cli(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=300)


class Backup(ServerCase):
    own_store = True

    def setUp(self):
        self.work = os.path.join(self.store.dir, "work-%s" % self._testMethodName)
        os.makedirs(self.work)
        self.files = self.store.url + ".files"

    def test_backup_under_load_restores_every_acknowledged_message(self):
        # an attachment, sent with a seller reply, before the backup
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "before the backup")
        data = b"Packing list: one drill, one charger.\n"
        up = self.srv.request("POST", "/v1/attachments?name=list.txt", raw=data, token=self.fx.agent)
        self.assertEqual(up.status, 201, up)
        att = up.json["attachment"]["id"]
        self.send(self.fx.agent, t["id"], "The packing list is attached.", attachments=[att])

        acked, stop, errors = [], threading.Event(), []

        def load(k):
            n = 0
            while not stop.is_set():
                text = "load %d.%d" % (k, n)
                r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": text}, self.fx.b1)
                if r.status != 201:
                    errors.append(r)
                    return
                acked.append(text)
                n += 1

        writers = [threading.Thread(target=load, args=(k,)) for k in range(2)]
        for w in writers:
            w.start()
        try:
            # the backup begins once messages are being acknowledged, and runs beside them
            while len(acked) < 20 and not errors:
                threading.Event().wait(0.01)
            before = list(acked)
            out = os.path.join(self.work, "backup")
            p = cli("backup", "--db", self.store.url, "--to", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            # every attachment file of the store, the one sent above among them
            on_disk = sum(len(fs) for d, _, fs in os.walk(self.files) if not d.endswith("/tmp"))
            self.assertIn(" %d attachment files" % on_disk, p.stdout)
            self.assertGreaterEqual(on_disk, 1)
        finally:
            stop.set()
            for w in writers:
                w.join(timeout=120)
        self.assertEqual(errors, [])
        self.assertGreater(len(acked), len(before))  # it ran under load
        self.assertFalse(any(f.endswith(".key") for f in os.listdir(out)), "the key is kept apart")

        db = os.path.join(self.work, "restored.db")
        p = cli("restore", "--from", out, "--db", db)
        self.assertEqual(p.returncode, 0, p.stderr)
        restored = Store()
        self.addCleanup(restored.cleanup)
        restored.url, restored.key_file = db, self.store.key_file
        srv = Server(restored).start()
        self.addCleanup(srv.stop)
        texts, path = [], "/v1/threads/%s?limit=200" % t["id"]
        while path:  # every page, newest first
            page = srv.get(path, self.fx.b1).json
            texts += [m["text"] for m in page["messages"]]
            older = page["page"]["older"]
            path = older and "/v1/threads/%s?limit=200&before=%s" % (t["id"], older)
        missing = [x for x in before if x not in texts]
        self.assertEqual(missing, [], "acknowledged before the backup, missing after the restore")
        self.assertEqual(len(texts), len(set(texts)), "a message restored twice")
        got = srv.request("GET", "/v1/attachments/" + att, token=self.fx.b1)
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.body, data)

    def test_damage_is_refused_before_anything_is_written(self):
        out = os.path.join(self.work, "backup")
        p = cli("backup", "--db", self.store.url, "--to", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        # a database that is not there is not made (empty) and backed up
        missing = os.path.join(self.work, "typo.db")
        p = cli("backup", "--db", missing, "--to", os.path.join(self.work, "b2"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("no database", p.stderr)
        self.assertFalse(os.path.exists(missing))
        # a second backup never writes over the first
        p = cli("backup", "--db", self.store.url, "--to", out)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not empty", p.stderr)
        # one byte changed in the copy of the database
        bad = os.path.join(self.work, "bad")
        shutil.copytree(out, bad)
        with open(os.path.join(bad, "parley.db"), "r+b") as f:
            f.seek(5000)
            b = f.read(1)
            f.seek(5000)
            f.write(bytes([b[0] ^ 0xFF]))
        db = os.path.join(self.work, "r.db")
        p = cli("restore", "--from", bad, "--db", db)
        self.assertEqual(p.returncode, 1)
        self.assertIn("damaged", p.stderr)
        self.assertFalse(os.path.exists(db))
        self.assertFalse(os.path.exists(db + ".files"))
        # a restore never writes over a database
        p = cli("restore", "--from", out, "--db", self.store.url)
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists", p.stderr)
        # not a backup at all
        p = cli("restore", "--from", self.work, "--db", db)
        self.assertEqual(p.returncode, 1)
        self.assertIn("manifest", p.stderr)

    def test_a_damaged_attachment_file_stops_the_backup(self):
        up = self.srv.request("POST", "/v1/attachments?name=n.txt", raw=b"a note\n", token=self.fx.agent)
        self.assertEqual(up.status, 201, up)
        sha = up.json["attachment"]["sha256"]
        path = os.path.join(self.files, sha[:2], sha)
        with open(path, "rb") as f:
            good = f.read()
        try:
            with open(path, "wb") as f:
                f.write(b"not the note\n")
            p = cli("backup", "--db", self.store.url, "--to", os.path.join(self.work, "b"))
            self.assertEqual(p.returncode, 1)
            self.assertIn("damaged", p.stderr)
            self.assertIn(sha, p.stderr)
        finally:
            with open(path, "wb") as f:
                f.write(good)


if __name__ == "__main__":
    main()
