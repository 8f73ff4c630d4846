# test_notifications.py - the seller's messaging settings and the agents' notification
# choices over the real server (docs/notifications.md): who keeps what, bad input, a new
# customer-service address that waits for its confirmation (sealed at rest, never used
# before), messaging turned off for orders the marketplace fulfils, and the digest an
# agent asks for. The mails themselves: tests/mail/test_mail_notify.py.
import unittest

from parley_harness import MP, ServerCase, main, order_line


MARKETPLACE_ORDER = "115-0000001-0000001"


class Settings(ServerCase):
    own_store = True
    fixture_kw = {"extra_lines": [dict(order_line(MARKETPLACE_ORDER, "S1", "B1"), fulfillment="marketplace")]}

    def settings(self, token, seller="S1"):
        r = self.srv.get("/v1/sellers/%s/settings" % seller, token)
        self.assertEqual(r.status, 200, r)
        return r.json["settings"]

    def test_owner_and_operator_keep_them_others_do_not(self):
        s = self.settings(self.fx.owner)
        self.assertEqual(s["customer_service_email"], "support@acme-tools.test")
        self.assertIsNone(s["customer_service_email_pending"])
        self.assertTrue(s["marketplace_fulfilled_messaging"])
        self.assertEqual(s["notice_language"], "en")  # the marketplace's, en-US
        self.assertEqual(self.settings(self.fx.operator, "S2")["seller_id"], "S2")
        self.assertError(self.srv.get("/v1/sellers/S1/settings", self.fx.agent), 403, "forbidden")
        self.assertError(self.srv.put("/v1/sellers/S1/settings", {"notice_language": "de"}, self.fx.agent), 403,
                         "forbidden")
        # another seller's settings do not exist for an owner of S1, nor for a buyer
        self.assertError(self.srv.get("/v1/sellers/S2/settings", self.fx.owner), 404, "not_found")
        self.assertError(self.srv.get("/v1/sellers/S1/settings", self.fx.b1), 404, "not_found")
        self.assertError(self.srv.get("/v1/sellers/NOPE/settings", self.fx.operator), 404, "not_found")

    def test_bad_input_changes_nothing(self):
        for body, code in (({}, "missing_field"), ({"notice_language": "xx"}, "invalid_input"),
                           ({"notice_language": 3}, "invalid_input"),
                           ({"marketplace_fulfilled_messaging": "no"}, "wrong_type"),
                           ({"customer_service_email": "not an address"}, "invalid_input"),
                           ({"customer_service_email": "a@b.test", "colour": "red"}, "invalid_input")):
            self.assertError(self.srv.put("/v1/sellers/S2/settings", body, self.fx.operator), 400, code)
        s = self.settings(self.fx.operator, "S2")
        self.assertEqual(s["customer_service_email"], "help@other-shop.test")
        self.assertIsNone(s["customer_service_email_pending"])

    def test_language_is_kept(self):
        r = self.srv.put("/v1/sellers/S1/settings", {"notice_language": "de"}, self.fx.owner)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.settings(self.fx.owner)["notice_language"], "de")
        self.srv.put("/v1/sellers/S1/settings", {"notice_language": "en"}, self.fx.owner)

    def test_new_address_waits_for_its_confirmation(self):
        new = "new.desk.secret@acme-tools.test"
        r = self.srv.put("/v1/sellers/S1/settings", {"customer_service_email": new}, self.fx.owner)
        self.assertEqual(r.status, 200, r)
        s = r.json["settings"]
        self.assertEqual(s["customer_service_email"], "support@acme-tools.test")  # still the one in use
        self.assertEqual(s["customer_service_email_pending"], new)
        self.assertTrue(s["pending_since"])
        # asking again at once sends no second mail, to this address or to any other
        for again in (new, "someone.else@elsewhere.test"):
            self.assertError(self.srv.put("/v1/sellers/S1/settings", {"customer_service_email": again},
                                          self.fx.owner), 429, "rate_limited")
        self.assertEqual(self.settings(self.fx.owner)["customer_service_email_pending"], new)
        # a wrong, short or missing token confirms nothing, with one answer for all
        for body in ({"token": "0" * 64}, {"token": "abc"}, {}):
            self.assertError(self.srv.post("/v1/sellers/S1/settings/confirm", body), 400, "invalid_token")
        self.assertError(self.srv.post("/v1/sellers/NOPE/settings/confirm", {"token": "0" * 64}), 400,
                         "invalid_token")
        self.assertEqual(self.settings(self.fx.owner)["customer_service_email"], "support@acme-tools.test")
        # sealed at rest, as every real address
        for path in self.store.files():
            with open(path, "rb") as f:
                self.assertNotIn(new.encode(), f.read())
        # going back to the address in use drops the pending one
        r = self.srv.put("/v1/sellers/S1/settings", {"customer_service_email": "support@acme-tools.test"},
                         self.fx.owner)
        self.assertIsNone(r.json["settings"]["customer_service_email_pending"])

    def test_messaging_off_for_orders_the_marketplace_fulfils(self):
        r = self.srv.get("/v1/orders/" + MARKETPLACE_ORDER, self.fx.owner)
        self.assertEqual(r.json["order"]["fulfillment"], "marketplace", r)
        r = self.srv.put("/v1/sellers/S1/settings", {"marketplace_fulfilled_messaging": False}, self.fx.owner)
        self.assertFalse(r.json["settings"]["marketplace_fulfilled_messaging"])
        try:
            self.assertError(self.srv.post("/v1/threads", {"order_id": MARKETPLACE_ORDER, "topic": "other",
                                                           "text": "Where is my parcel?"}, self.fx.b1),
                             409, "messaging_unavailable")
            # the seller's own orders are untouched
            oid = self.fx.orders["B1/S1"][0]
            r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "Hello there"}, self.fx.b1)
            self.assertIn(r.status, (201, 409), r)
            if r.status == 409:
                self.assertEqual(r.json["error"]["code"], "already_exists")
        finally:
            self.srv.put("/v1/sellers/S1/settings", {"marketplace_fulfilled_messaging": True}, self.fx.owner)
        r = self.srv.post("/v1/threads", {"order_id": MARKETPLACE_ORDER, "topic": "other",
                                          "text": "Where is my parcel?"}, self.fx.b1)
        self.assertEqual(r.status, 201, r)


class Notifications(ServerCase):
    own_store = True

    def mine(self, token):
        r = self.srv.get("/v1/me/notifications", token)
        self.assertEqual(r.status, 200, r)
        return r.json["notifications"]

    def test_defaults_changes_and_who_has_them(self):
        n = self.mine(self.fx.agent)
        self.assertEqual((n["mode"], n["scope"], n["email"], n["browser"]), ("deadlines", "all", True, True))
        self.assertIsNone(n["address"])
        self.assertIsNone(n["next_digest_at"])
        self.assertEqual(set(n["modes"]), {"each", "hourly", "daily", "deadlines", "none"})
        r = self.srv.put("/v1/me/notifications", {"mode": "hourly", "scope": "assigned", "browser": False},
                         self.fx.agent)
        self.assertEqual(r.status, 200, r)
        n = self.mine(self.fx.agent)
        self.assertEqual((n["mode"], n["scope"], n["email"], n["browser"]), ("hourly", "assigned", True, False))
        self.assertTrue(n["next_digest_at"].endswith(":00:00Z"), n)  # the next full hour
        # another agent's choices are its own
        self.assertEqual(self.mine(self.fx.owner)["mode"], "deadlines")
        for who in (self.fx.b1, self.fx.operator):
            self.assertError(self.srv.get("/v1/me/notifications", who), 403, "forbidden")

    def test_bad_input_changes_nothing(self):
        before = self.mine(self.fx.read_only)
        for body, code in (({}, "missing_field"), ({"mode": "sometimes"}, "invalid_input"),
                           ({"scope": "mine"}, "invalid_input"), ({"email": "yes"}, "wrong_type"),
                           ({"mode": "none", "sms": True}, "invalid_input")):
            self.assertError(self.srv.put("/v1/me/notifications", body, self.fx.read_only), 400, code)
        self.assertEqual(self.mine(self.fx.read_only), before)

    def test_digest_now_needs_an_address_and_comes_once_a_minute(self):
        self.assertError(self.srv.post("/v1/me/notifications/digest", {}, self.fx.s2), 409, "no_address")
        me = self.srv.get("/v1/me", self.fx.s2).json
        agent = me.get("agent_id") or me.get("agent", {}).get("id")
        r = self.srv.post("/v1/agents/%s/addresses" % agent, {"email": "otto.digest@other-shop.test"}, self.fx.s2)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.mine(self.fx.s2)["address"], "otto.digest@other-shop.test")
        r = self.srv.post("/v1/me/notifications/digest", {}, self.fx.s2)
        self.assertEqual(r.status, 202, r)
        self.assertTrue(r.json["queued"])
        self.assertIsInstance(r.json["threads"], int)
        self.assertError(self.srv.post("/v1/me/notifications/digest", {}, self.fx.s2), 429, "rate_limited")


if __name__ == "__main__":
    main()
