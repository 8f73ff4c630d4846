#!/usr/bin/env python3
"""test_metrics.py - the 24-hour clock through `parley import` and `parley metrics`, to the second.

A history is replayed with the import format and the metrics are read back at chosen times,
with --verify so that the hourly aggregates are checked against the recomputation each time.
Expected numbers are worked out by hand from the definitions of docs/metrics.md (comments give the reasons).
"""
import json
import os
import subprocess
import tempfile
import unittest

PARLEY = os.environ.get("PARLEY_BIN", "parley")
T0 = 1791190800  # 2026-10-05T09:00:00Z
DAY = 86400


def iso(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def order(oid, buyer):
    return {"type": "order", "id": oid, "marketplace": "M", "seller": "S1", "buyer": buyer,
            "status": "delivered", "purchased_at": iso(T0 - 20 * DAY), "delivered_at": iso(T0 - 10 * DAY)}


def msg(mid, frm, at, text, **kw):
    m = {"type": "message", "id": mid, "from": frm, "at": iso(at), "text": text}
    m.update(kw)
    return m


O1, O2, O3, O4 = "111-0000000-0000001", "111-0000000-0000002", "111-0000000-0000003", "111-0000000-0000004"

HISTORY = [
    {"type": "marketplace", "id": "M", "name": "Example", "domains": ["example.com"], "locale": "en-US"},
    {"type": "seller", "id": "S1", "marketplace": "M", "name": "Acme", "email": "s1@acme.test"},
    {"type": "buyer", "id": "B1", "name": "Jane", "email": "jane@mail.test"},
    {"type": "buyer", "id": "B2", "name": "Carl", "email": "carl@mail.test"},
    order(O1, "B1"), order(O2, "B1"), order(O3, "B2"), order(O4, "B2"),
    # m0: eight days before T0, answered in an hour (in the 30-day window, not the 7-day one).
    msg("m0", "buyer", T0 - 8 * DAY, "Old question", order=O4, topic="other"),
    msg("r0", "seller", T0 - 8 * DAY + 3600, "Old answer", order=O4),
    # m1 answered exactly 24:00:00 later: on time.
    msg("m1", "buyer", T0, "Does it have a charger?", order=O1, topic="product_question"),
    # m2, same buyer, another order: the reply in O1's thread does not answer it.
    msg("m2", "buyer", T0 + 100, "And the other order?", order=O2, topic="shipping_delivery"),
    # m3 and m4 before one reply: it answers both (86,500 s: late; 86,400 s: on time).
    msg("m3", "buyer", T0 + 200, "Is it broken?", order=O3, topic="damaged_or_defective"),
    msg("m4", "buyer", T0 + 300, "Hello?", order=O3),
    # An auto-reply answers nothing.
    msg("a3", "seller", T0 + 400, "Thanks, we will get back to you.", order=O3, auto_reply=True),
    # m5, a product question: flagged, unflagged, then answered after 300 s.
    msg("m5", "buyer", T0 + 400, "What is the torque?", asin="B0TORQUE01", seller="S1", buyer="B1",
        topic="product_specifications"),
    {"type": "flag", "message": "m5", "at": iso(T0 + 500), "no_response_needed": True},
    {"type": "flag", "message": "m5", "at": iso(T0 + 600), "no_response_needed": False},
    msg("r5", "seller", T0 + 700, "60 Nm.", asin="B0TORQUE01", seller="S1", buyer="B1"),
    msg("r1", "seller", T0 + DAY, "Yes, it does.", order=O1),
    msg("r3", "seller", T0 + 300 + DAY, "We are sending a replacement.", order=O3),
]


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.db = os.path.join(cls.dir.name, "m.db")
        path = os.path.join(cls.dir.name, "history.jsonl")
        with open(path, "w") as f:
            for line in HISTORY:
                f.write(json.dumps(line) + "\n")
        r = subprocess.run([PARLEY, "import", "--db", cls.db, path], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def metrics(self, at, window="7d"):
        r = subprocess.run([PARLEY, "metrics", "--db", self.db, "--seller", "S1", "--at", iso(at),
                            "--window", window, "--json", "--verify"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def crt(self, m):
        c = m["crt"]
        return (c["on_time"], c["late"], c["pending"], c["flagged"], c["status"])

    def test_before_any_deadline(self):
        # Between m5's flag and its unflag: nothing has reached 24 hours, m5 is flagged.
        m = self.metrics(T0 + 550)
        self.assertEqual(self.crt(m), (0, 0, 4, 1, "no_data"))
        self.assertIsNone(m["crt"]["percent"])
        self.assertIsNone(m["response_time"]["avg_s"])

    def test_the_second_m2_turns_late(self):
        # One second before T0+100+24h m2 is pending; at that second it is late.
        m = self.metrics(T0 + 100 + DAY - 1)
        self.assertEqual(self.crt(m), (2, 0, 3, 0, "good"))
        m = self.metrics(T0 + 100 + DAY)
        self.assertEqual(self.crt(m), (2, 1, 2, 0, "at_risk"))
        self.assertAlmostEqual(m["crt"]["percent"], 200 / 3, places=6)
        # on time: m1 (86,400 s) and m5 (300 s)
        self.assertEqual(m["response_time"]["avg_s"], 43350)
        self.assertEqual(m["response_time"]["median_s"], 43350)
        self.assertEqual(m["response_time"]["p90_s"], 86400)

    def test_after_the_last_reply(self):
        # r3 answers m3 after 86,500 s (late) and m4 after exactly 86,400 s (on time).
        m = self.metrics(T0 + 300 + DAY)
        self.assertEqual(self.crt(m), (3, 2, 0, 0, "at_risk"))
        self.assertEqual(m["crt"]["percent"], 60.0)
        self.assertEqual(m["response_time"]["avg_s"], (300 + 86400 + 86400 + 86500) / 4)
        self.assertEqual(m["response_time"]["median_s"], 86400)
        self.assertEqual(m["response_time"]["p90_s"], 86500)

    def test_window_cuts_the_old_conversation(self):
        # The 30-day window holds m0 (answered in an hour); the 7-day one does not.
        m7 = self.metrics(T0 + 300 + DAY, "7d")
        m30 = self.metrics(T0 + 300 + DAY, "30d")
        self.assertEqual(m7["crt"]["on_time"] + 1, m30["crt"]["on_time"])
        self.assertEqual(m30["crt"]["late"], 2)
        self.assertAlmostEqual(m30["crt"]["percent"], 400 / 6, places=6)

    def test_now_uses_the_aggregates(self):
        # Without --at the aggregates answer (everything is in the past); --verify checks
        # them against the recomputation.
        r = subprocess.run([PARLEY, "metrics", "--db", self.db, "--seller", "S1", "--window", "90d",
                            "--json", "--verify"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = json.loads(r.stdout)
        self.assertIsInstance(m["volume"]["by_hour"], list)
        self.assertEqual(len(m["volume"]["by_hour"]), 24)

    def test_unknown_seller_and_bad_options(self):
        r = subprocess.run([PARLEY, "metrics", "--db", self.db, "--seller", "NOPE", "--json"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no seller", r.stderr)
        r = subprocess.run([PARLEY, "metrics", "--db", self.db, "--seller", "S1", "--window", "7x"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([PARLEY, "metrics", "--db", self.db, "--seller", "S1", "--at", "yesterday"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
