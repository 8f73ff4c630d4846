# test_claims.py - the complaint rate over the real server (docs/metrics.md "Complaint rate"):
# the operator records claims by API and by the import's claim line, the seller's metrics and
# the operator's risk list show the rate next to CRT, a rate past the marketplace's limit puts
# the seller at risk, and only the operator records claims.
import unittest

from parley_harness import ServerCase, import_lines, main, order_line


ORDERS = ["116-0000001-%07d" % i for i in range(1, 5)]


class Claims(ServerCase):
    own_store = True
    # a limit of 10 % from 2 conversations, so that one claim in four conversations is at risk;
    # an over-flagging window of a week
    fixture_kw = {"settings": {"complaint_rate_max": 10, "complaint_min_conversations": 2,
                               "over_flag_window_days": 7},
                  "extra_lines": [order_line(o, "S2", "B1") for o in ORDERS]}

    def metrics(self, token, seller="S2"):
        r = self.srv.get("/v1/sellers/%s/metrics" % seller, token)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_rate_from_api_and_import_and_at_risk(self):
        for o in ORDERS:
            self.start_thread(self.fx.b1, o, text="A question about order %s" % o)
        m = self.metrics(self.fx.s2)
        self.assertEqual(m["no_response_needed"]["flag_window"], "7d")  # the marketplace's, not 30 days
        self.assertEqual(m["complaints"]["conversations"], 4, m)
        self.assertEqual(m["complaints"]["with_claim"], 0)
        self.assertEqual(m["complaints"]["percent"], 0)
        self.assertFalse(m["complaints"]["at_risk"])
        # the operator records one claim by API...
        r = self.srv.post("/v1/sellers/S2/claims", {"order_id": ORDERS[0], "kind": "a_to_z"}, self.fx.operator)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["claim"]["kind"], "a_to_z")
        self.assertTrue(r.json["claim"]["id"].startswith("CL"))
        # ... and the same claim again is refused
        self.assertError(self.srv.post("/v1/sellers/S2/claims", {"order_id": ORDERS[0], "kind": "a_to_z",
                                                                  "at": r.json["claim"]["at"]}, self.fx.operator),
                         409, "already_exists")
        m = self.metrics(self.fx.s2)["complaints"]
        self.assertEqual((m["with_claim"], m["percent"], m["at_risk"]), (1, 25, True))
        # a second claim on the same order is the same conversation; an imported one on another counts
        self.srv.post("/v1/sellers/S2/claims", {"order_id": ORDERS[0], "kind": "chargeback"}, self.fx.operator)
        p = import_lines(self.store, [{"type": "claim", "order": ORDERS[1], "kind": "negative_feedback",
                                       "at": "2026-10-20T12:00:00Z"}] * 2)  # a re-import is no error
        self.assertEqual(p.returncode, 0, p.stderr)
        m = self.metrics(self.fx.s2)["complaints"]
        self.assertEqual((m["conversations"], m["with_claim"], m["percent"]), (4, 2, 50))
        # the seller's agents read their claims; the operator's risk list ranks S2 at risk
        r = self.srv.get("/v1/sellers/S2/claims", self.fx.s2)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(c["kind"] for c in r.json["claims"]), ["a_to_z", "chargeback", "negative_feedback"])
        r = self.srv.get("/v1/sellers", self.fx.operator)
        self.assertEqual(r.status, 200, r)
        first = r.json["sellers"][0]
        self.assertEqual(first["seller_id"], "S2", r.json)
        self.assertTrue(first["metrics"]["complaints"]["at_risk"])

    def test_who_and_bad_input(self):
        o = self.fx.orders["B1/S2"][0]
        for who in (self.fx.s2, self.fx.owner):
            self.assertError(self.srv.post("/v1/sellers/S2/claims", {"order_id": o, "kind": "a_to_z"}, who),
                             403, "forbidden")
        self.assertError(self.srv.get("/v1/sellers/S2/claims", self.fx.owner), 404, "not_found")
        self.assertError(self.srv.get("/v1/sellers/S2/claims", self.fx.b1), 404, "not_found")
        for body, status, code in (({"kind": "a_to_z"}, 400, "missing_field"),
                                   ({"order_id": o}, 400, "missing_field"),
                                   ({"order_id": o, "kind": "refund"}, 400, "invalid_input"),
                                   ({"order_id": o, "kind": "a_to_z", "at": "yesterday"}, 400, "invalid_input"),
                                   ({"order_id": o, "kind": "a_to_z", "at": "2099-01-01T00:00:00Z"}, 400,
                                    "invalid_input"),
                                   # another seller's order
                                   ({"order_id": self.fx.orders["B1/S1"][0], "kind": "a_to_z"}, 404, "not_found")):
            self.assertError(self.srv.post("/v1/sellers/S2/claims", body, self.fx.operator), status, code)
        p = import_lines(self.store, [{"type": "claim", "order": "199-9999999-9999999", "kind": "a_to_z",
                                       "at": "2026-10-20T12:00:00Z"}])
        self.assertNotEqual(p.returncode, 0)
        p = import_lines(self.store, [{"type": "claim", "order": o, "kind": "a_to_z"}])
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    main()
