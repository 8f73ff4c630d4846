#!/usr/bin/env python3
"""test_serve_mail.py - `parley serve` refuses to take mail without knowing whose word counts,
and says loudly when it is told to believe envelope senders (docs/postfix.md)."""
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

BIN = os.environ.get("PARLEY_BIN", "parley")


class ServeMailTrust(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="parley-serve-mail-")
        self.db = os.path.join(self.dir, "p.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, *extra):
        return subprocess.Popen([BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--lmtp", "127.0.0.1:0",
                                 "--smtp-relay", "off", "--log-format", "off"] + list(extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_lmtp_needs_an_authserv_id(self):
        p = self.serve()
        out, err = p.communicate(timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--mail-authserv-id", err)

    def test_unknown_trust_mode_is_refused(self):
        p = self.serve("--mail-trust", "dkim-ish", "--mail-authserv-id", "mx.example.test")
        out, err = p.communicate(timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--mail-trust is authenticated or envelope", err)

    def started(self, p):
        for line in p.stdout:
            if "listening on" in line:
                return True
        return False

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        return err

    def test_envelope_trust_warns_at_start(self):
        p = self.serve("--mail-trust", "envelope")
        self.assertTrue(self.started(p))
        err = self.stop(p)
        self.assertIn("WARNING: --mail-trust envelope", err)

    def test_authenticated_trust_starts_quietly(self):
        p = self.serve("--mail-authserv-id", "mx.example.test")
        self.assertTrue(self.started(p))
        err = self.stop(p)
        self.assertNotIn("WARNING", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
