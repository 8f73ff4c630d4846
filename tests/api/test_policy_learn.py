# test_policy_learn.py - learning from the operator over the API: rejections in the review queue, then
# POST /v1/admin/policy/train, and the marketplace's next verdict comes from its new model at once;
# GET /v1/admin/policy/models tells what each marketplace's model has learned and what waits.
import atexit
import json
import os
import shutil
import tempfile

from parley_harness import FAST, LEARN_CONFIG, LEARN_REJECTED, LEARN_SIMILAR, MP, ServerCase, main
from test_openapi import load, validate

# The operator holds promotion scores from 0.15 for review and finds them from 0.8.
_CFG_DIR = tempfile.mkdtemp(prefix="parley-learn-cfg-")
atexit.register(shutil.rmtree, _CFG_DIR, True)
CONFIG = os.path.join(_CFG_DIR, "policy.json")
with open(CONFIG, "w") as f:
    json.dump(LEARN_CONFIG, f)

REJECTED, SIMILAR = LEARN_REJECTED, LEARN_SIMILAR


class PolicyLearn(ServerCase):
    own_store = True
    fixture_kw = {"settings": FAST}
    server_args = ("--config", CONFIG)

    def check(self, text):
        r = self.srv.post("/v1/policy/check", {"text": text}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        return r.json

    def model(self):
        """The marketplace's entry of GET /v1/admin/policy/models."""
        r = self.srv.get("/v1/admin/policy/models", self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(validate(load(), {"$ref": "#/components/schemas/PolicyModels"}, r.json), [], r.json)
        mine = [m for m in r.json["models"] if m["marketplace_id"] == MP]
        self.assertEqual(len(mine), 1, r.json)
        return mine[0]

    def test_rejections_then_train_change_the_next_verdict(self):
        before = self.check(SIMILAR)
        self.assertEqual(before["action"], "review", before)
        m0 = self.model()
        self.assertIsNone(m0["trained"])
        self.assertEqual((m0["decisions"], m0["violations"], m0["new_decisions"]), (0, 0, 0))
        self.assertEqual(m0["version"], m0["shipped_version"])
        self.assertTrue(before["engine"].endswith("+" + m0["version"]), (before, m0))
        self.assertEqual(m0["learn_decision_weight"], 5)
        tid = self.start_thread(self.fx.b1, self.fx.orders["B1/S1"][0])[0]["id"]
        for text in REJECTED:
            m = self.send(self.fx.owner, tid, text)
            self.assertEqual(m["status"], "held_for_review", m)
            r = self.srv.post("/v1/messages/%s/reject" % m["id"], {}, self.fx.operator)
            self.assertEqual(r.status, 200, r)
        m1 = self.model()
        self.assertEqual((m1["decisions"], m1["violations"], m1["new_decisions"]), (5, 5, 5))
        self.assertIsNone(m1["trained"])

        r = self.srv.post("/v1/admin/policy/train", {"marketplace_id": MP}, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(validate(load(), {"$ref": "#/components/schemas/PolicyTrained"}, r.json), [], r.json)
        self.assertEqual((r.json["marketplace_id"], r.json["decisions"], r.json["violations"]), (MP, 5, 5))
        m2 = self.model()
        self.assertEqual(m2["trained"]["version"], r.json["version"])
        self.assertEqual(m2["trained"]["decisions"], 5)
        self.assertEqual(m2["trained"]["trained_at"], r.json["trained_at"])
        self.assertTrue(m2["trained"]["trained_by"].startswith("operator:"), m2)
        self.assertEqual(m2["version"], r.json["version"])  # what this server checks with now
        self.assertEqual(m2["shipped_version"], m0["shipped_version"])
        self.assertEqual((m2["decisions"], m2["new_decisions"]), (5, 0))

        # this server forgets the marketplace's old model at once
        after = self.check(SIMILAR)
        self.assertEqual(after["action"], "reject", after)
        self.assertIn("promotion", after["categories"])
        self.assertTrue(after["engine"].endswith("+" + r.json["version"]), after)
        self.assertNotEqual(after["engine"], before["engine"])

    def test_errors(self):
        r = self.srv.post("/v1/admin/policy/train", {"marketplace_id": MP}, self.fx.agent)
        self.assertError(r, 403, "forbidden")
        for who in (self.fx.agent, self.fx.owner, self.fx.b1):
            self.assertError(self.srv.get("/v1/admin/policy/models", who), 403, "forbidden")
        self.assertError(self.srv.get("/v1/admin/policy/models"), 401, "unauthorized")
        r = self.srv.post("/v1/admin/policy/train", {"marketplace_id": "NOSUCHMP"}, self.fx.operator)
        self.assertError(r, 404, "not_found")
        r = self.srv.post("/v1/admin/policy/train", None, self.fx.operator)
        self.assertError(r, 400, "missing_field")
        r = self.srv.post("/v1/admin/policy/train", {"marketplace_id": 7}, self.fx.operator)
        self.assertError(r, 400, "wrong_type")


if __name__ == "__main__":
    main()
