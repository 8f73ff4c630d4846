# test_errors.py - every documented error of the JSON API, its status and code, and tenant isolation.
import http.client
import time
import unittest

from parley_harness import HOST, MP, FastCase, admin, agent_token, import_lines, main, order_line


class Errors(FastCase):

    def setUp(self):
        # a thread of B1 with S1, with one buyer message and one seller reply
        self.oid = self.new_order("B1", "S1")
        self.t, self.bm = self.start_thread(self.fx.b1, self.oid, "other", "a question")
        self.tid = self.t["id"]
        self.sm = self.send(self.fx.agent, self.tid, "an answer")

    def texts(self):
        g = self.srv.get("/v1/threads/" + self.tid, self.fx.operator)
        return [m["text"] for m in g.json["messages"]]

    # ---- 401 ---------------------------------------------------------------------------

    def test_401(self):
        for path in ("/v1/me", "/v1/threads", "/v1/threads/" + "T1", "/v1/orders/" + self.oid):
            r = self.srv.get(path)
            self.assertError(r, 401, "unauthorized")
            self.assertTrue(r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers)
        for bad in ("nonsense", "plb_" + "A" * 43, self.fx.b1 + "x", self.fx.b1[:-1], "", "x" * 300):
            self.assertError(self.srv.get("/v1/me", bad), 401, "unauthorized")
        # other schemes are not bearer tokens
        r = self.srv.get("/v1/me", headers={"Authorization": "Basic " + self.fx.b1})
        self.assertError(r, 401, "unauthorized")
        r = self.srv.get("/v1/me", headers={"Authorization": self.fx.b1})
        self.assertError(r, 401, "unauthorized")
        # the scheme name is case-insensitive
        r = self.srv.get("/v1/me", headers={"Authorization": "bearer " + self.fx.b1})
        self.assertEqual(r.status, 200, r)
        # a POST without a token stores nothing
        r = self.srv.post("/v1/threads/%s/messages" % self.tid, {"text": "anonymous"})
        self.assertError(r, 401, "unauthorized")
        self.assertNotIn("anonymous", self.texts())

    def test_401_expired_token(self):
        tok = admin(self.store, "token", "create", "--buyer", "B1", "--expires-in", "1")
        first = self.srv.get("/v1/me", tok).status
        self.assertIn(first, (200, 401))
        deadline = time.monotonic() + 5
        r = None
        while time.monotonic() < deadline:  # polls until the token's second has passed
            r = self.srv.get("/v1/me", tok)
            if r.status == 401:
                break
            time.sleep(0.1)
        self.assertError(r, 401, "token_expired")

    # ---- 403 ---------------------------------------------------------------------------

    def test_403(self):
        order = {"marketplace": MP, "seller": "S1", "buyer": "B1", "status": "pending"}
        cases = [
            (self.fx.b1, "PUT", "/v1/orders/116-0000001-0000001", order),
            (self.fx.agent, "PUT", "/v1/orders/116-0000001-0000001", order),
            (self.fx.b1, "GET", "/v1/threads/%s/export" % self.tid, None),
            (self.fx.agent, "GET", "/v1/threads/%s/export" % self.tid, None),
            (self.fx.owner, "GET", "/v1/threads/%s/export" % self.tid, None),
            (self.fx.read_only, "POST", "/v1/threads/%s/messages" % self.tid, {"text": "read only"}),
            (self.fx.read_only, "POST", "/v1/threads/%s/archive" % self.tid, None),
            (self.fx.read_only, "POST", "/v1/messages/%s/no-response-needed" % self.bm["id"], {"value": True}),
            (self.fx.agent, "POST", "/v1/threads", {"order_id": self.new_order("B1", "S1"), "topic": "other",
                                                    "text": "seller starts"}),
            (self.fx.operator, "POST", "/v1/threads", {"order_id": self.new_order("B1", "S1"), "topic": "other",
                                                       "text": "operator starts"}),
            (self.fx.operator, "POST", "/v1/threads/%s/messages" % self.tid, {"text": "operator writes"}),
            (self.fx.b1, "POST", "/v1/threads/%s/archive" % self.tid, None),
            (self.fx.b1, "POST", "/v1/threads/%s/unarchive" % self.tid, None),
            (self.fx.b1, "POST", "/v1/messages/%s/no-response-needed" % self.bm["id"], {"value": True}),
            (self.fx.b1, "POST", "/v1/policy/check", {"text": "hello"}),
        ]
        for tok, method, path, body in cases:
            r = self.srv.request(method, path, body=body, token=tok)
            self.assertError(r, 403, "forbidden")
        self.assertEqual(self.texts(), ["a question", "an answer"])
        self.assertError(self.srv.get("/v1/orders/116-0000001-0000001", self.fx.operator), 404, "not_found")
        # the read-only agent reads
        self.assertEqual(self.srv.get("/v1/threads/" + self.tid, self.fx.read_only).status, 200)

    # ---- 404 and tenant isolation ------------------------------------------------------

    def test_404_unknown_paths(self):
        for path in ("/v1/nothing", "/v1", "/v1/threads/%s/bogus" % self.tid, "/v1/threads/%s/messages/x/y" % self.tid,
                     "/nothing", "/v2/threads", "/v1/messages/%s" % self.bm["id"]):
            for tok in (None, self.fx.agent):
                r = self.srv.get(path, tok)
                self.assertEqual(r.status, 404, (path, r))
                if path.startswith("/v1"):
                    self.assertError(r, 404, "not_found")
        for ref in ("T999999", "T0", "T-1", "abc", "1", "T1x", "M1", "T99999999999999999999999"):
            self.assertError(self.srv.get("/v1/threads/" + ref, self.fx.operator), 404, "not_found")
        self.assertError(self.srv.post("/v1/threads/T999999/messages", {"text": "x"}, self.fx.b1), 404, "not_found")
        self.assertError(self.srv.post("/v1/messages/X1/no-response-needed", {"value": True}, self.fx.agent),
                         404, "not_found")

    def test_404_other_tenant(self):
        """Another seller's agent and another buyer see B1/S1's thread exactly as a missing one."""
        tid, mid = self.tid, self.bm["id"]
        for tok in (self.fx.s2, self.fx.b2):
            missing = self.srv.get("/v1/threads/T999999", tok)
            r = self.srv.get("/v1/threads/" + tid, tok)
            self.assertError(r, 404, "not_found")
            self.assertEqual(missing.status, 404)
            # the message does not name the thread differently from a missing one
            self.assertNotIn("a question", r.body.decode())
            self.assertError(self.srv.post("/v1/threads/%s/messages" % tid, {"text": "intruder"}, tok), 404,
                             "not_found")
            self.assertError(self.srv.post("/v1/threads/%s/read" % tid, None, tok), 404, "not_found")
            self.assertError(self.srv.get("/v1/orders/" + self.oid, tok), 404, "not_found")
            self.assertNotIn(tid, [t["id"] for t in self.list_threads(tok, limit=100)["threads"]])
            self.assertEqual(self.list_threads(tok, order_id=self.oid)["threads"], [])
            self.assertEqual(self.list_threads(tok, q="question")["threads"], [])
        for path, body in (("/v1/threads/%s/archive" % tid, None), ("/v1/threads/%s/unarchive" % tid, None),
                           ("/v1/messages/%s/no-response-needed" % mid, {"value": True})):
            self.assertError(self.srv.post(path, body, self.fx.s2), 404, "not_found")
        # export is the operator's only, whoever asks
        self.assertError(self.srv.get("/v1/threads/%s/export" % tid, self.fx.s2), 403, "forbidden")
        self.assertError(self.srv.get("/v1/threads/%s/export" % tid, self.fx.b2), 403, "forbidden")
        # B2 cannot start a thread on B1's order
        r = self.srv.post("/v1/threads", {"order_id": self.new_order("B1", "S1"), "topic": "other", "text": "mine?"},
                          self.fx.b2)
        self.assertError(r, 404, "not_found")
        # nothing changed
        self.assertEqual(self.texts(), ["a question", "an answer"])
        g = self.srv.get("/v1/threads/" + tid, self.fx.agent)
        self.assertFalse(g.json["thread"]["archived"])
        self.assertFalse(g.json["messages"][0]["no_response_needed"])

    # ---- 409 ---------------------------------------------------------------------------

    def test_409_order_of_another_party(self):
        body = {"marketplace": MP, "seller": "S1", "buyer": "B2", "status": "shipped"}
        self.assertError(self.srv.put("/v1/orders/" + self.oid, body, self.fx.operator), 409, "conflict")
        self.assertError(self.srv.put("/v1/orders/" + self.oid, dict(body, buyer="B1", seller="S2"),
                                      self.fx.operator), 409, "conflict")
        self.assertEqual(self.srv.get("/v1/orders/" + self.oid, self.fx.b1).json["order"]["seller"], "S1")

    def test_409_nothing_to_answer(self):
        """A seller cannot open a conversation in a thread whose buyer never wrote."""
        oid = "117-0000001-0000001"
        p = import_lines(self.store, [
            order_line(oid, "S1", "B1"),
            {"type": "message", "id": "only-seller", "order": oid, "from": "seller", "at": "2026-10-05T09:00:00Z",
             "text": "imported seller note"}])
        self.assertEqual(p.returncode, 0, p.stderr)
        tid = self.list_threads(self.fx.agent, order_id=oid)["threads"][0]["id"]
        r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": "proactive"}, self.fx.agent)
        self.assertError(r, 409, "messaging_unavailable")
        # the buyer may write, and then the seller may answer
        self.send(self.fx.b1, tid, "hello?")
        self.send(self.fx.agent, tid, "hello!")

    # ---- 405 ---------------------------------------------------------------------------

    def test_405(self):
        cases = [("DELETE", "/v1/threads"), ("PUT", "/v1/threads"), ("POST", "/v1/me"), ("DELETE", "/v1/me"),
                 ("PUT", "/v1/threads/" + self.tid), ("POST", "/v1/threads/" + self.tid),
                 ("GET", "/v1/threads/%s/messages" % self.tid), ("GET", "/v1/threads/%s/read" % self.tid),
                 ("GET", "/v1/threads/%s/archive" % self.tid), ("POST", "/v1/threads/%s/export" % self.tid),
                 ("POST", "/v1/orders/" + self.oid), ("DELETE", "/v1/orders/" + self.oid),
                 ("GET", "/v1/policy/check"), ("GET", "/v1/messages/%s/no-response-needed" % self.bm["id"]),
                 ("PATCH", "/v1/threads/" + self.tid)]
        for method, path in cases:
            for tok in (None, self.fx.operator):
                r = self.srv.request(method, path, token=tok)
                self.assertError(r, 405, "method_not_allowed")
        self.assertEqual(self.texts(), ["a question", "an answer"])

    # ---- 400 ---------------------------------------------------------------------------

    def post_msg(self, raw=None, body=None, tok=None):
        return self.srv.post("/v1/threads/%s/messages" % self.tid, body, tok or self.fx.b1, raw=raw)

    def test_malformed_json(self):
        for raw in (b"{", b'{"text": "x"', b"not json", b"[1,2]", b'"a string"', b"null", b"42", b"",
                    b'{"text":"a","text":"b"}', b"{'text':'single quotes'}", b'{"text":"x"} trailing'):
            self.assertError(self.post_msg(raw=raw), 400, "malformed_json")
        for path, tok in (("/v1/threads", self.fx.b1), ("/v1/policy/check", self.fx.agent),
                          ("/v1/messages/%s/no-response-needed" % self.bm["id"], self.fx.agent)):
            self.assertError(self.srv.post(path, None, tok, raw=b"{oops"), 400, "malformed_json")
        self.assertError(self.srv.put("/v1/orders/" + self.oid, None, self.fx.operator, raw=b"[]"), 400,
                         "malformed_json")
        self.assertEqual(self.texts(), ["a question", "an answer"])

    def test_invalid_utf8(self):
        for raw in (b'{"text":"caf\xe9"}', b'{"text":"\xff\xfe"}', b'{"text":"\xc0\xaf"}',
                    b'{"text":"\xed\xa0\x80"}', b'{"text":"\xf4\x90\x80\x80"}', b'{"text":"ab\xe2\x82"}',
                    b'{"te\x80xt":"x"}'):
            self.assertError(self.post_msg(raw=raw), 400, "invalid_utf8")
        r = self.srv.post("/v1/threads", None, self.fx.b1,
                          raw=b'{"order_id":"%s","topic":"other","text":"\xff"}' % self.new_order("B1", "S1").encode())
        self.assertError(r, 400, "invalid_utf8")
        # an escaped lone surrogate is not text either
        r = self.post_msg(raw=b'{"text":"\\ud800"}')
        self.assertEqual(r.status, 400, r)
        self.assertIn(r.json["error"]["code"], ("invalid_utf8", "malformed_json"))
        self.assertEqual(self.texts(), ["a question", "an answer"])

    def test_wrong_type(self):
        for body in ({"text": 42}, {"text": ["a"]}, {"text": {"a": 1}}, {"text": True}, {"text": "x", "auto_reply": "no"},
                     {"text": "x", "auto_reply": 0}):
            self.assertError(self.post_msg(body=body, tok=self.fx.agent), 400, "wrong_type")
        oid = self.new_order("B1", "S1")
        for body in ({"order_id": 1120000000000000, "topic": "other", "text": "x"},
                     {"order_id": oid, "topic": 3, "text": "x"},
                     {"order_id": oid, "topic": "other", "text": 5},
                     {"asin": ["B0X"], "seller_id": "S1", "topic": "product_specifications", "text": "x"},
                     {"asin": "B0X", "seller_id": 1, "topic": "product_specifications", "text": "x"}):
            self.assertError(self.srv.post("/v1/threads", body, self.fx.b1), 400, "wrong_type")
        self.assertEqual(self.texts(), ["a question", "an answer"])

    def test_missing_field(self):
        self.assertError(self.post_msg(body={}), 400, "missing_field")
        self.assertError(self.post_msg(body={"auto_reply": False}, tok=self.fx.agent), 400, "missing_field")
        self.assertError(self.post_msg(body={"text": None}), 400, "missing_field")
        oid = self.new_order("B1", "S1")
        for body in ({"topic": "other", "text": "x"}, {"order_id": oid, "text": "x"},
                     {"order_id": oid, "topic": "other"},
                     {"asin": "B0X", "topic": "product_specifications", "text": "x"},
                     {"asin": "B0X", "seller_id": "S1", "text": "x"}, {}):
            self.assertError(self.srv.post("/v1/threads", body, self.fx.b1), 400, "missing_field")
        # nothing was started on the order
        self.assertEqual(self.list_threads(self.fx.b1, order_id=oid)["threads"], [])

    def test_empty_text(self):
        for text in ("", " ", "   \n\t  ", "\r\n"):
            self.assertError(self.post_msg(body={"text": text}), 400, "empty_text")
            self.assertError(self.post_msg(body={"text": text}, tok=self.fx.agent), 400, "empty_text")
        oid = self.new_order("B1", "S1")
        self.assertError(self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "  "},
                                       self.fx.b1), 400, "empty_text")
        self.assertEqual(self.texts(), ["a question", "an answer"])

    def test_empty_text_unicode_spaces(self):
        """White space is Unicode White_Space: a text of em and ideographic spaces is empty."""
        for text in ("\u00a0", "\u2003\u3000", "\u2028", "\u00a0\u2009 \u202f"):
            self.assertError(self.post_msg(body={"text": text}), 400, "empty_text")

    def test_invalid_input(self):
        oid = self.new_order("B1", "S1")
        for body in ({"order_id": oid, "topic": "nonsense", "text": "x"},
                     {"order_id": oid, "topic": "", "text": "x"},
                     {"order_id": oid, "topic": "OTHER", "text": "x"},
                     {"order_id": oid, "topic": "shipping_timeframes", "text": "x"},
                     {"asin": "B0X1", "seller_id": "S1", "topic": "other", "text": "x"},
                     {"order_id": oid, "asin": "B0X1", "seller_id": "S1", "topic": "other", "text": "x"}):
            self.assertError(self.srv.post("/v1/threads", body, self.fx.b1), 400, "invalid_input")
        self.assertEqual(self.list_threads(self.fx.b1, order_id=oid)["threads"], [])

    def test_invalid_order_id_format_put(self):
        r = self.srv.put("/v1/orders/112-123", {"marketplace": MP, "seller": "S1", "buyer": "B1",
                                                "status": "pending"}, self.fx.operator)
        self.assertError(r, 400, "invalid_input")

    def test_invalid_order_id_format_start(self):
        for bad in ("112-123", "1124839201556102", "112-4839201-556102X", "abc-defghij-klmnopq",
                    "112_4839201_5561023", "112-4839201-55610231", " 112-4839201-5561023"):
            r = self.srv.post("/v1/threads", {"order_id": bad, "topic": "other", "text": "x"}, self.fx.b1)
            self.assertError(r, 400, "invalid_input")

    def test_unknown_order_is_404(self):
        r = self.srv.post("/v1/threads", {"order_id": "199-0000000-0000000", "topic": "other", "text": "x"},
                          self.fx.b1)
        self.assertError(r, 404, "not_found")
        r = self.srv.post("/v1/threads", {"asin": "B0X1", "seller_id": "S404", "topic": "product_specifications",
                                          "text": "x"}, self.fx.b1)
        self.assertError(r, 404, "not_found")

    # ---- 422 text_too_long, counted in code points ------------------------------------

    def test_text_length_limit(self):
        for ch in ("a", "é", "€", "😀", "\u0301"):  # 1, 2, 3, 4 and 2 bytes a code point (the last combining)
            ok = ch * 5000
            m = self.send(self.fx.b1, self.tid, ok)  # buyer text: no policy verdict in the way
            self.assertEqual(m["text"], ok)
            self.assertEqual(len(m["text"]), 5000)
            r = self.post_msg(body={"text": ok + ch}, tok=self.fx.agent)
            self.assertError(r, 422, "text_too_long")
            self.assertIn("5001", r.json["error"]["message"])
            self.assertIn("5000", r.json["error"]["message"])
            r = self.post_msg(body={"text": ok + ch})
            self.assertError(r, 422, "text_too_long")
        # mixed widths
        mixed = ("aé€😀" * 1250)
        self.assertEqual(len(mixed), 5000)
        self.assertEqual(self.send(self.fx.b1, self.tid, mixed)["text"], mixed)
        self.assertError(self.post_msg(body={"text": mixed + "😀"}), 422, "text_too_long")
        # a thread's first message too
        r = self.srv.post("/v1/threads", {"order_id": self.new_order("B1", "S1"), "topic": "other",
                                          "text": "€" * 5001}, self.fx.b1)
        self.assertError(r, 422, "text_too_long")
        g = self.srv.get("/v1/threads/" + self.tid, self.fx.agent)
        for m in g.json["messages"]:
            self.assertLessEqual(len(m["text"]), 5000)

    # ---- 413 ---------------------------------------------------------------------------

    def test_413_default_limit(self):
        pad = "a" * (1024 * 1024)
        r = self.post_msg(raw=('{"text":"x","pad":"%s"}' % pad).encode())
        self.assertError(r, 413, "payload_too_large")
        # just under the limit is parsed (and then refused for the text length, not the size)
        raw = ('{"text":"%s"}' % ("b" * (1024 * 1024 - 20))).encode()
        self.assertLessEqual(len(raw), 1024 * 1024)
        self.assertError(self.post_msg(raw=raw), 422, "text_too_long")
        self.assertEqual(self.texts(), ["a question", "an answer"])
        # the server still answers afterwards
        self.assertEqual(self.srv.get("/healthz").status, 200)


class RateLimit(FastCase):
    """Seller sends in a marketplace with the default limits: 1 a second, bursts of 5."""

    def test_429(self):
        p = import_lines(self.store, [
            {"type": "marketplace", "id": "ARATELIMIT", "name": "Default limits", "domains": ["limits.test"],
             "locale": "en-US"},
            {"type": "seller", "id": "SR", "marketplace": "ARATELIMIT", "name": "Rate Seller"},
            order_line("117-0000009-0000009", "SR", "B1", mp="ARATELIMIT")])
        self.assertEqual(p.returncode, 0, p.stderr)
        agent = agent_token(self.store, "SR", "Fast Agent")
        t, _ = self.start_thread(self.fx.b1, "117-0000009-0000009", "other", "rate me")
        statuses, start = [], time.monotonic()
        for i in range(20):
            r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "reply number %d" % i}, agent)
            self.assertIn(r.status, (201, 429), r)
            self.assertIn("x-amzn-ratelimit-limit", r.headers)
            self.assertEqual(float(r.headers["x-amzn-ratelimit-limit"]), 1.0)
            statuses.append(r.status)
            if r.status == 429:
                self.assertError(r, 429, "rate_limited")
                # when to retry, for a client that does not read the message: the body
                # and the header say the same, at most the bucket's 1 s a token
                wait = r.json["error"]["retry_after"]
                self.assertIsInstance(wait, int)
                self.assertTrue(1 <= wait <= 1, r.json)
                self.assertEqual(r.headers["retry-after"], str(wait))
                self.assertNotIn("until", r.json["error"])
                self.assertEqual(r.json["error"]["request_id"], r.headers["x-request-id"])
                self.assertRegex(r.headers["x-request-id"], r"^[0-9a-f]{32}$")
                break
        elapsed = time.monotonic() - start
        self.assertIn(429, statuses)
        self.assertLessEqual(statuses.count(201), 5 + int(elapsed) + 1)
        self.assertGreaterEqual(statuses.count(201), 5)  # the burst
        # what was refused was not stored
        msgs = self.srv.get("/v1/threads/" + t["id"], agent).json["messages"]
        self.assertEqual(len(msgs), 1 + statuses.count(201))
        # buyers are not limited by the seller's bucket
        self.send(self.fx.b1, t["id"], "buyer still writes")


class SmallBodyLimit(FastCase):
    server_args = ("--max-body", "2000")

    def test_413_max_body(self):
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "short")
        path = "/v1/threads/%s/messages" % t["id"]
        ok = ('{"text":"%s"}' % ("c" * 1980)).encode()
        self.assertLessEqual(len(ok), 2000)
        self.assertEqual(self.srv.post(path, None, self.fx.b1, raw=ok).status, 201)
        big = ('{"text":"%s"}' % ("d" * 1990)).encode()
        self.assertGreater(len(big), 2000)
        self.assertError(self.srv.post(path, None, self.fx.b1, raw=big), 413, "payload_too_large")
        # without a Content-Length (chunked), the cap holds as well
        conn = http.client.HTTPConnection(HOST, self.srv.port, timeout=30)
        try:
            chunks = iter([big[:1000], big[1000:]])
            conn.request("POST", path, body=chunks, encode_chunked=True,
                         headers={"Authorization": "Bearer " + self.fx.b1, "Content-Type": "application/json"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 413)
            resp.read()
        finally:
            conn.close()
        g = self.srv.get("/v1/threads/" + t["id"], self.fx.b1)
        self.assertEqual(len(g.json["messages"]), 2)


if __name__ == "__main__":
    main()
