# test_contact_mask.py - a seller never learns a buyer's phone number or e-mail address
# (every path that shows a buyer's text to the seller passes one mask, search included); a
# buyer never learns the team's internals (notes, tags, assignment, held messages, internal
# events); texts with control characters are refused.
import json
import sqlite3
import unittest
from urllib.parse import quote

from parley_harness import BACKEND, FastCase, ServerCase, import_lines, main, order_line
from test_live import SseStream

PHONE = "415-555-0199"
EMAIL = "jane.home.line@posteo.de"
# Distinct ways a seller might guess at the hidden details: each must find nothing.
GUESSES = (PHONE, "4155550199", "0199", "555", EMAIL, "jane.home.line", "posteo", "posteo.de")


def contains_secret(blob):
    return any(s in blob for s in (PHONE, "4155550199", EMAIL, "jane.home.line", "posteo"))


class ContactMask(FastCase):
    _word = 0

    def word(self, stem):
        """A word no other test writes, so that a search finds exactly this test's thread."""
        ContactMask._word += 1
        return "%s%s" % (stem, "".join("qxzjvk"[int(c) % 6] for c in str(ContactMask._word * 7919)))

    def buyer_thread(self, word):
        text = "The %s arrived broken. Call me on %s or write to %s please." % (word, PHONE, EMAIL)
        t, m = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "damaged_or_defective", text)
        return t, m, text

    def search(self, token, q):
        return [t["id"] for t in self.list_threads(token, q=q, limit=100)["threads"]]

    def assertMasked(self, text, word):
        self.assertFalse(contains_secret(text), text)
        self.assertIn(word, text)  # the rest of the text is there
        self.assertIn("[phone number removed]", text)
        self.assertIn("[e-mail address removed]", text)

    def test_thread_and_flag_answer_are_masked(self):
        word = self.word("teapot")
        t, m, text = self.buyer_thread(word)
        # the buyer's own view and the operator's record keep the original
        self.assertEqual(m["text"], text)
        mine = self.srv.get("/v1/threads/" + t["id"], self.fx.b1).json["messages"]
        self.assertEqual(mine[0]["text"], text)
        record = self.srv.get("/v1/threads/" + t["id"], self.fx.operator).json["messages"]
        self.assertEqual(record[0]["text"], text)
        # every agent of the seller, read-only too, sees it masked
        for tok in (self.fx.agent, self.fx.owner, self.fx.read_only):
            r = self.srv.get("/v1/threads/" + t["id"], tok)
            self.assertEqual(r.status, 200, r)
            self.assertMasked(r.json["messages"][0]["text"], word)
            self.assertFalse(contains_secret(r.body.decode("utf-8")))
        # the answer of flag and unflag shows the message: masked too
        for value in (True, False):
            r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {"value": value}, self.fx.agent)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["message"]["no_response_needed"], value)
            self.assertMasked(r.json["message"]["text"], word)
            self.assertFalse(contains_secret(r.body.decode("utf-8")))
        # the inbox rows and the seller's other pages carry nothing of it
        for path in ("/v1/threads?limit=100", "/v1/threads?filter=unanswered&limit=100", "/v1/rule-firings",
                     "/v1/proposals", "/v1/sellers/S1/audit-sample?n=500", "/v1/orders?limit=100"):
            r = self.srv.get(path, self.fx.agent)
            self.assertEqual(r.status, 200, (path, r))
            self.assertFalse(contains_secret(r.body.decode("utf-8")), path)
        # the evidence export is the operator's, unmasked (it is the record); never the seller's
        self.assertError(self.srv.get("/v1/threads/%s/export" % t["id"], self.fx.agent), 403, "forbidden")
        ex = self.srv.get("/v1/threads/%s/export" % t["id"], self.fx.operator)
        self.assertEqual(ex.status, 200, ex)
        self.assertEqual(ex.json["messages"][0]["text"], text)

    def test_the_lists_line_of_the_latest_message_is_masked_whole_then_cut(self):
        word = self.word("kettle")
        t, m, text = self.buyer_thread(word)

        def preview(token):
            rows = [x for x in self.list_threads(token, limit=100)["threads"] if x["id"] == t["id"]]
            self.assertEqual(len(rows), 1, token)
            return rows[0]["preview"]

        seller = preview(self.fx.agent)
        self.assertEqual(seller["from"], "buyer")
        self.assertMasked(seller["text"], word)
        self.assertEqual(preview(self.fx.b1), {"from": "buyer", "text": text})  # the buyer's own
        self.assertIn(PHONE, preview(self.fx.operator)["text"])  # the record
        # A number that straddles the cut is masked before the text is cut: no digit of it
        # reaches the seller, not even the ones before the cut.
        head = "x" * 112 + " "
        long_text = head + PHONE + " " + "y" * 200
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": long_text}, self.fx.b1)
        self.assertEqual(r.status, 201, r)
        seller = preview(self.fx.agent)
        self.assertTrue(seller["text"].startswith(head + "[phon"), seller["text"])
        self.assertTrue(seller["text"].endswith("…"), seller["text"])
        self.assertEqual(len(seller["text"]), 121)  # 120 characters and the ellipsis
        for digits in ("415", "555", "0199"):
            self.assertNotIn(digits, seller["text"])
        own = preview(self.fx.b1)
        self.assertEqual(own["text"], long_text[:120] + "…")
        # the seller's reply is the newest line now, for both
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "We will send a new one today."}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(preview(self.fx.agent), {"from": "seller", "text": "We will send a new one today."})
        self.assertEqual(preview(self.fx.b1), {"from": "seller", "text": "We will send a new one today."})

    def test_a_buyers_file_names_are_masked(self):
        names = {"call-me-%s.txt" % PHONE: "[phone number removed]", "from_%s.txt" % EMAIL: "[e-mail address removed]"}
        ids = {}
        for name in names:
            up = self.srv.request("POST", "/v1/attachments?name=" + quote(name), raw=b"receipt\n", token=self.fx.b1)
            self.assertEqual(up.status, 201, up)
            self.assertEqual(up.json["attachment"]["name"], name)  # the uploader sees their own name
            ids[up.json["attachment"]["id"]] = name
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "The receipts.")
        m = self.send(self.fx.b1, t["id"], "Here they are.", attachments=list(ids))
        self.assertEqual(sorted(x["name"] for x in m["attachments"]), sorted(names))
        view = self.srv.get("/v1/threads/" + t["id"], self.fx.agent)
        shown = {x["id"]: x["name"] for msg in view.json["messages"] for x in msg["attachments"]}
        self.assertEqual(set(shown), set(ids))
        for att, name in ids.items():
            self.assertFalse(contains_secret(shown[att]), shown[att])
            self.assertIn(names[name], shown[att])
            self.assertTrue(shown[att].endswith(".txt"), shown[att])
            dl = self.srv.get("/v1/attachments/" + att, self.fx.agent)
            self.assertEqual(dl.status, 200, dl)
            self.assertFalse(contains_secret(dl.headers["content-disposition"]), dl.headers["content-disposition"])
            self.assertEqual(dl.body, b"receipt\n")  # the file itself is the buyer's, as it is
            # the operator's record keeps the name
            record = self.srv.get("/v1/attachments/" + att, self.fx.operator).headers["content-disposition"]
            self.assertIn(quote(name), record)

    def test_numbers_glued_to_words_are_masked_too(self):
        word = self.word("whisk")
        text = "About the %s: reach me on tel-4155550177 or call-me-415-555-0188." % word
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", text)
        seen = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["messages"][0]["text"]
        for digits in ("0177", "0188", "4155550177"):
            self.assertNotIn(digits, seen)
            self.assertNotIn(t["id"], self.search(self.fx.agent, digits), digits)
        self.assertIn(word, seen)
        self.assertEqual(self.search(self.fx.agent, word), [t["id"]])

    def test_seller_search_runs_over_the_masked_text(self):
        word = self.word("kettle")
        t, _, _ = self.buyer_thread(word)
        # a word of the message finds the thread: the search works
        self.assertEqual(self.search(self.fx.agent, word), [t["id"]])
        # a guessed phone number or address finds nothing, in any spelling
        for guess in GUESSES:
            self.assertNotIn(t["id"], self.search(self.fx.agent, guess), guess)
        # the seller's own messages stay searchable in full
        reply_word = self.word("saucepan")
        self.send(self.fx.agent, t["id"], "We will replace the %s today." % reply_word)
        self.assertEqual(self.search(self.fx.agent, reply_word), [t["id"]])
        # the buyer and the operator search the text as it is
        self.assertIn(t["id"], self.search(self.fx.b1, PHONE))
        self.assertIn(t["id"], self.search(self.fx.operator, EMAIL))
        # another seller finds nothing of it at all
        self.assertEqual(self.search(self.fx.s2, word), [])

    def test_rules_read_the_masked_text(self):
        """A rule's words are no oracle: a rule that waits for a guessed number or address never fires."""
        word = self.word("skillet")
        for name, words, tag in (("guess-phone", [PHONE, "0199"], "oraclephone"),
                                 ("guess-mail", [EMAIL, "posteo"], "oraclemail"),
                                 ("control", [word], "seen")):
            r = self.srv.post("/v1/rules", {"name": name + word, "conditions": {"words": words},
                                            "actions": [{"type": "tag", "tag": tag}]}, self.fx.owner)
            self.assertEqual(r.status, 201, r)
        t, _, _ = self.buyer_thread(word)
        tags = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["thread"]["tags"]
        self.assertEqual(tags, ["seen"])  # the control rule fired: rules ran on this message
        firings = self.srv.get("/v1/rule-firings?limit=100", self.fx.agent)
        self.assertFalse(contains_secret(firings.body.decode("utf-8")))

    def test_live_events_carry_no_buyer_text(self):
        word = self.word("colander")
        stream = SseStream(self.srv, self.fx.agent)
        try:
            stream.wait_connected()
            t, m, _ = self.buyer_thread(word)
            name, data = stream.next_event("message")
            while data["message_id"] != m["id"]:
                name, data = stream.next_event("message")
            self.assertEqual(set(data), {"thread_id", "message_id", "from", "status"})
            self.assertFalse(contains_secret(json.dumps(data)))
        finally:
            stream.close()

    @unittest.skipUnless(BACKEND == "sqlite", "the index is emptied through the SQLite file")
    def test_messages_from_before_the_index_are_indexed_masked_at_start(self):
        word = self.word("ladle")
        t, _, _ = self.buyer_thread(word)
        self.srv.stop()
        try:
            # as a store written before the seller's index existed
            db = sqlite3.connect(self.store.url)
            db.execute("INSERT INTO seller_search_fts(seller_search_fts) VALUES ('delete-all')")
            db.execute("DELETE FROM seller_search")
            db.commit()
            db.close()
        finally:
            self.srv.start()
        self.assertEqual(self.search(self.fx.agent, word), [t["id"]])
        for guess in (PHONE, EMAIL, "posteo"):
            self.assertNotIn(t["id"], self.search(self.fx.agent, guess), guess)


class BuyerScope(FastCase):

    def test_team_only_filters_are_refused(self):
        for q in ("tag=refund", "assignee=me", "assignee=none", "assignee=1", "filter=response_needed",
                  "filter=unanswered", "filter=sent", "filter=archived"):
            r = self.srv.get("/v1/threads?" + q, self.fx.b1)
            self.assertError(r, 400, "team_only_filter")
            self.assertIn(q.split("=")[0], r.json["error"]["message"])
        self.assertEqual(self.srv.get("/v1/threads?filter=all", self.fx.b1).status, 200)
        # the seller's team keeps them
        for q in ("tag=refund", "assignee=me", "filter=archived"):
            self.assertEqual(self.srv.get("/v1/threads?" + q, self.fx.agent).status, 200, q)

    def test_buyer_search_never_matches_what_the_buyer_cannot_see(self):
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "Where is my parcel?")
        note = self.srv.post("/v1/threads/%s/notes" % t["id"], {"text": "kumquatnote: buyer sounds angry"},
                             self.fx.agent)
        self.assertEqual(note.status, 201, note)
        # a seller message the policy rejects is never the buyer's to see, nor to find
        r = self.srv.post("/v1/threads/%s/messages" % t["id"],
                          {"text": "rutabagaheld: write to me at dealer.direct@gmail.com"}, self.fx.agent)
        self.assertError(r, 422, "policy_violation")
        self.assertEqual(self.list_threads(self.fx.b1, q="kumquatnote")["threads"], [])
        self.assertEqual(self.list_threads(self.fx.b1, q="rutabagaheld")["threads"], [])
        # the team finds both: the test searches the right words
        self.assertEqual([x["id"] for x in self.list_threads(self.fx.agent, q="kumquatnote")["threads"]], [t["id"]])
        self.assertEqual([x["id"] for x in self.list_threads(self.fx.agent, q="rutabagaheld")["threads"]], [t["id"]])
        # and the buyer finds what was delivered to them
        self.send(self.fx.agent, t["id"], "Your parcel left today, quincedelivered.")
        self.assertEqual([x["id"] for x in self.list_threads(self.fx.b1, q="quincedelivered")["threads"]], [t["id"]])

    def test_team_work_does_not_move_a_thread_in_the_buyers_list(self):
        # two threads with a past: the older asked on 5 January, the newer on 6 January
        ServerCase._next_order += 1
        n = ServerCase._next_order
        o_old, o_new = "118-%07d-0000001" % n, "118-%07d-0000002" % n
        p = import_lines(self.store, [
            order_line(o_old, "S1", "B2"), order_line(o_new, "S1", "B2"),
            {"type": "message", "id": "cm-%s" % o_old, "order": o_old, "from": "buyer",
             "at": "2026-01-05T10:00:00Z", "topic": "other", "text": "First question."},
            {"type": "message", "id": "cm-%s" % o_new, "order": o_new, "from": "buyer",
             "at": "2026-01-06T10:00:00Z", "topic": "other", "text": "Second question."}])
        self.assertEqual(p.returncode, 0, p.stderr)
        older = self.list_threads(self.fx.agent, order_id=o_old)["threads"][0]["id"]
        newer = self.list_threads(self.fx.agent, order_id=o_new)["threads"][0]["id"]

        def mine():
            rows = self.list_threads(self.fx.b2, limit=100)["threads"]
            return [t["id"] for t in rows], {t["id"]: t["last_message_at"] for t in rows}

        order, at = mine()
        self.assertLess(order.index(newer), order.index(older))
        self.assertEqual(at[older], "2026-01-05T10:00:00Z")
        # a note and a refused reply on the older thread are the team's: the buyer sees no change
        r = self.srv.post("/v1/threads/%s/notes" % older, {"text": "call back later"}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        r = self.srv.post("/v1/threads/%s/messages" % older, {"text": "mail me at dealer.direct@gmail.com"},
                          self.fx.agent)
        self.assertError(r, 422, "policy_violation")
        self.assertEqual(mine(), (order, at))
        view = self.srv.get("/v1/threads/" + older, self.fx.b2).json["thread"]
        self.assertEqual(view["last_message_at"], "2026-01-05T10:00:00Z")
        # the seller's inbox moved it (the team's own view) ...
        seller_rows = [t["id"] for t in self.list_threads(self.fx.agent, filter="all", limit=100,
                                                          all="true")["threads"]]
        self.assertLess(seller_rows.index(older), seller_rows.index(newer))
        # ... and a delivered reply moves it for the buyer too
        self.send(self.fx.agent, older, "We are on it.")
        order2, at2 = mine()
        self.assertLess(order2.index(older), order2.index(newer))
        self.assertNotEqual(at2[older], "2026-01-05T10:00:00Z")
        # pages of one row walk the same list
        walked, cursor = [], None
        for _ in range(200):
            params = {"limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = self.list_threads(self.fx.b2, **params)
            walked += [t["id"] for t in page["threads"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(walked, order2)

    def test_archiving_is_the_sellers(self):
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "Archive me if you like.")
        self.assertEqual(self.srv.post("/v1/threads/%s/archive" % t["id"], None, self.fx.agent).status, 200)
        mine = [x["id"] for x in self.list_threads(self.fx.b1, limit=100)["threads"]]
        self.assertIn(t["id"], mine)  # the thread stays in the buyer's list
        self.assertNotIn("archived", self.srv.get("/v1/threads/" + t["id"], self.fx.b1).json["thread"])

    def test_no_events_of_internal_actions(self):
        t, bm = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "Any news?")
        buyer = SseStream(self.srv, self.fx.b1)
        seller = SseStream(self.srv, self.fx.agent)
        try:
            buyer.wait_connected()
            seller.wait_connected()
            tid = t["id"]
            agents = self.srv.get("/v1/agents", self.fx.agent).json["agents"]
            sam = next(a["id"] for a in agents if a["name"] == "Sam Agent")
            internal = [
                ("post", "/v1/threads/%s/notes" % tid, {"text": "internal note"}),
                ("put", "/v1/threads/%s/tags" % tid, {"tags": ["vip"]}),
                ("put", "/v1/threads/%s/priority" % tid, {"priority": "urgent"}),
                ("post", "/v1/threads/%s/assign" % tid, {"agent_id": sam}),
                ("post", "/v1/threads/%s/lock" % tid, None),
                ("delete", "/v1/threads/%s/lock" % tid, None),
                ("post", "/v1/messages/%s/no-response-needed" % bm["id"], {"value": True}),
                ("post", "/v1/messages/%s/no-response-needed" % bm["id"], {"value": False}),
                ("post", "/v1/threads/%s/archive" % tid, None),
                ("post", "/v1/threads/%s/unarchive" % tid, None),
            ]
            for method, path, body in internal:
                r = self.srv.request(method.upper(), path, body, self.fx.agent)
                self.assertIn(r.status, (200, 201, 204), (path, r))
            # a rejected seller message is not the buyer's business either
            r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": "mail me at dealer.direct@gmail.com"},
                              self.fx.agent)
            self.assertError(r, 422, "policy_violation")
            reply = self.send(self.fx.agent, tid, "It ships tomorrow.")
            # the seller heard of the internal actions (they happened) ...
            name, _ = seller.next_event()
            self.assertIn(name, ("thread", "message"))
            # ... the buyer's first event is the reply: nothing came before it
            name, data = buyer.next_event()
            self.assertEqual((name, data["message_id"], data["from"]), ("message", reply["id"], "seller"))
        finally:
            buyer.close()
            seller.close()


class ControlCharacters(FastCase):

    def test_refused_everywhere_text_enters(self):
        oid = self.new_order("B1", "S1")
        bad = {"escape": "look \x1b[2J here", "bell": "ring\x07", "backspace": "abc\x08\x08\x08xyz",
               "lone CR": "one\rtwo", "vertical tab": "a\x0bb", "DEL": "a\x7fb", "C1 NEL": "a\u0085b",
               "C1 CSI": "a\u009b31m"}
        for what, text in bad.items():
            r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": text}, self.fx.b1)
            self.assertError(r, 400, "control_character")
            self.assertIn("control character", r.json["error"]["message"], what)
        t, _ = self.start_thread(self.fx.b1, oid, "other", "A clean start.")
        tid = t["id"]
        attempts = [
            (self.fx.b1, "POST", "/v1/threads/%s/messages" % tid, {"text": "hi\x1b]0;title\x07"}),
            (self.fx.agent, "POST", "/v1/threads/%s/messages" % tid, {"text": "hi\x1b[31m"}),
            (self.fx.agent, "POST", "/v1/threads/%s/notes" % tid, {"text": "note\x0c"}),
            (self.fx.agent, "POST", "/v1/policy/check", {"text": "check\x1b"}),
            (self.fx.owner, "POST", "/v1/templates", {"name": "Ctl", "purpose": "other",
                                                       "variants": {"en": "Hello\x1b[2J"}}),
            (self.fx.owner, "POST", "/v1/templates", {"name": "Ctl\x1b", "purpose": "other",
                                                       "variants": {"en": "Hello"}}),
            (self.fx.owner, "POST", "/v1/rules", {"name": "Ctl\x07", "conditions": {"words": ["x"]},
                                                   "actions": [{"type": "tag", "tag": "x"}]}),
            (self.fx.owner, "POST", "/v1/rules", {"name": "Ctl", "conditions": {"words": ["x\x1b"]},
                                                   "actions": [{"type": "tag", "tag": "x"}]}),
        ]
        # names and titles are one line: no tab or line break either
        attempts += [
            (self.fx.owner, "POST", "/v1/templates", {"name": "Two\nlines", "purpose": "other",
                                                       "variants": {"en": "Hello"}}),
            (self.fx.operator, "PUT", "/v1/orders/" + oid,
             {"marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B1", "status": "delivered",
              "items": [{"asin": "B0CTRL0001", "title": "Drill\x1b[8m hidden", "quantity": 1}]}),
        ]
        for tok, method, path, body in attempts:
            r = self.srv.request(method, path, body, tok)
            self.assertError(r, 400, "control_character")
        # nothing of them was stored
        texts = [m["text"] for m in self.srv.get("/v1/threads/" + tid, self.fx.agent).json["messages"]]
        self.assertEqual(texts, ["A clean start."])

    def test_tab_and_line_breaks_are_text_and_crlf_becomes_lf(self):
        t, m = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "Line one\r\nLine two\r\n\tindented")
        self.assertEqual(m["text"], "Line one\nLine two\n\tindented")
        stored = self.srv.get("/v1/threads/" + t["id"], self.fx.b1).json["messages"][0]["text"]
        self.assertEqual(stored, "Line one\nLine two\n\tindented")
        r = self.srv.post("/v1/threads/%s/notes" % t["id"], {"text": "a\r\nb"}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["text"], "a\nb")
        # printable characters just outside the control ranges are text
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "\u00a0\u00bf\u00e9 ok ~"}, self.fx.b1)
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    main()
