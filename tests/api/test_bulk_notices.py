# test_bulk_notices.py - bulk notices over the real server (docs/rules.md "Bulk notices"): one
# text, checked once, to many orders as a critical message each, sent by the worker within the
# seller's rate limit, with each order's outcome; cancel while running; who may do what; the
# operator sees every notice; limits and refusals that create nothing.
import datetime
import time
import unittest

from parley_harness import FAST, ServerCase, main, order_line

RECALL = "Important safety notice: the charger sold with this drill may overheat. Please stop using it; we will send a replacement within 5 days at no cost."


def recent(oid, buyer, status="delivered", asin=None):
    """An order of S1 delivered two days ago: within the 30 days a proactive message may come."""
    now = datetime.datetime.now(datetime.timezone.utc)
    at = lambda days: (now - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = order_line(oid, "S1", buyer, status=status)
    line.update(purchased_at=at(5), shipped_at=at(4), delivered_at=at(2))
    if asin:
        line["items"] = [{"asin": asin, "title": "Drill", "quantity": 1, "price": "89.99", "currency": "USD"}]
    return line


RECENT = ["118-0000002-%07d" % i for i in range(1, 7)]


class BulkCase(ServerCase):
    def notice(self, ref, token=None):
        r = self.srv.get("/v1/bulk-notices/" + ref, token or self.fx.owner)
        self.assertEqual(r.status, 200, r)
        return r.json["bulk_notice"]

    def wait_status(self, ref, status, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            n = self.notice(ref)
            if n["status"] == status:
                return n
            if time.monotonic() > deadline:
                self.fail("bulk notice %s stayed %s: %s" % (ref, n["status"], n))
            time.sleep(0.1)


class BulkNotices(BulkCase):
    own_store = True
    fixture_kw = {"settings": FAST, "extra_lines": [
        recent("118-0000001-0000001", "B1", status="canceled"),
        recent("118-0000001-0000002", "B2", asin="B0RECALL01"), recent("118-0000001-0000003", "B1", asin="B0RECALL01"),
        recent(RECENT[0], "B1"), recent(RECENT[1], "B1"), recent(RECENT[2], "B2"),
        # delivered in October: past the 30 days of proactive messages
        order_line("118-0000001-0000004", "S1", "B1")]}

    def test_sent_once_to_each_order_with_outcomes(self):
        # the buyer B2 opted out of non-critical messages: a bulk notice is critical
        r = self.srv.put("/v1/me/preferences", {"opt_out": True}, self.fx.b2)
        self.assertEqual(r.status, 200, r)
        orders = RECENT[:3] + ["118-0000001-0000001", "118-0000001-0000004"]
        r = self.srv.post("/v1/bulk-notices", {"order_ids": orders + orders[:1], "action": "unexpectedProblem",
                                               "text": RECALL}, self.fx.agent)
        self.assertEqual(r.status, 202, r)
        n = r.json["bulk_notice"]
        self.assertTrue(n["id"].startswith("BN"))
        self.assertEqual(n["total"], 5)  # each order once
        done = self.wait_status(n["id"], "done")
        self.assertEqual(done["counts"], {"pending": 0, "delivered": 3, "not_delivered": 0, "failed": 2,
                                          "canceled": 0}, done)
        items = {i["order_id"]: i for i in done["items"]}
        self.assertEqual(items["118-0000001-0000001"]["state"], "failed")
        self.assertIn("order_canceled", items["118-0000001-0000001"]["error"])
        self.assertIn("messaging window", items["118-0000001-0000004"]["error"])
        for o in orders[:3]:
            self.assertEqual(items[o]["state"], "delivered", items[o])
            self.assertTrue(items[o]["message_id"].startswith("M"))
        # the buyer who opted out reads it in the order's thread, once
        t = self.list_threads(self.fx.b2, order_id=orders[2])["threads"][0]
        msgs = self.srv.get("/v1/threads/%s" % t["id"], self.fx.b2).json["messages"]
        self.assertEqual(sum(1 for m in msgs if RECALL in (m.get("text") or "")), 1)
        # the seller's list and the operator's show it; another seller does not see it
        mine = self.srv.get("/v1/bulk-notices", self.fx.agent).json["bulk_notices"]
        self.assertIn(n["id"], [x["id"] for x in mine])
        ops = self.srv.get("/v1/bulk-notices", self.fx.operator).json["bulk_notices"]
        self.assertIn(n["id"], [x["id"] for x in ops])
        self.assertError(self.srv.get("/v1/bulk-notices/" + n["id"], self.fx.s2), 404, "not_found")
        self.assertEqual(self.srv.get("/v1/bulk-notices", self.fx.s2).json["bulk_notices"], [])
        # done: nothing left to cancel
        self.assertError(self.srv.post("/v1/bulk-notices/%s/cancel" % n["id"], {}, self.fx.agent), 409, "conflict")

    def test_by_product(self):
        r = self.srv.post("/v1/bulk-notices", {"asin": "B0RECALL01", "action": "unexpectedProblem", "text": RECALL},
                          self.fx.owner)
        self.assertEqual(r.status, 202, r)
        done = self.wait_status(r.json["bulk_notice"]["id"], "done")
        self.assertEqual(sorted(i["order_id"] for i in done["items"]), ["118-0000001-0000002", "118-0000001-0000003"])
        self.assertError(self.srv.post("/v1/bulk-notices", {"asin": "B0NOTHING0", "action": "unexpectedProblem",
                                                            "text": RECALL}, self.fx.owner), 404, "not_found")

    def test_refusals_create_nothing(self):
        before = len(self.srv.get("/v1/bulk-notices", self.fx.owner).json["bulk_notices"])
        o = self.fx.orders["B1/S1"][:1]
        for who, body, status, code in (
                (self.fx.agent, {"order_ids": o, "action": "unexpectedProblem",
                                 "text": "Delay notice: order from our site www.acme-tools-shop.com for 20% off"},
                 422, "policy_violation"),
                (self.fx.agent, {"order_ids": o, "action": "unexpectedProblem",
                                 "text": "Good news: your order has shipped and is on its way."}, 422,
                 "prohibited_purpose"),
                (self.fx.read_only, {"order_ids": o, "action": "unexpectedProblem", "text": RECALL}, 403, "forbidden"),
                (self.fx.b1, {"order_ids": o, "action": "unexpectedProblem", "text": RECALL}, 403, "forbidden"),
                (self.fx.operator, {"order_ids": o, "action": "unexpectedProblem", "text": RECALL}, 403, "forbidden"),
                (self.fx.agent, {"order_ids": o, "action": "invoice", "text": RECALL}, 400, "invalid_input"),
                (self.fx.agent, {"order_ids": o, "action": "nope", "text": RECALL}, 404, "not_found"),
                (self.fx.agent, {"order_ids": o, "action": "unexpectedProblem"}, 400, "missing_field"),
                (self.fx.agent, {"action": "unexpectedProblem", "text": RECALL}, 400, "missing_field"),
                (self.fx.agent, {"order_ids": [], "action": "unexpectedProblem", "text": RECALL}, 400,
                 "invalid_input"),
                (self.fx.agent, {"order_ids": ["114-%07d-0000000" % i for i in range(1001)],
                                 "action": "unexpectedProblem", "text": RECALL}, 400, "too_many"),
                (self.fx.agent, {"order_ids": self.fx.orders["B1/S2"][:1], "action": "unexpectedProblem",
                                 "text": RECALL}, 404, "not_found"),
                (self.fx.agent, {"order_ids": o, "action": "unexpectedProblem", "text": "x" * 5001}, 422,
                 "text_too_long"),
                (self.fx.agent, {"order_ids": o, "action": "unexpectedProblem", "text": RECALL,
                                 "attachments": ["A%d" % i for i in range(17)]}, 400, "too_many"),
                (self.fx.agent, {"asin": "B0" + "X" * 30, "action": "unexpectedProblem", "text": RECALL}, 400,
                 "invalid_input"),
                (self.fx.agent, {"asin": "B0RECALL01", "order_ids": o, "action": "unexpectedProblem",
                                 "text": RECALL}, 400, "invalid_input"),
                # the action's own limit (400 characters), not only a message's
                (self.fx.agent, {"order_ids": o, "action": "digitalAccessKey", "text": RECALL * 3}, 422,
                 "text_too_long")):
            self.assertError(self.srv.post("/v1/bulk-notices", body, who), status, code)
        self.assertEqual(len(self.srv.get("/v1/bulk-notices", self.fx.owner).json["bulk_notices"]), before)
        # a refused text says what the policy found, as a refused message does
        r = self.srv.post("/v1/bulk-notices", {"order_ids": o, "action": "unexpectedProblem",
                                               "text": "Big spring sale: 20% off your next order!"}, self.fx.agent)
        self.assertError(r, 422, "policy_violation")
        self.assertIn("promotion", [f["category"] for f in r.json["error"]["findings"]])
        self.assertError(self.srv.get("/v1/bulk-notices/BN000000000000", self.fx.owner), 404, "not_found")
        self.assertError(self.srv.get("/v1/bulk-notices?limit=201", self.fx.owner), 400, "invalid_page")


class BulkCancel(BulkCase):
    """The seller's rate limit lets one message through, then one in a thousand seconds: the
    notice runs long enough to be canceled whatever the machine's speed."""
    own_store = True
    fixture_kw = {"settings": {"rate_per_second": 0.001, "rate_burst": 1},
                  "extra_lines": [recent(o, "B1") for o in RECENT]}

    def test_cancel_stops_what_is_not_sent(self):
        orders = RECENT
        r = self.srv.post("/v1/bulk-notices", {"order_ids": orders, "action": "unexpectedProblem", "text": RECALL},
                          self.fx.agent)
        self.assertEqual(r.status, 202, r)
        ref = r.json["bulk_notice"]["id"]
        deadline = time.monotonic() + 60
        while self.notice(ref)["counts"]["delivered"] < 1:  # the first goes at once
            self.assertLess(time.monotonic(), deadline, "the first message was not sent")
            time.sleep(0.1)
        self.assertError(self.srv.post("/v1/bulk-notices/%s/cancel" % ref, {}, self.fx.read_only), 403, "forbidden")
        r = self.srv.post("/v1/bulk-notices/%s/cancel" % ref, {}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        n = r.json["bulk_notice"]
        self.assertEqual(n["status"], "canceled")
        self.assertEqual(n["counts"]["delivered"], 1)
        self.assertEqual(n["counts"]["canceled"], len(orders) - 1)
        self.assertEqual(n["counts"]["pending"], 0)


if __name__ == "__main__":
    main()
