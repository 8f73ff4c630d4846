# test_endpoints.py - every endpoint of the own JSON API (docs/api.md), driven over real HTTP.
import re
import time
import unittest

from parley_harness import BACKEND, MP, FastCase, main, order_line

ORDER_TOPICS = ["item_not_received", "wrong_item", "damaged_or_defective", "return_request",
                "product_question", "shipping_delivery", "other"]
PRODUCT_TOPICS = ["product_specifications", "shipping_timeframes", "customization_options"]


class Endpoints(FastCase):
    _recent = 0
    # ---- anonymous endpoints -----------------------------------------------------------

    def test_healthz(self):
        r = self.srv.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"], "ok")

    def test_metrics(self):
        oid = self.new_order("B2", "S1")
        t, _ = self.start_thread(self.fx.b2, oid, "other", "metrics test message")
        r = self.srv.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"))
        text = r.body.decode()
        self.assertIn("# TYPE parley_http_requests_total counter", text)
        # answers by route pattern and status class (test_metrics.py checks them closely)
        ok = lambda text: sum(int(v) for v in re.findall(r'^parley_http_requests_total\{[^\n]*code="2xx"\} (\d+)$',
                                                           text, re.M))
        self.assertGreaterEqual(ok(text), 1)
        m = re.search(r'^parley_messages_total\{status="delivered"\} (\d+)$', text, re.M)
        self.assertTrue(m, text)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertRegex(text, r'parley_http_request_duration_seconds_count\{route="/healthz",method="GET"\} \d+')
        # every sample line is `name{labels} value` or `name value`
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"\\\n]*",?)*\})? [0-9.eE+-]+$')
        # the counter moves with requests
        self.srv.get("/healthz")
        text2 = self.srv.get("/metrics").body.decode()
        self.assertGreater(ok(text2), ok(text))
        # SQLite's group commit: every write transaction is counted, held by no more
        # store transactions than there were writes, each acknowledged after a flush
        store = lambda text, name: int(re.search(r"^parley_store_%s_total (\d+)$" % name, text, re.M).group(1))
        if BACKEND == "sqlite":
            commits, batches, syncs = (store(text2, k) for k in ("commits", "batches", "syncs"))
            self.assertGreaterEqual(commits, 1)
            self.assertTrue(1 <= batches <= commits, text2)
            self.assertTrue(1 <= syncs <= batches, text2)
            self.start_thread(self.fx.b2, self.new_order("B2", "S1"), "other", "one more write")
            self.assertGreater(store(self.srv.get("/metrics").body.decode(), "commits"), commits)
        else:
            self.assertNotIn("parley_store_commits_total", text2)

    # ---- /v1/me ------------------------------------------------------------------------

    def test_web_files_compressed_and_revalidated(self):
        """The message center's files: gzip for a browser that takes it, the same bytes
        otherwise, and a 304 without a body when the browser's copy is current."""
        import gzip
        import os
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "web", "js", "app.js"), "rb") as f:
            want = f.read()
        r = self.srv.get("/js/app.js", headers={"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-encoding"), "gzip")
        self.assertIn("Accept-Encoding", r.headers.get("vary", ""))
        self.assertEqual(r.headers.get("cache-control"), "no-cache")
        self.assertEqual(gzip.decompress(r.body), want)
        self.assertLess(len(r.body), len(want) // 2)
        etag = r.headers["etag"]
        self.assertRegex(etag, r'^"[0-9a-f]{32}-gz"$')
        # the browser's copy is current: no body
        again = self.srv.get("/js/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        self.assertEqual(again.status, 304, again)
        self.assertEqual(again.body, b"")
        self.assertEqual(again.headers["etag"], etag)
        # no gzip asked for, or refused with q=0: the file as it is, under its own ETag
        for ae in ("identity", "gzip;q=0", "br"):
            plain = self.srv.get("/js/app.js", headers={"Accept-Encoding": ae})
            self.assertEqual(plain.status, 200, plain)
            self.assertNotIn("content-encoding", plain.headers)
            self.assertEqual(plain.body, want)
            self.assertEqual(plain.headers["etag"], etag.replace("-gz", ""))
        stale = self.srv.get("/js/app.js", headers={"If-None-Match": '"0123"'})
        self.assertEqual(stale.status, 200)
        # the API's answers are still never stored
        self.assertEqual(self.srv.get("/v1/meta").headers.get("cache-control"), "no-store")

    def test_web_page_names_files_by_content(self):
        """The page names every file by its content and maps every module so: one request
        for the page on a reload, the rest kept a year; an outdated name is not found."""
        import base64
        import hashlib
        import json
        import os
        import re
        web = os.path.join(os.path.dirname(__file__), "..", "..", "web")
        r = self.srv.get("/", headers={"Accept-Encoding": "identity"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("cache-control"), "no-cache")
        page = r.body.decode()
        m = re.search(r'<script type="importmap">(.*?)</script>', page)
        self.assertTrue(m, page)
        imports = json.loads(m.group(1))["imports"]
        modules = sorted(f for f in os.listdir(os.path.join(web, "js")) if f.endswith(".js"))
        self.assertEqual(sorted(imports), ["/js/" + f for f in modules])  # every module, by its plain name
        # the inline map is allowed by its hash, and no other inline script
        csp = r.headers["content-security-policy"]
        digest = base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode()
        self.assertIn("script-src 'self' 'sha256-%s'" % digest, csp)
        self.assertEqual(page.count("<script"), 2)  # the map and the entry module
        for plain, hashed in imports.items():
            self.assertRegex(hashed, r"^/js/[a-z_-]+\.[0-9a-f]{16}\.js$")
            self.assertIn('<link rel="modulepreload" href="%s">' % hashed, page)
            with open(os.path.join(web, plain.lstrip("/")), "rb") as f:
                want = f.read()
            got = self.srv.get(hashed, headers={"Accept-Encoding": "identity"})
            self.assertEqual(got.status, 200, (hashed, got))
            self.assertEqual(got.body, want)
            self.assertEqual(got.headers.get("cache-control"), "public, max-age=31536000, immutable")
        # the entry module, the style sheet and the icon under their immutable names
        for attr, name in (("src", "js/app.js"), ("href", "app.css"), ("href", "favicon.svg")):
            hm = re.search(r'%s="(/%s\.[0-9a-f]{16}\.%s)"' % (attr, re.escape(name.rsplit(".", 1)[0]), name.rsplit(".", 1)[1]), page)
            self.assertTrue(hm, (name, page))
            self.assertEqual(self.srv.get(hm.group(1)).status, 200)
        # a name of other contents (an older page's) is not found, nor is one that escapes
        self.assertEqual(self.srv.get("/js/app.0000000000000000.js").status, 404)
        self.assertEqual(self.srv.get("/js/../app.0000000000000000.js").status, 404)

    def test_me(self):
        r = self.srv.get("/v1/me", self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "agent")
        self.assertEqual(r.json["seller_id"], "S1")
        self.assertEqual(r.json["marketplace_id"], MP)
        self.assertEqual(r.json["role"], "agent")
        self.assertEqual(r.json["seller_name"], "Acme Tools")  # names, to show who is signed in
        self.assertTrue(r.json["name"])
        r = self.srv.get("/v1/me", self.fx.read_only)
        self.assertEqual(r.json["role"], "read_only")
        r = self.srv.get("/v1/me", self.fx.b1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "buyer")
        self.assertEqual(r.json["buyer_id"], "B1")
        self.assertEqual(r.json["name"], "Jane Doe")
        self.assertNotIn("seller_id", r.json)
        self.assertNotIn("seller_name", r.json)
        r = self.srv.get("/v1/me", self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["kind"], "operator")
        self.assertNotIn("name", r.json)

    # ---- /v1/meta ----------------------------------------------------------------------

    def test_meta_is_what_the_server_enforces(self):
        r = self.srv.get("/v1/meta")  # no token: the same for everyone
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.srv.post("/v1/meta", {}, self.fx.b1).status, 405)
        meta = r.json
        # topics: exactly the ones a thread can be started with, in the order offered
        self.assertEqual([t["id"] for t in meta["topics"]["post_purchase"]], ORDER_TOPICS)
        self.assertEqual([t["id"] for t in meta["topics"]["pre_purchase"]], PRODUCT_TOPICS)
        self.assertTrue(all(t["label"] for t in meta["topics"]["post_purchase"] + meta["topics"]["pre_purchase"]))
        bad = self.srv.post("/v1/threads", {"order_id": self.new_order("B1", "S1"), "topic": "not_a_topic",
                                            "text": "hello"}, self.fx.b1)
        self.assertError(bad, 400, "invalid_input")
        # the text limit: exactly limits.text_chars characters pass, one more does not
        n = meta["limits"]["text_chars"]
        self.assertEqual(n, 5000)
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "limits")
        self.assertEqual(self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "é" * n}, self.fx.b1).status, 201)
        self.assertError(self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "é" * (n + 1)}, self.fx.b1),
                         422, "text_too_long")
        # attachments
        lim = meta["limits"]
        self.assertEqual(lim["attachments_per_message"], 16)
        self.assertEqual(lim["attachment_bytes"], 10000000)
        self.assertEqual(set(lim["attachment_extensions"]),
                         {"doc", "docx", "pdf", "txt", "jpg", "jpeg", "gif", "png", "bmp", "tif", "tiff"})
        self.assertEqual(meta["response_window_s"], 86400)
        # every category the policy reports has its words; a finding's category is one of them
        cats = {c["id"]: c for c in meta["policy_categories"]}
        self.assertIn("phone", cats)
        self.assertTrue(all(c["label"] and c["hint"] for c in cats.values()))
        chk = self.srv.post("/v1/policy/check", {"text": "Call me at +1 415 555 0100 or visit https://example.org"},
                            self.fx.agent)
        self.assertEqual(chk.status, 200, chk)
        found = {f["category"] for f in chk.json["findings"]}
        self.assertTrue(found and found <= set(cats), (found, set(cats)))

    def test_refusal_says_when_in_fields(self):
        oid = "114-0999999-0999999"  # delivered ten days ago: inside the review window
        body = order_line(oid, "S1", "B1")
        del body["type"], body["id"]
        ago = lambda days: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))
        body.update(purchased_at=ago(14), shipped_at=ago(12), delivered_at=ago(10))
        self.assertEqual(self.srv.put("/v1/orders/" + oid, body, self.fx.operator).status, 201)
        first = self.srv.post("/v1/orders/%s/review-request" % oid, None, self.fx.agent)
        self.assertEqual(first.status, 201, first)
        again = self.srv.post("/v1/orders/%s/review-request" % oid, None, self.fx.agent)
        self.assertError(again, 403, "already_requested")
        at = again.json["error"]["at"]  # when the review was requested, without reading the message
        self.assertRegex(at, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIn(at, again.json["error"]["message"])
        self.assertNotIn("retry_after", again.json["error"])

    # ---- threads -----------------------------------------------------------------------

    def test_order_thread_every_topic(self):
        for i, topic in enumerate(ORDER_TOPICS):
            oid = self.new_order("B1", "S1")
            t, m = self.start_thread(self.fx.b1, oid, topic, "question about %s" % topic)
            self.assertRegex(t["id"], r"^T[0-9a-z]{12}$")
            self.assertEqual(t["order_id"], oid)
            self.assertIsNone(t["asin"])
            self.assertEqual(t["topic"], topic)
            self.assertEqual(t["seller_id"], "S1")
            self.assertEqual(m["from"], "buyer")
            self.assertEqual(m["kind"], "message")
            self.assertEqual(m["text"], "question about %s" % topic)
            self.assertEqual(m["thread_id"], t["id"])
            self.assertNotIn("policy", m)  # the buyer never sees policy
            # the seller sees it with the buyer's alias, never the buyer's address
            r = self.srv.get("/v1/threads/" + t["id"], self.fx.agent)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["thread"]["topic"], topic)
            self.assertRegex(r.json["thread"]["buyer_alias"], r"^[a-z0-9]{16,}@relay\.example\.com$")
            self.assertNotIn("jane.doe.private", r.body.decode())

    def test_product_thread_every_topic(self):
        for i, topic in enumerate(PRODUCT_TOPICS):
            asin = "B0PROD%04d" % i
            r = self.srv.post("/v1/threads", {"asin": asin, "seller_id": "S1", "topic": topic,
                                              "text": "Is it blue? (%s)" % topic}, self.fx.b2)
            self.assertEqual(r.status, 201, r)
            t = r.json["thread"]
            self.assertEqual(t["asin"], asin)
            self.assertIsNone(t["order_id"])
            self.assertEqual(t["topic"], topic)
            self.assertEqual(t["seller_id"], "S1")
            self.assertEqual(r.json["message"]["text"], "Is it blue? (%s)" % topic)
            g = self.srv.get("/v1/threads/" + t["id"], self.fx.owner)
            self.assertEqual(g.status, 200, g)
            self.assertIsNone(g.json["order"])
            self.assertEqual(g.json["thread"]["state"], "response_needed")
            # a second question about the same product is the same thread
            again = self.srv.post("/v1/threads", {"asin": asin, "seller_id": "S1", "topic": topic,
                                                  "text": "again"}, self.fx.b2)
            self.assertError(again, 409, "already_exists")
            self.assertIn(t["id"], again.json["error"]["message"])
        # post-purchase topics are not pre-purchase topics, and the other way round
        r = self.srv.post("/v1/threads", {"asin": "B0PRODXXXX", "seller_id": "S1", "topic": "wrong_item",
                                          "text": "x"}, self.fx.b2)
        self.assertError(r, 400, "invalid_input")
        r = self.srv.post("/v1/threads", {"order_id": self.new_order("B2", "S1"),
                                          "topic": "product_specifications", "text": "x"}, self.fx.b2)
        self.assertError(r, 400, "invalid_input")

    def test_duplicate_order_thread(self):
        oid = self.new_order("B1", "S1")
        t, _ = self.start_thread(self.fx.b1, oid, "other", "first")
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "wrong_item", "text": "second"},
                          self.fx.b1)
        self.assertError(r, 409, "already_exists")
        self.assertIn(t["id"], r.json["error"]["message"])  # the body names the thread
        # nothing of the refused request was stored
        g = self.srv.get("/v1/threads/" + t["id"], self.fx.b1)
        self.assertEqual([m["text"] for m in g.json["messages"]], ["first"])

    def test_conversation(self):
        """Buyer asks, the seller sees it as response needed, replies, the buyer sees the reply."""
        oid = self.new_order("B1", "S1")
        t, bm = self.start_thread(self.fx.b1, oid, "item_not_received", "Where is my parcel?")
        tid = t["id"]

        inbox = self.list_threads(self.fx.agent, filter="response_needed")
        ids = [x["id"] for x in inbox["threads"]]
        self.assertIn(tid, ids)
        self.assertIsInstance(inbox["response_needed_count"], int)
        self.assertGreaterEqual(inbox["response_needed_count"], 1)
        before = inbox["response_needed_count"]
        row = next(x for x in inbox["threads"] if x["id"] == tid)
        self.assertEqual(row["state"], "response_needed")
        self.assertTrue(row["unread"])
        self.assertIsNotNone(row["response_due_at"])

        # the seller reads the thread with its order
        g = self.srv.get("/v1/threads/" + tid, self.fx.agent)
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.json["order"]["id"], oid)
        self.assertEqual(g.json["order"]["status"], "delivered")
        self.assertEqual(len(g.json["order"]["items"]), 1)
        self.assertEqual(g.json["messages"][0]["id"], bm["id"])
        self.assertEqual(g.json["messages"][0]["from"], "buyer")
        self.assertEqual(g.json["messages"][0]["status"], "delivered")
        self.assertFalse(g.json["messages"][0]["no_response_needed"])

        # the reply
        sm = self.send(self.fx.agent, tid, "It is on its way and arrives tomorrow.")
        self.assertEqual(sm["from"], "seller")
        self.assertEqual(sm["kind"], "message")
        self.assertEqual(sm["status"], "delivered")
        self.assertIn("policy", sm)
        self.assertIn(sm["policy"]["action"], ("deliver", "reject", "review"))
        self.assertIsInstance(sm["policy"]["findings"], list)

        inbox = self.list_threads(self.fx.agent, filter="response_needed")
        self.assertNotIn(tid, [x["id"] for x in inbox["threads"]])
        self.assertEqual(inbox["response_needed_count"], before - 1)
        sent = self.list_threads(self.fx.agent, filter="sent")
        self.assertIn(tid, [x["id"] for x in sent["threads"]])
        self.assertEqual(next(x for x in sent["threads"] if x["id"] == tid)["state"], "answered")

        # the buyer sees the reply, without policy; the thread is unread for the buyer
        g = self.srv.get("/v1/threads/" + tid, self.fx.b1)
        self.assertEqual(g.status, 200, g)
        texts = [m["text"] for m in g.json["messages"]]
        self.assertEqual(texts, ["Where is my parcel?", "It is on its way and arrives tomorrow."])
        for m in g.json["messages"]:
            self.assertNotIn("policy", m)
        self.assertEqual(g.json["thread"]["seller_name"], "Acme Tools")
        self.assertNotIn("buyer_alias", g.json["thread"])
        self.assertNotIn("support@acme-tools.test", g.body.decode())
        self.assertEqual(g.json["order"]["id"], oid)

        # buyer list shows it too
        mine = self.list_threads(self.fx.b1)
        self.assertIn(tid, [x["id"] for x in mine["threads"]])
        self.assertNotIn("response_needed_count", mine)

        # read marks
        r = self.srv.post("/v1/threads/%s/read" % tid, None, self.fx.b1)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["thread"]["unread"])
        g = self.srv.get("/v1/threads/" + tid, self.fx.b1)
        self.assertFalse(g.json["thread"]["unread"])

        # a new buyer message makes it unread for the seller and response-needed again
        self.send(self.fx.b1, tid, "Thanks. And the invoice?")
        row = next(x for x in self.list_threads(self.fx.agent, filter="response_needed")["threads"]
                   if x["id"] == tid)
        self.assertEqual(row["state"], "response_needed")
        r = self.srv.post("/v1/threads/%s/read" % tid, None, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["thread"]["unread"])
        self.assertEqual(r.json["thread"]["state"], "response_needed")  # reading does not answer
        row = next(x for x in self.list_threads(self.fx.agent, filter="all")["threads"] if x["id"] == tid)
        self.assertFalse(row["unread"])
        # the operator has no read marks
        self.assertError(self.srv.post("/v1/threads/%s/read" % tid, None, self.fx.operator), 403, "forbidden")

    def test_new_message_is_unread(self):
        """A new message is unread for the other side until it reads it, however fast it came."""
        checked = set()
        for i in range(10):  # until both cases happened within one second
            t, bm = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "unread test %d" % i)
            sm = self.send(self.fx.agent, t["id"], "reply %d" % i)
            if sm["at"] == bm["at"]:
                checked.add("buyer")
                self.assertTrue(self.srv.get("/v1/threads/" + t["id"], self.fx.b1).json["thread"]["unread"])
                row = next(x for x in self.list_threads(self.fx.b1, limit=100)["threads"] if x["id"] == t["id"])
                self.assertTrue(row["unread"])
            fm = self.send(self.fx.b1, t["id"], "follow-up %d" % i)
            if fm["at"] == sm["at"]:
                checked.add("seller")
                self.assertTrue(self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["thread"]["unread"])
            if len(checked) == 2:
                break
        if not checked:
            self.skipTest("no two messages fell into one second")

    def test_auto_reply_does_not_answer(self):
        oid = self.new_order("B2", "S1")
        t, _ = self.start_thread(self.fx.b2, oid, "return_request", "I want to return it.")
        m = self.send(self.fx.agent, t["id"], "Thanks, we will get back to you.", auto_reply=True)
        self.assertEqual(m["kind"], "auto_reply")
        inbox = self.list_threads(self.fx.agent, filter="response_needed")
        self.assertIn(t["id"], [x["id"] for x in inbox["threads"]])
        # a buyer cannot send auto-replies
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "x", "auto_reply": True}, self.fx.b2)
        self.assertError(r, 400, "invalid_input")

    def test_archive_unarchive(self):
        oid = self.new_order("B1", "S1")
        t, _ = self.start_thread(self.fx.b1, oid, "other", "archive me")
        tid = t["id"]
        r = self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["thread"]["archived"])
        self.assertEqual(r.json["thread"]["state"], "archived")
        self.assertIn(tid, [x["id"] for x in self.list_threads(self.fx.agent, filter="archived")["threads"]])
        for f in ("all", "response_needed", "unanswered"):
            self.assertNotIn(tid, [x["id"] for x in self.list_threads(self.fx.agent, filter=f, limit=100)["threads"]], f)
        # archiving twice is harmless
        self.assertEqual(self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.agent).status, 200)
        r = self.srv.post("/v1/threads/%s/unarchive" % tid, None, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["thread"]["archived"])
        self.assertEqual(r.json["thread"]["state"], "response_needed")
        self.assertIn(tid, [x["id"] for x in self.list_threads(self.fx.agent, filter="all", limit=100)["threads"]])
        self.assertNotIn(tid, [x["id"] for x in self.list_threads(self.fx.agent, filter="archived")["threads"]])
        # only a writing agent archives
        self.assertError(self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.b1), 403, "forbidden")
        self.assertError(self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.read_only), 403, "forbidden")

    def test_no_response_needed_flag(self):
        oid = self.new_order("B1", "S1")
        t, m = self.start_thread(self.fx.b1, oid, "other", "Thank you so much!")
        tid = t["id"]
        count0 = self.list_threads(self.fx.agent)["response_needed_count"]
        r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {"value": True}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["message"]["no_response_needed"])
        inbox = self.list_threads(self.fx.agent, filter="response_needed", limit=100)
        self.assertNotIn(tid, [x["id"] for x in inbox["threads"]])
        self.assertEqual(inbox["response_needed_count"], count0 - 1)
        row = next(x for x in self.list_threads(self.fx.agent, filter="unanswered", limit=100)["threads"]
                   if x["id"] == tid)
        self.assertEqual(row["state"], "no_response_needed")
        g = self.srv.get("/v1/threads/" + tid, self.fx.agent)
        self.assertTrue(g.json["messages"][0]["no_response_needed"])
        # unflag: back in response needed
        r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {"value": False}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["message"]["no_response_needed"])
        inbox = self.list_threads(self.fx.agent, filter="response_needed", limit=100)
        self.assertIn(tid, [x["id"] for x in inbox["threads"]])
        self.assertEqual(inbox["response_needed_count"], count0)
        # only buyer messages are flagged; buyers and read-only agents do not flag
        sm = self.send(self.fx.agent, tid, "You are welcome.")
        r = self.srv.post("/v1/messages/%s/no-response-needed" % sm["id"], {"value": True}, self.fx.agent)
        self.assertError(r, 400, "invalid_input")
        r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {"value": True}, self.fx.b1)
        self.assertError(r, 403, "forbidden")
        r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {"value": True}, self.fx.read_only)
        self.assertError(r, 403, "forbidden")
        r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {}, self.fx.agent)
        self.assertError(r, 400, "missing_field")
        r = self.srv.post("/v1/messages/%s/no-response-needed" % m["id"], {"value": "yes"}, self.fx.agent)
        self.assertError(r, 400, "wrong_type")
        r = self.srv.post("/v1/messages/M999999/no-response-needed", {"value": True}, self.fx.agent)
        self.assertError(r, 404, "not_found")

    # ---- orders ------------------------------------------------------------------------

    def recent_order(self, buyer, seller):
        """An order delivered yesterday: within the window of proactive messages."""
        Endpoints._recent += 1
        oid = "115-%07d-%07d" % (Endpoints._recent, 8000000 + Endpoints._recent)
        day = 86400
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        body = order_line(oid, seller, buyer)
        del body["type"], body["id"]
        now = time.time()
        body.update(purchased_at=iso(now - 3 * day), shipped_at=iso(now - 2 * day), delivered_at=iso(now - day))
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertEqual(r.status, 201, r)
        return oid

    def test_buyer_blocks_a_seller(self):
        """A blocked seller's non-critical proactive messages are not delivered; its critical
        ones and another seller's are; the seller only sees "not delivered"."""
        r = self.srv.put("/v1/me/preferences", {"blocked_sellers": ["S1"]}, self.fx.b2)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"opt_out": False, "blocked_sellers": ["S1"]})
        try:
            self.assertEqual(self.srv.get("/v1/me/preferences", self.fx.b2).json["blocked_sellers"], ["S1"])
            cover = {"coverage_start": "2026-10-05T00:00:00Z", "coverage_end": "2028-10-05T00:00:00Z"}
            o1, o2 = self.recent_order("B2", "S1"), self.recent_order("B2", "S2")
            r = self.srv.post("/v1/orders/%s/actions/warranty" % o1, cover, self.fx.agent)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["message"]["status"], "not_delivered")
            r = self.srv.post("/v1/orders/%s/actions/unexpectedProblem" % o1,
                              {"text": "The manual in the box is for another model; the right one follows."},
                              self.fx.agent)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["message"]["status"], "delivered")  # critical
            r = self.srv.post("/v1/orders/%s/actions/warranty" % o2, cover, self.fx.s2)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["message"]["status"], "delivered")  # another seller
            # the seller cannot read the buyer's preferences
            self.assertError(self.srv.get("/v1/me/preferences", self.fx.agent), 403, "forbidden")
            self.assertError(self.srv.put("/v1/me/preferences", {"blocked_sellers": []}, self.fx.agent),
                             403, "forbidden")
            self.assertError(self.srv.put("/v1/me/preferences", {"blocked_sellers": "S1"}, self.fx.b2),
                             400, "wrong_type")
            self.assertError(self.srv.put("/v1/me/preferences", {"blocked_sellers": ["NO-SUCH"]}, self.fx.b2),
                             404, "not_found")
            self.assertError(self.srv.put("/v1/me/preferences", {"blocked_sellers": ["S2"] * 101}, self.fx.b2),
                             400, "too_many")
            self.assertError(self.srv.put("/v1/me/preferences", {}, self.fx.b2), 400, "missing_field")
            # opting out leaves the list as it was
            r = self.srv.put("/v1/me/preferences", {"opt_out": False}, self.fx.b2)
            self.assertEqual(r.json, {"opt_out": False, "blocked_sellers": ["S1"]})
        finally:
            r = self.srv.put("/v1/me/preferences", {"blocked_sellers": []}, self.fx.b2)
            self.assertEqual(r.json, {"opt_out": False, "blocked_sellers": []})
        r = self.srv.post("/v1/orders/%s/actions/warranty" % o1, cover, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["status"], "delivered")

    def test_orders_put_get_and_cancel(self):
        oid = "113-0000001-0000001"
        body = {"marketplace": MP, "seller": "S1", "buyer": "B2", "status": "shipped",
                "purchased_at": "2026-11-01T10:00:00Z", "shipped_at": "2026-11-02T10:00:00Z",
                "ship_country": "ES", "carrier": "Correos Express", "tracking_number": "CX-0042 77",
                "promised_delivery_at": "2026-11-06T23:59:59Z", "return_state": "requested",
                "items": [{"asin": "B0ORDER001", "title": "Hammer", "quantity": 2, "price": "12.50",
                           "currency": "USD"}]}
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertEqual(r.status, 201, r)
        o = r.json["order"]
        self.assertEqual(o["id"], oid)
        self.assertEqual(o["status"], "shipped")
        self.assertEqual(o["shipped_at"], "2026-11-02T10:00:00Z")
        self.assertEqual(o["items"][0]["asin"], "B0ORDER001")
        self.assertEqual(o["items"][0]["quantity"], 2)
        self.assertEqual(o["items"][0]["price"], "12.50")
        self.assertEqual((o["ship_country"], o["carrier"], o["tracking_number"], o["promised_delivery_at"],
                          o["return_state"]), ("ES", "Correos Express", "CX-0042 77", "2026-11-06T23:59:59Z", "requested"))
        for field, bad in (("ship_country", "es"), ("ship_country", "ESP"), ("carrier", "x" * 65), ("carrier", "a\nb"),
                           ("tracking_number", "<script>"), ("promised_delivery_at", "soon"), ("return_state", "lost")):
            r = self.srv.put("/v1/orders/113-0000001-0000009", dict(body, **{field: bad}), self.fx.operator)
            self.assertEqual(r.status, 400, (field, bad, r))
            self.assertIn(field.split("_")[0], r.json["error"]["message"])
        # the parties read it; others do not see it
        for tok in (self.fx.operator, self.fx.agent, self.fx.b2):
            g = self.srv.get("/v1/orders/" + oid, tok)
            self.assertEqual(g.status, 200, g)
            self.assertEqual(g.json["order"]["status"], "shipped")
        self.assertError(self.srv.get("/v1/orders/" + oid, self.fx.b1), 404, "not_found")
        self.assertError(self.srv.get("/v1/orders/" + oid, self.fx.s2), 404, "not_found")
        self.assertError(self.srv.get("/v1/orders/113-9999999-9999999", self.fx.operator), 404, "not_found")

        # only the operator writes orders
        self.assertError(self.srv.put("/v1/orders/" + oid, body, self.fx.agent), 403, "forbidden")
        self.assertError(self.srv.put("/v1/orders/" + oid, body, self.fx.b2), 403, "forbidden")

        # a thread, then delivery (update → 200), then cancelation
        t, _ = self.start_thread(self.fx.b2, oid, "shipping_delivery", "When will it arrive?")
        # the seller's team reads the buyer's language beside the thread; the buyer is not told
        self.assertEqual(self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["thread"]["buyer_locale"], "es-US")
        self.assertNotIn("buyer_locale", self.srv.get("/v1/threads/" + t["id"], self.fx.b2).json["thread"])
        self.send(self.fx.agent, t["id"], "Tomorrow.")
        body["status"] = "delivered"
        body["delivered_at"] = "2026-11-04T10:00:00Z"
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["order"]["status"], "delivered")
        self.assertEqual(r.json["order"]["delivered_at"], "2026-11-04T10:00:00Z")
        g = self.srv.get("/v1/threads/" + t["id"], self.fx.agent)
        self.assertEqual(g.json["order"]["status"], "delivered")

        # a question waits for an answer when the order is canceled: it leaves the clock,
        # and the thread leaves the inbox and the threads that need a response
        waiting = self.send(self.fx.b2, t["id"], "Can I still change the address?")
        body["status"] = "canceled"
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["order"]["status"], "canceled")
        g = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json
        self.assertTrue(g["thread"]["archived"], g["thread"])
        self.assertFalse(g["thread"].get("response_due_at"), g["thread"])
        m = [x for x in g["messages"] if x["id"] == waiting["id"]][0]
        self.assertTrue(m["no_response_needed"], m)
        need = self.list_threads(self.fx.agent, filter="response_needed", limit=100)["threads"]
        self.assertNotIn(t["id"], [x["id"] for x in need])
        self.assertError(self.srv.post("/v1/messages/%s/no-response-needed" % waiting["id"], {"value": False},
                                       self.fx.agent), 409, "order_canceled")
        before = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["messages"]
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "Is it canceled?"}, self.fx.b2)
        self.assertError(r, 409, "order_canceled")
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "Yes, it is."}, self.fx.agent)
        self.assertError(r, 409, "order_canceled")
        after = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["messages"]
        self.assertEqual(len(before), len(after))  # nothing stored
        # the thread itself stays readable as a record
        self.assertEqual(self.srv.get("/v1/threads/" + t["id"], self.fx.b2).status, 200)

        # a new thread on a canceled order is refused too
        oid2 = "113-0000002-0000002"
        body2 = dict(body, status="canceled")
        self.assertEqual(self.srv.put("/v1/orders/" + oid2, body2, self.fx.operator).status, 201)
        r = self.srv.post("/v1/threads", {"order_id": oid2, "topic": "other", "text": "hi"}, self.fx.b2)
        self.assertError(r, 409, "order_canceled")

    def test_order_put_invalid(self):
        good = {"marketplace": MP, "seller": "S1", "buyer": "B1", "status": "pending"}
        self.assertError(self.srv.put("/v1/orders/12-34", good, self.fx.operator), 400, "invalid_input")
        self.assertError(self.srv.put("/v1/orders/113-0000003-000000X", good, self.fx.operator), 400,
                         "invalid_input")
        self.assertError(self.srv.put("/v1/orders/113-0000003-0000003", dict(good, status="lost"),
                                      self.fx.operator), 400, "invalid_input")
        bad = dict(good)
        del bad["seller"]
        self.assertError(self.srv.put("/v1/orders/113-0000003-0000003", bad, self.fx.operator), 400,
                         "missing_field")
        self.assertError(self.srv.put("/v1/orders/113-0000003-0000003", dict(good, buyer=7),
                                      self.fx.operator), 400, "wrong_type")
        self.assertError(self.srv.put("/v1/orders/113-0000003-0000003", dict(good, purchased_at="yesterday"),
                                      self.fx.operator), 400, "invalid_input")
        self.assertError(self.srv.get("/v1/orders/113-0000003-0000003", self.fx.operator), 404, "not_found")

    # ---- export ------------------------------------------------------------------------

    def test_export(self):
        oid = self.new_order("B1", "S2")
        t, bm = self.start_thread(self.fx.b1, oid, "damaged_or_defective", "It arrived broken.")
        tid = t["id"]
        sm = self.send(self.fx.s2, tid, "Sorry, a replacement is on its way.")
        self.send(self.fx.b1, tid, "Thanks!")
        g = self.srv.get("/v1/threads/" + tid, self.fx.s2)
        last = g.json["messages"][-1]
        self.assertEqual(self.srv.post("/v1/messages/%s/no-response-needed" % last["id"], {"value": True},
                                       self.fx.s2).status, 200)
        self.assertEqual(self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.s2).status, 200)

        r = self.srv.get("/v1/threads/%s/export" % tid, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        ex = r.json
        self.assertEqual(ex["thread"]["id"], tid)
        self.assertEqual(ex["order"]["id"], oid)
        self.assertEqual([m["text"] for m in ex["messages"]],
                         ["It arrived broken.", "Sorry, a replacement is on its way.", "Thanks!"])
        self.assertIn("policy", ex["messages"][1])
        self.assertEqual(ex["messages"][1]["id"], sm["id"])
        # events: a status for each message and the flag
        kinds = [(e["type"], e["value"], e["message"]) for e in ex["events"]]
        for m in ex["messages"]:
            self.assertIn(("status", "delivered", m["id"]), kinds)
        self.assertIn(("flag", "true", last["id"]), kinds)
        for e in ex["events"]:
            self.assertRegex(e["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # audit: the actions, hashes as 64 hex digits, ids increasing, consecutive ids chain
        actions = [a["action"] for a in ex["audit"]]
        for want in ("message.buyer", "message.seller", "message.flag", "thread.archive"):
            self.assertIn(want, actions)
        prev = None
        for a in ex["audit"]:
            self.assertRegex(a["hash"], r"^[0-9a-f]{64}$")
            self.assertRegex(a["prev_hash"], r"^([0-9a-f]{64}|0{64}|)$")
            self.assertNotEqual(a["hash"], a["prev_hash"])
            if prev is not None:
                self.assertGreater(a["id"], prev["id"])
                if a["id"] == prev["id"] + 1:
                    self.assertEqual(a["prev_hash"], prev["hash"])
            prev = a
        self.assertEqual(len({a["hash"] for a in ex["audit"]}), len(ex["audit"]))
        # the export is itself audited: a second export lists the first
        r2 = self.srv.get("/v1/threads/%s/export" % tid, self.fx.operator)
        self.assertIn("thread.export", [a["action"] for a in r2.json["audit"]])
        # operator only
        for tok in (self.fx.s2, self.fx.b1, self.fx.agent):
            self.assertError(self.srv.get("/v1/threads/%s/export" % tid, tok), 403, "forbidden")
        self.assertError(self.srv.get("/v1/threads/T999999/export", self.fx.operator), 404, "not_found")

    def test_operator_reads_any_thread(self):
        oid = self.new_order("B1", "S2")
        t, _ = self.start_thread(self.fx.b1, oid, "other", "operator can see this")
        g = self.srv.get("/v1/threads/" + t["id"], self.fx.operator)
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.json["messages"][0]["text"], "operator can see this")
        self.assertIn(t["id"], [x["id"] for x in self.list_threads(self.fx.operator, limit=100)["threads"]])
        # the operator does not write in threads
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "hi"}, self.fx.operator)
        self.assertError(r, 403, "forbidden")

    # ---- policy check ------------------------------------------------------------------

    def test_policy_check(self):
        r = self.srv.post("/v1/policy/check", {"text": "Your order ships tomorrow."}, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.json["action"], ("deliver", "reject", "review"))
        self.assertIsInstance(r.json["findings"], list)
        self.assertIsInstance(r.json["categories"], list)
        self.assertIsInstance(r.json["engine"], str)
        for f in r.json["findings"]:
            for k in ("category", "rule", "start", "end", "text"):
                self.assertIn(k, f)
        r = self.srv.post("/v1/policy/check", {"text": "hello", "marketplace_id": MP}, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.srv.post("/v1/policy/check", {"text": "hello"}, self.fx.operator), 400,
                         "missing_field")
        self.assertError(self.srv.post("/v1/policy/check", {"text": "hello"}, self.fx.b1), 403, "forbidden")
        self.assertError(self.srv.post("/v1/policy/check", {"text": ""}, self.fx.agent), 400, "empty_text")
        self.assertError(self.srv.post("/v1/policy/check", {"text": 3}, self.fx.agent), 400, "wrong_type")
        self.assertError(self.srv.post("/v1/policy/check", {"text": "x" * 5001}, self.fx.agent), 422,
                         "text_too_long")


if __name__ == "__main__":
    main()
