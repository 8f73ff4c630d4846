#!/usr/bin/env python3
"""test_policy_train.py - `parley policy train`: the operator's decisions in the review queue
(over the API) retrain one marketplace's model in the database, and a running server gives
that marketplace the new verdict without a restart; another marketplace keeps its own."""
import json
import os
import time
import unittest

from parley_harness import (FAST, LEARN_CONFIG, LEARN_REJECTED, LEARN_SIMILAR, MP, Fixture,  # noqa: E402
                            Server, Store, main, order_line, run_cli, agent_token, UNLIMITED_PARTIES)

MP_B = "A1F83G8C2ARO7P"

# The operator of MP rejects five of a kind the shipped model never learned; a new one of the
# kind is then found there, and only there.
REJECTED, SIMILAR, CONFIG = LEARN_REJECTED, LEARN_SIMILAR, LEARN_CONFIG


class PolicyTrain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        extra = [
            {"type": "marketplace", "id": MP_B, "name": "Example UK", "domains": ["example.co.uk"],
             "locale": "en-GB", "settings": dict(UNLIMITED_PARTIES, **FAST)},
            {"type": "seller", "id": "S3", "marketplace": MP_B, "name": "Brit Home", "email": "s3@brit.test"},
            order_line("202-0000000-0000003", "S3", "B2", mp=MP_B),
        ]
        try:
            cls.fx = Fixture(cls.store, extra_lines=extra, settings=FAST)
            cls.s3 = agent_token(cls.store, "S3", "Ravi", "owner")
            cfg = os.path.join(cls.store.dir, "policy.json")
            with open(cfg, "w") as f:
                json.dump(CONFIG, f)
            cls.srv = Server(cls.store, ["--config", cfg]).start()
        except BaseException:
            cls.store.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.store.cleanup()

    def check(self, text, mp):
        r = self.srv.post("/v1/policy/check", {"text": text, "marketplace_id": mp}, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        return r.json

    def thread(self, buyer_token, oid):
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "Is the set complete?"},
                          buyer_token)
        self.assertEqual(r.status, 201, r)
        return r.json["thread"]["id"]

    def held(self, token, tid, text):
        r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": text}, token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["status"], "held_for_review", r)
        return r.json["message"]["id"]

    def decide(self, mid, what):
        r = self.srv.post("/v1/messages/%s/%s" % (mid, what), {}, self.fx.operator)
        self.assertEqual(r.status, 200, r)

    def test_decisions_retrain_one_marketplace_and_the_server_follows(self):
        before_a, before_b = self.check(SIMILAR, MP), self.check(SIMILAR, MP_B)
        self.assertEqual(before_a["action"], "review", before_a)
        self.assertEqual(before_b["action"], "review", before_b)
        self.assertEqual(before_a["engine"], before_b["engine"])

        tid = self.thread(self.fx.b1, self.fx.orders["B1/S1"][0])
        for text in REJECTED:
            self.decide(self.held(self.fx.owner, tid, text), "reject")
        # the other marketplace's operator approves one of the kind: its decision, not MP's
        self.decide(self.held(self.s3, self.thread(self.fx.b2, "202-0000000-0000003"), REJECTED[0]), "approve")

        p = run_cli(["policy", "train", "--marketplace", MP, "--json"], self.store)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["marketplace"], MP)
        self.assertEqual((out["decisions"], out["violations"]), (5, 5))
        self.assertRegex(out["version"], r"^clf-[0-9a-f]{12}$")

        # the running server loads MP's model at its next tick: wait for it, no restart
        deadline = time.monotonic() + 90
        after_a = self.check(SIMILAR, MP)
        while after_a["action"] != "reject" and time.monotonic() < deadline:
            time.sleep(0.2)  # polling for the server's tick
            after_a = self.check(SIMILAR, MP)
        self.assertEqual(after_a["action"], "reject", after_a)
        self.assertIn("promotion", after_a["categories"])
        self.assertTrue(after_a["engine"].endswith("+" + out["version"]), after_a)
        after_b = self.check(SIMILAR, MP_B)
        self.assertEqual(after_b["action"], "review", after_b)
        self.assertEqual(after_b["engine"], before_b["engine"])

        # without --marketplace: every marketplace with decisions, in order of id
        p = run_cli(["policy", "train"], self.store)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.strip().split("\n")
        self.assertEqual(len(lines), 2, p.stdout)
        self.assertIn("marketplace %s: model clf-" % MP_B, lines[0])
        self.assertIn("from 1 decision (0 rejected, 1 approved)", lines[0])
        self.assertIn("marketplace %s: model %s from 5 decisions" % (MP, out["version"]), lines[1])

    def test_usage(self):
        p = run_cli(["policy", "train", "--marketplace", "NOSUCHMP"], self.store)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("no marketplace NOSUCHMP", p.stderr)
        p = run_cli(["policy", "learn"], self.store)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: parley policy train", p.stderr)


if __name__ == "__main__":
    main()
