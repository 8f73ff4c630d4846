# test_team.py - the seller's team over the real server: templates per language, notes,
# assignment and tags, composition locks, rules with approval, audit samples.
import threading
import time
import unittest

from parley_harness import FAST, ServerCase, main, order_line

DE_ORDER = "115-0000001-0000001"
PT_ORDER = "115-0000002-0000002"
EXTRA = [
    {"type": "buyer", "id": "B3", "name": "Klaus Berger", "email": "klaus@mail.test", "locale": "de-DE"},
    {"type": "buyer", "id": "B4", "name": "Ana Lima", "email": "ana@mail.test", "locale": "pt-BR"},
    dict(order_line(DE_ORDER, "S1", "B3", items=[{"asin": "B0DE000001", "title": "Akkuschrauber",
                                                  "quantity": 1, "price": "19.99", "currency": "EUR"}])),
    order_line(PT_ORDER, "S1", "B4"),
]


class Team(ServerCase):
    # rules_auto_send: this marketplace lets rules send templates by themselves
    fixture_kw = {"settings": dict(FAST, rules_auto_send=True), "extra_lines": EXTRA}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.srv.post("/v1/templates/starter", {}, cls.fx.owner)
        assert r.status == 201, r
        cls.starter = {t["purpose"]: t for t in r.json["templates"]}
        agents = cls.srv.get("/v1/agents", cls.fx.owner).json["agents"]
        cls.ids = {a["name"]: a["id"] for a in agents}

    def thread(self, buyer_token, buyer="B1", text="Where is my parcel? It has not arrived.", topic="other"):
        oid = self.new_order(buyer=buyer)
        t, m = self.start_thread(buyer_token, oid, topic=topic, text=text)
        return oid, t, m

    # ---- templates ------------------------------------------------------------------------

    def test_starter_set_installed_once(self):
        self.assertEqual(len(self.starter), 7)
        for t in self.starter.values():
            self.assertEqual(sorted(t["variants"]), ["de", "en", "es", "fr", "it"])
        r = self.srv.post("/v1/templates/starter", {}, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["templates"], [])  # names already there are skipped

    def test_render_per_language_with_fallback(self):
        tpl = self.starter["refund_processed"]["id"]
        _, t, _ = self.thread(self.fx.b1)
        en = self.srv.post("/v1/templates/%s/render" % tpl, {"thread_id": t["id"], "values": {"AMOUNT": "19.99"}},
                           self.fx.owner)
        self.assertEqual(en.status, 200, en)
        self.assertEqual(en.json["language"], "en")
        self.assertIn("$19.99", en.json["text"])
        de = self.srv.post("/v1/templates/%s/render" % tpl, {"order_id": DE_ORDER, "values": {"AMOUNT": "19.99"}},
                           self.fx.owner)
        self.assertEqual(de.json["language"], "de", de)
        self.assertIn("19,99\u00a0€", de.json["text"])
        self.assertIn(DE_ORDER, de.json["text"])
        self.assertIn("Klaus", de.json["text"])
        es = self.srv.post("/v1/templates/%s/render" % tpl,
                           {"order_id": self.fx.orders["B2/S1"][0], "values": {"AMOUNT": "5 USD"}}, self.fx.owner)
        self.assertEqual(es.json["language"], "es", es)
        # Portuguese: no variant, so the marketplace's language (en)
        pt = self.srv.post("/v1/templates/%s/render" % tpl, {"order_id": PT_ORDER, "values": {"AMOUNT": "3"}},
                           self.fx.owner)
        self.assertEqual(pt.json["language"], "en", pt)
        # a custom template with only German and Spanish: an English buyer falls back... to nothing
        r = self.srv.post("/v1/templates", {"name": "Nur Deutsch", "purpose": "other",
                                            "variants": {"de": "Danke für Bestellung [ORDER_ID]."}}, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        x = self.srv.post("/v1/templates/%s/render" % r.json["template"]["id"], {"thread_id": t["id"]}, self.fx.owner)
        self.assertError(x, 400, "invalid_input")

    def test_date_written_the_buyers_way(self):
        tpl = self.starter["return_authorised"]["id"]
        de = self.srv.post("/v1/templates/%s/render" % tpl, {"order_id": DE_ORDER, "values": {"DATE": "2026-10-08"}},
                           self.fx.owner)
        self.assertIn("8. Oktober 2026", de.json["text"], de)
        en = self.srv.post("/v1/templates/%s/render" % tpl,
                           {"order_id": self.fx.orders["B1/S1"][0], "values": {"DATE": "2026-10-08"}}, self.fx.owner)
        self.assertIn("October 8, 2026", en.json["text"], en)

    def test_missing_placeholder_is_named(self):
        tpl = self.starter["shipped"]["id"]
        _, t, m = self.thread(self.fx.b1)
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"template_id": tpl}, self.fx.agent)
        self.assertError(r, 400, "missing_field")
        self.assertIn("[TRACKING]", r.json["error"]["message"])
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"template_id": tpl, "values": {"TRACKING": "TRK123"}},
                          self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertIn("TRK123", r.json["message"]["text"])
        self.assertIn(t["order_id"], r.json["message"]["text"])

    def test_template_policy_and_validation(self):
        bad = {"name": "Leave a review", "purpose": "other",
               "variants": {"en": "Order [ORDER_ID]: please leave us a 5-star review and we refund you."}}
        r = self.srv.post("/v1/templates", bad, self.fx.owner)
        self.assertError(r, 422, "policy_violation")
        self.assertTrue(r.json["error"]["findings"])
        self.assertEqual(r.json["error"]["language"], "en")
        r = self.srv.post("/v1/templates", {"name": "x", "purpose": "product_question", "critical": True,
                                            "variants": {"en": "Hi"}}, self.fx.owner)
        self.assertError(r, 400, "invalid_input")  # only order-completing purposes are critical
        r = self.srv.post("/v1/templates", {"name": "y", "purpose": "other", "variants": {"en": "Hi [COUPON]"}},
                          self.fx.owner)
        self.assertError(r, 400, "invalid_input")
        r = self.srv.post("/v1/templates", {"name": "z", "purpose": "other", "variants": {"en": "Hi"}}, self.fx.agent)
        self.assertError(r, 403, "forbidden")
        # another seller's template is not found
        r = self.srv.get("/v1/templates/%s" % self.starter["shipped"]["id"], self.fx.s2)
        self.assertError(r, 404, "not_found")

    def test_personal_saved_replies(self):
        """Any agent who writes keeps saved replies of their own: only they list, use, change
        or delete them; the team's templates stay the owner's."""
        mine = {"name": "My thanks", "purpose": "other", "personal": True,
                "variants": {"en": "Thanks [BUYER_NAME], I am on it."}}
        self.assertError(self.srv.post("/v1/templates", mine, self.fx.read_only), 403, "forbidden")
        self.assertError(self.srv.post("/v1/templates", dict(mine, personal="yes"), self.fx.agent), 400, "wrong_type")
        r = self.srv.post("/v1/templates", mine, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        tpl = r.json["template"]
        self.assertTrue(tpl["personal"])
        # the owner may save one of the same name: names are unique among what each one sees
        r = self.srv.post("/v1/templates", mine, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        owners = r.json["template"]["id"]
        self.assertError(self.srv.post("/v1/templates", mine, self.fx.agent), 409, "already_exists")
        listed = lambda tok: {t["id"] for t in self.srv.get("/v1/templates", tok).json["templates"]}
        self.assertIn(tpl["id"], listed(self.fx.agent))
        self.assertNotIn(owners, listed(self.fx.agent))
        self.assertIn(self.starter["shipped"]["id"], listed(self.fx.agent))  # and the team's
        for tok in (self.fx.owner, self.fx.read_only, self.fx.s2):
            self.assertNotIn(tpl["id"], listed(tok))
            self.assertError(self.srv.get("/v1/templates/" + tpl["id"], tok), 404, "not_found")
        path = "/v1/templates/" + tpl["id"]
        self.assertError(self.srv.put(path, dict(mine, name="Taken over"), self.fx.owner), 404, "not_found")
        self.assertError(self.srv.request("DELETE", path, token=self.fx.owner), 404, "not_found")
        # its author uses it to answer, renders and changes it
        _, t, _ = self.thread(self.fx.b1, text="Hello, is my order on its way?")
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"template_id": tpl["id"]}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["text"], "Thanks Jane, I am on it.")
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"template_id": tpl["id"]}, self.fx.owner)
        self.assertError(r, 404, "not_found")
        self.assertError(self.srv.post(path + "/render", {"thread_id": t["id"]}, self.fx.owner), 404, "not_found")
        r = self.srv.put(path, dict(mine, variants={"en": "Thanks, on it."}, personal=False), self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["template"]["personal"], "whether it is personal is fixed when it is made")
        # a rule proposes the team's templates, never an agent's saved reply
        rule = {"name": "Mine", "enabled": True, "conditions": {"words": ["parcel"]},
                "actions": [{"type": "propose", "template_id": tpl["id"]}]}
        self.assertError(self.srv.post("/v1/rules", rule, self.fx.owner), 400, "invalid_input")
        self.assertEqual(self.srv.request("DELETE", path, token=self.fx.agent).status, 200)
        self.assertNotIn(tpl["id"], listed(self.fx.agent))
        self.assertEqual(self.srv.request("DELETE", "/v1/templates/" + owners, token=self.fx.owner).status, 200)

    def test_proactive_template_follows_marketplace_rules(self):
        tpl = self.starter["delay"]["id"]
        oid = self.new_order(status="delivered")
        # delivered already: confirmDeliveryDetails is only before delivery
        r = self.srv.post("/v1/orders/%s/template-messages" % oid, {"template_id": tpl, "values": {"TIMEFRAME": "3 days"}},
                          self.fx.agent)
        self.assertError(r, 403, "action_unavailable")
        oid = "116-0000001-0000001"
        body = order_line(oid, "S1", "B1", status="shipped")
        del body["type"], body["id"], body["delivered_at"]
        body["shipped_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # within the window
        self.assertEqual(self.srv.put("/v1/orders/" + oid, body, self.fx.operator).status, 201)
        # a shipping confirmation never starts a conversation: the marketplace sends its own
        r = self.srv.post("/v1/orders/%s/template-messages" % oid,
                          {"template_id": self.starter["shipped"]["id"], "values": {"TRACKING": "T1"}}, self.fx.agent)
        self.assertError(r, 422, "prohibited_purpose")
        self.assertIn("shipping confirmation", r.json["error"]["message"])
        # nor does one written by hand, as any message action
        r = self.srv.post("/v1/orders/%s/actions/confirmDeliveryDetails" % oid,
                          {"text": "Your order has shipped! Tracking 1Z999."}, self.fx.agent)
        self.assertError(r, 422, "prohibited_purpose")
        r = self.srv.post("/v1/orders/%s/template-messages" % oid, {"template_id": tpl, "values": {"TIMEFRAME": "3 days"}},
                          self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["message"]["proactive"])
        self.assertTrue(r.json["message"]["critical"])
        q = self.starter["product_question"]["id"]
        r = self.srv.post("/v1/orders/%s/template-messages" % oid, {"template_id": q}, self.fx.agent)
        self.assertError(r, 403, "action_unavailable")

    # ---- notes, assignment, tags -------------------------------------------------------------

    def test_internal_note_never_reaches_the_buyer(self):
        _, t, _ = self.thread(self.fx.b1)
        r = self.srv.post("/v1/threads/%s/notes" % t["id"], {"text": "Call the courier at 555-0100 first."},
                          self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["kind"], "note")
        seller_view = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json
        self.assertIn("note", [m["kind"] for m in seller_view["messages"]])
        self.assertEqual(seller_view["thread"]["state"], "response_needed")  # a note is no answer
        buyer_view = self.srv.get("/v1/threads/" + t["id"], self.fx.b1).json
        self.assertNotIn("note", [m["kind"] for m in buyer_view["messages"]])
        r = self.srv.post("/v1/threads/%s/notes" % t["id"], {"text": "x"}, self.fx.read_only)
        self.assertError(r, 403, "forbidden")

    def test_assignment_tags_and_inbox_filters(self):
        _, t, _ = self.thread(self.fx.b1)
        sam = self.ids["Sam Agent"]
        r = self.srv.post("/v1/threads/%s/assign" % t["id"], {"agent_id": sam}, self.fx.owner)
        self.assertEqual(r.json["assignee_id"], sam, r)
        r = self.srv.put("/v1/threads/%s/tags" % t["id"], {"tags": ["refund", "vip"]}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        r = self.srv.put("/v1/threads/%s/priority" % t["id"], {"priority": "high"}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        th = self.srv.get("/v1/threads/" + t["id"], self.fx.owner).json["thread"]
        self.assertEqual((th["assignee_id"], th["tags"], th["priority"]), (sam, ["refund", "vip"], "high"))
        mine = [x["id"] for x in self.list_threads(self.fx.agent, assignee="me")["threads"]]
        self.assertIn(t["id"], mine)
        self.assertIn(t["id"], [x["id"] for x in self.list_threads(self.fx.owner, tag="vip")["threads"]])
        self.assertNotIn(t["id"], [x["id"] for x in self.list_threads(self.fx.owner, tag="vi")["threads"]])
        self.assertNotIn(t["id"], [x["id"] for x in self.list_threads(self.fx.owner, assignee="none")["threads"]])
        # "me" is the caller, known to the service: an operator or a buyer has no "me" here
        self.assertError(self.srv.get("/v1/threads?assignee=me", self.fx.operator), 400, "invalid_input")
        self.assertError(self.srv.get("/v1/threads?assignee=me", self.fx.b1), 400, "team_only_filter")
        # the search cap and the list's limits, whatever the endpoint
        self.assertError(self.srv.get("/v1/threads?q=" + "a" * 501, self.fx.agent), 400, "invalid_input")
        self.assertEqual(self.srv.get("/v1/threads?q=" + "a" * 500, self.fx.agent).status, 200)
        for bad in ("limit=abc", "limit=0", "limit=-1", "limit=501", "limit=1x"):
            self.assertError(self.srv.get("/v1/rule-firings?" + bad, self.fx.owner), 400, "invalid_input")
        self.assertEqual(self.srv.get("/v1/rule-firings?limit=500", self.fx.owner).status, 200)
        r = self.srv.put("/v1/threads/%s/tags" % t["id"], {"tags": ["Bad Tag"]}, self.fx.agent)
        self.assertError(r, 400, "invalid_input")
        r = self.srv.post("/v1/threads/%s/assign" % t["id"], {"agent_id": sam}, self.fx.s2)
        self.assertError(r, 404, "not_found")

    def test_round_robin_skips_unavailable_agents(self):
        owner, sam = self.ids["Olga Owner"], self.ids["Sam Agent"]
        got = []
        for _ in range(4):
            _, t, _ = self.thread(self.fx.b2, buyer="B2")
            r = self.srv.post("/v1/threads/%s/assign" % t["id"], {"round_robin": True}, self.fx.owner)
            self.assertEqual(r.status, 200, r)
            got.append(r.json["assignee_id"])
        self.assertEqual(sorted(set(got)), sorted({owner, sam}))  # never the read-only agent
        self.assertEqual(got[0::2], [got[0]] * 2)
        r = self.srv.put("/v1/agents/%d/availability" % sam, {"available": False}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        try:
            for _ in range(2):
                _, t, _ = self.thread(self.fx.b2, buyer="B2")
                r = self.srv.post("/v1/threads/%s/assign" % t["id"], {"round_robin": True}, self.fx.owner)
                self.assertEqual(r.json["assignee_id"], owner, r)
        finally:
            self.srv.put("/v1/agents/%d/availability" % sam, {"available": True}, self.fx.agent)
        r = self.srv.put("/v1/agents/%d/availability" % owner, {"available": False}, self.fx.agent)
        self.assertError(r, 403, "forbidden")  # only one's own, unless owner

    # ---- locks and conflicts --------------------------------------------------------------

    def test_lock_shows_who_is_replying(self):
        _, t, m = self.thread(self.fx.b1)
        r = self.srv.post("/v1/threads/%s/lock" % t["id"], None, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        th = self.srv.get("/v1/threads/" + t["id"], self.fx.owner).json["thread"]
        self.assertEqual(th["replying"]["name"], "Sam Agent")
        r = self.srv.post("/v1/threads/%s/lock" % t["id"], None, self.fx.owner)
        self.assertError(r, 409, "conflict")
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "We are on it.", "after": m["id"]},
                          self.fx.owner)
        self.assertError(r, 409, "conflict")
        self.assertIn("Sam Agent", r.json["error"]["message"])
        # the holder sends; the lock ends with the reply
        self.send(self.fx.agent, t["id"], "Your parcel left our warehouse today.", after=m["id"])
        th = self.srv.get("/v1/threads/" + t["id"], self.fx.owner).json["thread"]
        self.assertIsNone(th["replying"])

    def test_reply_against_older_state_needs_confirm(self):
        _, t, m = self.thread(self.fx.b1)
        m2 = self.send(self.fx.b1, t["id"], "Also, can you send it to my office instead?")
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "It ships today.", "after": m["id"]},
                          self.fx.agent)
        self.assertError(r, 409, "conflict")
        self.send(self.fx.agent, t["id"], "It ships today.", after=m["id"], confirm=True)
        self.send(self.fx.owner, t["id"], "And yes, to your office.", after=m2["id"], confirm=True)

    def test_two_agents_answer_at_once_exactly_one_reply(self):
        for _ in range(3):
            _, t, m = self.thread(self.fx.b1)
            results = []
            barrier = threading.Barrier(2)

            def answer(token, text):
                barrier.wait()
                results.append(self.srv.post("/v1/threads/%s/messages" % t["id"],
                                             {"text": text, "after": m["id"]}, token))

            ts = [threading.Thread(target=answer, args=(self.fx.agent, "Sam: it ships today.")),
                  threading.Thread(target=answer, args=(self.fx.owner, "Olga: it ships today."))]
            for x in ts:
                x.start()
            for x in ts:
                x.join()
            self.assertEqual(sorted(r.status for r in results), [201, 409], results)
            msgs = self.srv.get("/v1/threads/" + t["id"], self.fx.owner).json["messages"]
            self.assertEqual(len([x for x in msgs if x["from"] == "seller"]), 1)

    # ---- rules and approval -----------------------------------------------------------------

    def test_rule_proposes_and_waits_for_approval(self):
        tpl = self.starter["damaged_item"]["id"]
        rule = {"name": "Damaged", "conditions": {"words": ["kaputt", "broken"]},
                "actions": [{"type": "tag", "tag": "damaged"}, {"type": "priority", "priority": "urgent"},
                            {"type": "propose", "template_id": tpl, "values": {"TIMEFRAME": "2 days"}}]}
        r = self.srv.post("/v1/rules", rule, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        rid = r.json["rule"]["id"]
        try:
            _, t, m = self.thread(self.fx.b1, text="The drill arrived BROKEN.")
            th = self.srv.get("/v1/threads/" + t["id"], self.fx.owner).json
            self.assertEqual(th["thread"]["tags"], ["damaged"])
            self.assertEqual(th["thread"]["priority"], "urgent")
            self.assertEqual([x["from"] for x in th["messages"]], ["buyer"])  # nothing sent
            props = [p for p in self.srv.get("/v1/proposals", self.fx.agent).json["proposals"]
                     if p["thread_id"] == t["id"]]
            self.assertEqual(len(props), 1)
            self.assertIn("2 days", props[0]["text"])
            firings = [f for f in self.srv.get("/v1/rule-firings", self.fx.owner).json["firings"]
                       if f["thread"] == t["id"]]
            self.assertEqual(sorted(f["action"] for f in firings), ["priority", "propose", "tag"])
            self.assertTrue(all(f["rule"] == rid and f["message"] == m["id"] for f in firings))
            # an agent edits and sends it
            r = self.srv.post("/v1/proposals/%s/send" % props[0]["id"],
                              {"text": props[0]["text"] + " Sorry again."}, self.fx.agent)
            self.assertEqual(r.status, 201, r)
            self.assertTrue(r.json["message"]["text"].endswith("Sorry again."))
            r = self.srv.post("/v1/proposals/%s/send" % props[0]["id"], {}, self.fx.agent)
            self.assertError(r, 409, "conflict")
            # another message that does not match: no firing
            _, t2, _ = self.thread(self.fx.b1, text="When will it arrive?")
            self.assertFalse([p for p in self.srv.get("/v1/proposals", self.fx.agent).json["proposals"]
                              if p["thread_id"] == t2["id"]])
            # discard
            _, t3, _ = self.thread(self.fx.b1, text="Kaputt!")
            p3 = [p for p in self.srv.get("/v1/proposals", self.fx.agent).json["proposals"]
                  if p["thread_id"] == t3["id"]][0]
            r = self.srv.post("/v1/proposals/%s/discard" % p3["id"], None, self.fx.agent)
            self.assertEqual(r.status, 200, r)
            msgs = self.srv.get("/v1/threads/" + t3["id"], self.fx.owner).json["messages"]
            self.assertEqual([x["from"] for x in msgs], ["buyer"])
        finally:
            self.srv.request("DELETE", "/v1/rules/" + rid, token=self.fx.owner)

    def test_auto_send_rule_sends_at_once(self):
        tpl = self.starter["product_question"]["id"]
        rule = {"name": "Ack questions", "conditions": {"words": ["zebrafish"], "topics": ["product_question"]},
                "actions": [{"type": "propose", "template_id": tpl}, {"type": "assign", "agent_id": "round_robin"}],
                "auto_send": True}
        r = self.srv.post("/v1/rules", rule, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        try:
            _, t, _ = self.thread(self.fx.b1, text="Is it zebrafish safe?", topic="product_question")
            th = self.srv.get("/v1/threads/" + t["id"], self.fx.owner).json
            self.assertEqual([x["from"] for x in th["messages"]], ["buyer", "seller"])
            self.assertIsNotNone(th["thread"]["assignee_id"])
            # an automatic reply: the buyer's question still waits for its answer
            self.assertEqual(th["messages"][1]["kind"], "auto_reply")
            self.assertEqual(th["thread"]["state"], "response_needed")
            # another topic: no firing
            _, t2, _ = self.thread(self.fx.b1, text="zebrafish?", topic="other")
            msgs = self.srv.get("/v1/threads/" + t2["id"], self.fx.owner).json["messages"]
            self.assertEqual(len(msgs), 1)
        finally:
            self.srv.request("DELETE", "/v1/rules/" + r.json["rule"]["id"], token=self.fx.owner)

    # ---- metrics and audit ---------------------------------------------------------------------

    # ---- suggested replies ------------------------------------------------------------------

    def test_suggested_replies(self):
        r = self.srv.post("/v1/templates", {"name": "Charger adapter", "purpose": "product_question",
                                            "variants": {"en": "Hi [BUYER_NAME], the charger adapter is in the box.",
                                                         "es": "Hola [BUYER_NAME], el charger adapter va en la caja."}},
                          self.fx.owner)
        self.assertEqual(r.status, 201, r)
        tpl = r.json["template"]["id"]
        # Jane asked before, and the team answered her by name and order
        o1, t1, _ = self.thread(self.fx.b1, text="Does the drill come with a charger adapter?",
                                topic="product_question")
        sent = self.srv.post("/v1/threads/%s/messages" % t1["id"],
                             {"text": "Hi Jane, yes: the charger adapter of order %s is in the box." % o1}, self.fx.agent)
        self.assertEqual(sent.status, 201, sent)
        # now Carlos (Spanish) asks the same
        o2, t2, _ = self.thread(self.fx.b2, buyer="B2", text="Is a charger adapter included? \"NEAR(x\" OR *",
                                topic="product_question")
        before = len(self.srv.get("/v1/threads/" + t2["id"], self.fx.agent).json["messages"])
        r = self.srv.get("/v1/threads/%s/suggestions" % t2["id"], self.fx.agent)
        self.assertEqual(r.status, 200, r)
        sug = r.json["suggestions"]
        self.assertTrue(1 <= len(sug) <= 5, sug)
        self.assertEqual([x["score"] for x in sug], sorted([x["score"] for x in sug], reverse=True))
        mine = [x for x in sug if x["kind"] == "template" and x["id"] == tpl]
        self.assertEqual(len(mine), 1, sug)
        self.assertEqual(mine[0]["text"], "Hola Carlos, el charger adapter va en la caja.")
        self.assertEqual(mine[0]["title"], "Charger adapter")
        self.assertIn("in the buyer's language", mine[0]["reason"])
        self.assertIn("shares: charger, adapter", mine[0]["reason"])
        past = [x for x in sug if x["kind"] == "reply" and x["id"] == sent.json["message"]["id"]]
        self.assertEqual(len(past), 1, sug)
        self.assertEqual(past[0]["text"], "Hi Carlos, yes: the charger adapter of order %s is in the box." % o2)
        self.assertNotIn("Jane", past[0]["text"])
        self.assertNotIn(o1, past[0]["text"])
        self.assertIn("replaced", past[0]["reason"])
        # nothing was sent
        self.assertEqual(len(self.srv.get("/v1/threads/" + t2["id"], self.fx.agent).json["messages"]), before)
        # who: every role of the seller's team; a buyer hears of nothing; the operator is refused
        self.assertEqual(self.srv.get("/v1/threads/%s/suggestions" % t2["id"], self.fx.read_only).status, 200)
        self.assertError(self.srv.get("/v1/threads/%s/suggestions" % t2["id"], self.fx.b2), 404, "not_found")
        self.assertError(self.srv.get("/v1/threads/%s/suggestions" % t2["id"], self.fx.operator), 403, "forbidden")
        self.assertError(self.srv.get("/v1/threads/T999999/suggestions", self.fx.agent), 404, "not_found")
        self.assertError(self.srv.request("POST", "/v1/threads/%s/suggestions" % t2["id"], token=self.fx.agent),
                         405, "method_not_allowed")
        # the seller's bucket: a burst, then 429 with Retry-After
        last = None
        for _ in range(60):
            last = self.srv.get("/v1/threads/%s/suggestions" % t2["id"], self.fx.owner)
            if last.status != 200:
                break
        self.assertError(last, 429, "rate_limited")
        self.assertIn("retry-after", last.headers)

    def test_agent_metrics(self):
        sam = self.ids["Sam Agent"]
        _, t, _ = self.thread(self.fx.b1)
        self.send(self.fx.agent, t["id"], "It left the warehouse this morning.")
        r = self.srv.get("/v1/agents/%d/metrics?window=30d" % sam, self.fx.owner)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["agent"]["agent"], sam)
        self.assertGreaterEqual(r.json["agent"]["answered"], 1)
        self.assertError(self.srv.get("/v1/agents/%d/metrics" % sam, self.fx.s2), 404, "not_found")

    def test_audit_sample_is_reproducible(self):
        for i in range(6):
            _, t, _ = self.thread(self.fx.b2, buyer="B2")
            self.send(self.fx.agent, t["id"], "Reply number %d: it is on its way." % i)
        a = self.srv.get("/v1/sellers/S1/audit-sample?n=5&seed=42", self.fx.owner)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json["n"], 5)
        b = self.srv.get("/v1/sellers/S1/audit-sample?n=5&seed=42&until=" + a.json["until"], self.fx.owner)
        self.assertEqual([x["id"] for x in a.json["replies"]], [x["id"] for x in b.json["replies"]])
        c = self.srv.get("/v1/sellers/S1/audit-sample?n=5&seed=43&until=" + a.json["until"], self.fx.owner)
        self.assertNotEqual([x["id"] for x in a.json["replies"]], [x["id"] for x in c.json["replies"]])
        self.assertEqual(len(set(x["id"] for x in a.json["replies"])), 5)
        d = self.srv.get("/v1/sellers/S1/audit-sample", self.fx.operator)
        self.assertEqual(d.status, 200, d)
        self.assertTrue(d.json["seed"])
        self.assertError(self.srv.get("/v1/sellers/S1/audit-sample", self.fx.s2), 404, "not_found")
        # a sample is 1 to 500 replies: the service's bound, whatever HTTP parses
        self.assertEqual(self.srv.get("/v1/sellers/S1/audit-sample?n=500", self.fx.owner).status, 200)
        for bad in ("n=501", "n=0", "n=abc", "n=5x"):
            self.assertError(self.srv.get("/v1/sellers/S1/audit-sample?" + bad, self.fx.owner), 400, "invalid_input")


if __name__ == "__main__":
    main()
