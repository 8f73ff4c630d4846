# test_limits.py - every party has limits, and retries are safe: against a real `parley serve`,
# a template that would render megabytes, a buyer who floods a thread or starts conversation
# after conversation, buyers and sellers who upload without end, uploads never attached, a
# thread too long to send at once, and clients that retry a creating request.
import os
import tempfile
import time
import unittest
import uuid

from parley_harness import (MP, BACKEND, Fixture, Server, ServerCase, Store, agent_token,
                            buyer_token, import_lines, main, order_line, poll)

# Small limits, set through the marketplace's settings (docs/rules.md, "Limits").
LIMITS = {"rate_per_second": 1000, "rate_burst": 1000,
          "buyer_messages_per_minute": 4, "buyer_messages_per_day": 1000,
          "buyer_threads_per_minute": 2, "buyer_threads_per_day": 1000,
          "buyer_uploads_per_hour": 3, "buyer_upload_bytes_per_day": 1000000,
          "seller_uploads_per_hour": 5, "seller_upload_bytes_per_day": 200000}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class LimitsCase(ServerCase):
    own_store = True
    fixture_kw = {"settings": LIMITS}

    @classmethod
    def setUpClass(cls):
        cls.files = tempfile.mkdtemp(prefix="parley-limits-files-")
        # 10 s: far above what an upload and the send that attaches it take on a busy machine,
        # so that no attached file is swept as unattached before its message is written
        cls.server_args = ("--files", cls.files, "--unattached-max-age", "10")
        super().setUpClass()

    def assertLimited(self, r, code):
        self.assertError(r, 429, code)
        self.assertIn("retry-after", r.headers)
        self.assertGreaterEqual(int(r.headers["retry-after"]), 1)


class RenderCap(LimitsCase):
    def template(self, text):
        r = self.srv.post("/v1/templates", {"name": "Huge %s" % uuid.uuid4().hex[:8], "purpose": "shipped",
                                            "variants": {"en": text}}, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        return r.json["template"]["id"]

    def test_huge_values_are_refused_quickly_and_memory_stays_small(self):
        tpl = self.template("Tracking: " + "[TRACKING] " * 400)
        oid = self.fx.orders["B1/S1"][0]
        before = rss_kib(self.srv.proc.pid)
        # 400 placeholders filled with ~900 KB each would be 360 MB of text.
        big = "x" * 900000
        for _ in range(3):
            r = self.srv.post("/v1/templates/%s/render" % tpl,
                              {"order_id": oid, "values": {"TRACKING": big}}, self.fx.read_only)
            self.assertError(r, 422, "rendered_text_too_long")
        # just past a message's length: the cap itself, not the input bound, answers
        r = self.srv.post("/v1/templates/%s/render" % tpl,
                          {"order_id": oid, "values": {"TRACKING": "y" * 20}}, self.fx.read_only)
        self.assertError(r, 422, "rendered_text_too_long")
        self.assertIn("5000", r.json["error"]["message"])
        # within the cap it renders
        r = self.srv.post("/v1/templates/%s/render" % tpl,
                          {"order_id": oid, "values": {"TRACKING": "T1"}}, self.fx.read_only)
        self.assertEqual(r.status, 200, r)
        after = rss_kib(self.srv.proc.pid)
        self.assertLess(after - before, 64 * 1024, "the server grew by %d KiB" % (after - before))
        self.assertEqual(self.srv.get("/healthz").status, 200)


class BuyerMessages(LimitsCase):
    def test_messages_per_minute(self):
        oid = self.fx.orders["B1/S1"][1]
        t, _ = self.start_thread(self.fx.b1, oid)  # the first message of the minute
        sent = 1
        last = None
        for i in range(10):
            last = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "again %d" % i}, self.fx.b1)
            if last.status != 201:
                break
            sent += 1
        self.assertEqual(sent, LIMITS["buyer_messages_per_minute"])
        self.assertLimited(last, "message_limit_exceeded")
        # nothing refused was stored
        r = self.srv.get("/v1/threads/%s" % t["id"], self.fx.b1)
        self.assertEqual(len(r.json["messages"]), sent)
        # another buyer is not limited by the first
        oid2 = self.fx.orders["B2/S1"][0]
        self.start_thread(self.fx.b2, oid2)

    def test_thread_starts_per_minute(self):
        orders = [self.new_order("B2", "S1") for _ in range(4)]
        codes = []
        for oid in orders[:3]:
            r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "Hello"}, self.fx.b2)
            codes.append(r.status)
            if r.status != 201:
                self.assertLimited(r, "thread_limit_exceeded")
        # b2 started one thread in the other test at most; the limit is 2 a minute
        self.assertIn(429, codes)
        self.assertEqual(codes[0], 201)

    def test_refused_requests_are_not_counted(self):
        # a request that fails validation takes nothing from the buyer's limits
        for _ in range(10):
            r = self.srv.post("/v1/threads", {"order_id": "bad", "topic": "other", "text": "x"}, self.fx.b1)
            self.assertEqual(r.status, 400, r)


class Uploads(LimitsCase):
    def upload(self, data, token):
        return self.srv.request("POST", "/v1/attachments?name=n.txt", raw=data, token=token)

    def test_buyer_uploads_per_hour(self):
        codes = []
        for i in range(5):
            r = self.upload(b"buyer note %d\n" % i, self.fx.b2)
            codes.append(r.status)
            if r.status == 429:
                self.assertLimited(r, "upload_limit_exceeded")
        self.assertEqual(codes[:LIMITS["buyer_uploads_per_hour"]], [201] * LIMITS["buyer_uploads_per_hour"])
        self.assertEqual(codes[LIMITS["buyer_uploads_per_hour"]:], [429] * (5 - LIMITS["buyer_uploads_per_hour"]))

    def test_seller_bytes_per_day(self):
        # 200 KB a day for S2's agents together: a 150 KB file passes, the next does not
        r = self.upload(b"a" * 150000, self.fx.s2)
        self.assertEqual(r.status, 201, r)
        r = self.upload(b"b" * 60000, self.fx.s2)
        self.assertLimited(r, "upload_limit_exceeded")
        self.assertIn("bytes", r.json["error"]["message"])
        # a small one still fits
        r = self.upload(b"c" * 1000, self.fx.s2)
        self.assertEqual(r.status, 201, r)

    def test_unattached_uploads_are_removed(self):
        oid = self.fx.orders["B1/S1"][2]
        t, _ = self.start_thread(self.fx.b1, oid, text="Please send the notes.")
        kept = self.upload(b"shared content, attached\n", self.fx.agent)
        self.assertEqual(kept.status, 201, kept)
        lone = self.upload(b"shared content, attached\n", self.fx.owner)  # same bytes, another record
        self.assertEqual(lone.status, 201, lone)
        gone = self.upload(b"never attached\n", self.fx.agent)
        self.assertEqual(gone.status, 201, gone)
        r = self.srv.post("/v1/threads/%s/messages" % t["id"],
                          {"text": "Here they are.", "attachments": [kept.json["attachment"]["id"]]}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        lone_id, gone_id = lone.json["attachment"]["id"], gone.json["attachment"]["id"]
        # the server removes unattached uploads after --unattached-max-age (10 s here)
        self.assertTrue(poll(lambda: self.srv.get("/v1/attachments/" + gone_id, self.fx.agent).status == 404),
                        "the unattached upload was not removed")
        self.assertTrue(poll(lambda: self.srv.get("/v1/attachments/" + lone_id, self.fx.owner).status == 404))
        # the attached one stays, with its bytes (which the removed record shared)
        r = self.srv.get("/v1/attachments/" + kept.json["attachment"]["id"], self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"shared content, attached\n")
        sha_files = [f for _, _, fs in os.walk(self.files) for f in fs if len(f) == 64]
        self.assertEqual(len(sha_files), len(set(sha_files)))
        import hashlib
        self.assertNotIn(hashlib.sha256(b"never attached\n").hexdigest(), sha_files)
        self.assertIn(hashlib.sha256(b"shared content, attached\n").hexdigest(), sha_files)


class Pagination(LimitsCase):
    fixture_kw = {"settings": dict(LIMITS, buyer_messages_per_minute=0)}

    def test_pages(self):
        oid = self.fx.orders["B1/S2"][0]
        t, first = self.start_thread(self.fx.b1, oid, text="message 0")
        ids = [first["id"]]
        for i in range(1, 12):
            ids.append(self.send(self.fx.b1, t["id"], "message %d" % i)["id"])
        path = "/v1/threads/%s" % t["id"]
        r = self.srv.get(path, self.fx.b1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([m["id"] for m in r.json["messages"]], ids)
        self.assertIsNone(r.json["page"]["older"])
        self.assertEqual(r.json["page"]["limit"], 50)
        # newest page first, then what the client needs for the one before
        seen = []
        r = self.srv.get(path + "?limit=5", self.fx.b1)
        while True:
            self.assertEqual(r.status, 200, r)
            seen = [m["id"] for m in r.json["messages"]] + seen
            older = r.json["page"]["older"]
            if older is None:
                break
            self.assertLessEqual(len(r.json["messages"]), 5)
            r = self.srv.get(path + "?limit=5&before=" + older, self.fx.b1)
        self.assertEqual(seen, ids)
        other = self.start_thread(self.fx.b1, self.fx.orders["B1/S2"][1], text="another thread")[1]["id"]
        for bad in ("limit=0", "limit=201", "limit=abc", "limit=", "before=12", "before=Mx",
                    "before=M999999999", "before=" + t["id"], "before=" + other):
            self.assertError(self.srv.get(path + "?" + bad, self.fx.b1), 400, "invalid_page")
        self.assertEqual(self.srv.get(path + "?limit=200", self.fx.b1).status, 200)
        # a page counts what the caller sees: the seller's internal notes are not the buyer's
        r = self.srv.post(path + "/notes", {"text": "internal: check stock"}, self.fx.s2)
        self.assertEqual(r.status, 201, r)
        note = r.json["note"]["id"] if "note" in r.json else r.json["message"]["id"]
        r = self.srv.get(path + "?limit=3", self.fx.b1)
        self.assertEqual([m["id"] for m in r.json["messages"]], ids[-3:])
        r = self.srv.get(path + "?limit=3", self.fx.s2)
        self.assertEqual([m["id"] for m in r.json["messages"]], ids[-2:] + [note])
        self.assertError(self.srv.get(path + "?before=" + note, self.fx.b1), 400, "invalid_page")
        self.assertEqual(self.srv.get(path + "?before=" + note, self.fx.s2).json["messages"][-1]["id"], ids[-1])


class Idempotency(LimitsCase):
    fixture_kw = {"settings": dict(LIMITS, buyer_messages_per_minute=0, buyer_threads_per_minute=0)}

    def post(self, path, body, token, key):
        return self.srv.post(path, body, token, headers={"Idempotency-Key": key})

    def test_retry_returns_the_first_answer_and_stores_once(self):
        oid = self.fx.orders["B1/S1"][3]
        key = str(uuid.uuid4())
        a = self.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "Only once"}, self.fx.b1, key)
        self.assertEqual(a.status, 201, a)
        b = self.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "Only once"}, self.fx.b1, key)
        self.assertEqual(b.status, 201, b)
        self.assertEqual(b.json, a.json)
        self.assertEqual(b.headers.get("idempotent-replayed"), "true")
        tid = a.json["thread"]["id"]
        mkey = str(uuid.uuid4())
        m1 = self.post("/v1/threads/%s/messages" % tid, {"text": "sent twice?"}, self.fx.b1, mkey)
        m2 = self.post("/v1/threads/%s/messages" % tid, {"text": "sent twice?"}, self.fx.b1, mkey)
        self.assertEqual(m1.status, 201, m1)
        self.assertEqual((m2.status, m2.json), (201, m1.json))
        msgs = self.srv.get("/v1/threads/%s" % tid, self.fx.b1).json["messages"]
        self.assertEqual([m["text"] for m in msgs], ["Only once", "sent twice?"])
        # the same key with another body is refused, and stores nothing
        c = self.post("/v1/threads/%s/messages" % tid, {"text": "something else"}, self.fx.b1, mkey)
        self.assertError(c, 422, "idempotency_key_reused")
        self.assertEqual(len(self.srv.get("/v1/threads/%s" % tid, self.fx.b1).json["messages"]), 2)
        # another principal with the same key is independent
        d = self.post("/v1/threads/%s/messages" % tid, {"text": "sent twice?"}, self.fx.agent, mkey)
        self.assertEqual(d.status, 201, d)
        self.assertNotEqual(d.json["message"]["id"], m1.json["message"]["id"])
        self.assertEqual(len(self.srv.get("/v1/threads/%s" % tid, self.fx.b1).json["messages"]), 3)

    def test_failed_requests_answer_the_same_and_bad_keys_are_refused(self):
        # nothing was stored under the key: the retry runs again, with the same answer
        key = str(uuid.uuid4())
        a = self.post("/v1/threads", {"order_id": "bad", "topic": "other", "text": "x"}, self.fx.b2, key)
        self.assertError(a, 400, "invalid_input")
        b = self.post("/v1/threads", {"order_id": "bad", "topic": "other", "text": "x"}, self.fx.b2, key)
        # the same answer, but for its request id: each run names its own (X-Request-Id)
        for r in (a, b):
            self.assertEqual(r.json["error"].pop("request_id"), r.headers["x-request-id"])
        self.assertEqual((b.status, b.json), (a.status, a.json))
        for bad in ("", "a" * 256, "with space"):
            r = self.post("/v1/threads", {"order_id": "bad"}, self.fx.b2, bad)
            if bad == "":
                continue  # an empty header is not sent by http.client as a key
            self.assertError(r, 400, "invalid_idempotency_key")

    def test_upload_retry_keeps_one_record(self):
        key = str(uuid.uuid4())
        h = {"Idempotency-Key": key}
        a = self.srv.request("POST", "/v1/attachments?name=r.txt", raw=b"retry me\n", token=self.fx.agent, headers=h)
        b = self.srv.request("POST", "/v1/attachments?name=r.txt", raw=b"retry me\n", token=self.fx.agent, headers=h)
        self.assertEqual(a.status, 201, a)
        self.assertEqual((b.status, b.json), (201, a.json))
        c = self.srv.request("POST", "/v1/attachments?name=r.txt", raw=b"other bytes\n", token=self.fx.agent, headers=h)
        self.assertError(c, 422, "idempotency_key_reused")

    def test_concurrent_retries_create_once(self):
        import concurrent.futures
        oid = self.new_order("B2", "S1")
        key = str(uuid.uuid4())
        body = {"order_id": oid, "topic": "other", "text": "concurrent"}
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            rs = list(pool.map(lambda _: self.post("/v1/threads", body, self.fx.b2, key), range(6)))
        created = [r for r in rs if r.status == 201]
        self.assertTrue(created, rs)
        # every request got the first answer or "still in use", never "already exists"
        for r in rs:
            self.assertIn(r.status, (201, 409), r)
            if r.status == 409:
                self.assertEqual(r.json["error"]["code"], "idempotency_key_in_use")
        self.assertEqual(len({r.json["thread"]["id"] for r in created}), 1)
        threads = self.list_threads(self.fx.b2, order_id=oid)["threads"]
        self.assertEqual(len(threads), 1)


class SpapiIdempotency(LimitsCase):
    """The SP-API creates take the key too, with the caller of the x-amz-access-token."""
    fixture_kw = {"settings": dict(LIMITS, buyer_messages_per_minute=0)}

    def test_action_retry_sends_once(self):
        import json
        from urllib.parse import urlencode
        from parley_harness import run_cli
        p = run_cli(["admin", "spapi-credentials", "--seller", "S1"], self.store)
        self.assertEqual(p.returncode, 0, p.stderr)
        c = json.loads(p.stdout)
        body = urlencode({"grant_type": "refresh_token", "refresh_token": c["refresh_token"],
                          "client_id": c["client_id"], "client_secret": c["client_secret"]})
        form = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
                "Idempotency-Key": str(uuid.uuid4())}  # the token grant ignores it
        r = self.srv.request("POST", "/auth/o2/token", raw=body.encode(), headers=form)
        self.assertEqual(r.status, 200, r)
        tok = r.json["access_token"]
        oid = "118-0000001-0000001"
        order = order_line(oid, "S1", "B1", status="shipped")
        del order["type"], order["id"], order["delivered_at"]
        from datetime import datetime, timezone
        ago = lambda d: datetime.fromtimestamp(time.time() - d * 86400, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        order["purchased_at"], order["shipped_at"] = ago(3), ago(1)
        r = self.srv.put("/v1/orders/" + oid, order, self.fx.operator)
        self.assertEqual(r.status, 201, r)
        path = "/messaging/v1/orders/%s/messages/confirmDeliveryDetails?marketplaceIds=%s" % (oid, MP)
        h = {"x-amz-access-token": tok, "Idempotency-Key": str(uuid.uuid4())}
        a = self.srv.request("POST", path, body={"text": "Delivery is on Tuesday."}, headers=h)
        b = self.srv.request("POST", path, body={"text": "Delivery is on Tuesday."}, headers=h)
        self.assertEqual(a.status, 201, a)
        self.assertEqual((b.status, b.body), (201, a.body))
        self.assertEqual(b.headers.get("idempotent-replayed"), "true")
        threads = self.srv.get("/v1/threads?order_id=" + oid, self.fx.owner).json["threads"]
        msgs = self.srv.get("/v1/threads/" + threads[0]["id"], self.fx.owner).json["messages"]
        self.assertEqual([m["text"] for m in msgs], ["Delivery is on Tuesday."])


class OutOfMemory(ServerCase):
    """Fallible allocations of 256 KiB and more fail (PARLEY_TEST_ALLOC_FAIL_FROM): a view
    that large is answered 503 out_of_memory, and the server goes on for everyone."""
    own_store = True
    fixture_kw = {"settings": {"rate_per_second": 1000, "rate_burst": 1000}}

    @classmethod
    def setUpClass(cls):
        os.environ["PARLEY_TEST_ALLOC_FAIL_FROM"] = str(256 * 1024)
        try:
            super().setUpClass()
        finally:
            del os.environ["PARLEY_TEST_ALLOC_FAIL_FROM"]

    def test_large_view_is_503_not_an_abort(self):
        oid = self.fx.orders["B1/S1"][0]
        t, _ = self.start_thread(self.fx.b1, oid, text="start")
        text = "z" * 4900
        for _ in range(60):  # about 300 KB of JSON at 200 a page
            self.send(self.fx.b1, t["id"], text)
        r = self.srv.get("/v1/threads/%s?limit=200" % t["id"], self.fx.b1)
        self.assertError(r, 503, "out_of_memory")
        self.assertIn("retry-after", r.headers)
        # a smaller page fits, and the process is alive for every tenant
        self.assertEqual(self.srv.get("/v1/threads/%s?limit=10" % t["id"], self.fx.b1).status, 200)
        self.assertEqual(self.srv.get("/healthz").status, 200)
        self.assertIsNone(self.srv.proc.poll())

    def test_large_body_is_503_not_an_abort(self):
        oid = self.fx.orders["B1/S1"][1]
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "x" * 600000}, self.fx.b1)
        self.assertError(r, 503, "out_of_memory")
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "a normal question"}, self.fx.b1)
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(self.srv.proc.poll())


MP2 = "A1F83G8C2ARO7P"
MP2_ORDER = "115-0000001-0000001"


class MarketplaceSizes(ServerCase):
    """A message's length and a file's size are the marketplace's (docs/rules.md, "Limits"):
    here 100 characters and 4,000 bytes, and 8,000 characters in a second marketplace."""
    own_store = True
    fixture_kw = {"settings": {"rate_per_second": 1000, "rate_burst": 1000, "text_chars": 100,
                               "attachment_bytes": 4000},
                  "extra_lines": [
                      {"type": "marketplace", "id": MP2, "name": "Example UK", "domains": ["example.co.uk"],
                       "locale": "en-GB", "settings": {"text_chars": 8000, "rate_per_second": 1000,
                                                       "rate_burst": 1000}},
                      {"type": "seller", "id": "S9", "marketplace": MP2, "name": "UK Shop",
                       "email": "shop@uk-shop.test"},
                      order_line(MP2_ORDER, "S9", "B1", mp=MP2)]}

    @classmethod
    def setUpClass(cls):
        cls.server_args = ("--files", tempfile.mkdtemp(prefix="parley-sizes-files-"))
        super().setUpClass()
        cls.s9 = agent_token(cls.store, "S9", "Uma UK")

    def test_meta_tells_each_marketplace_its_limits(self):
        self.assertEqual(self.srv.get("/v1/meta").json["limits"]["text_chars"], 5000)
        lim = self.srv.get("/v1/meta?marketplace=" + MP).json["limits"]
        self.assertEqual((lim["text_chars"], lim["attachment_bytes"]), (100, 4000))
        lim = self.srv.get("/v1/meta?marketplace=" + MP2).json["limits"]
        self.assertEqual((lim["text_chars"], lim["attachment_bytes"]), (8000, 10000000))
        self.assertError(self.srv.get("/v1/meta?marketplace=NOPE"), 404, "not_found")

    def test_text_over_the_marketplaces_length_is_refused(self):
        oid = self.fx.orders["B1/S1"][0]
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "é" * 101}, self.fx.b1)
        self.assertError(r, 422, "text_too_long")
        self.assertIn("101", r.json["error"]["message"])
        self.assertIn("100", r.json["error"]["message"])
        t, _ = self.start_thread(self.fx.b1, oid, text="é" * 100)
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "a" * 101}, self.fx.agent)
        self.assertError(r, 422, "text_too_long")
        self.send(self.fx.agent, t["id"], "a" * 100)
        # the policy check and a message action count the same way
        self.assertError(self.srv.post("/v1/policy/check", {"text": "b" * 101}, self.fx.agent), 422, "text_too_long")
        # nothing refused was kept
        msgs = self.srv.get("/v1/threads/" + t["id"], self.fx.agent).json["messages"]
        self.assertEqual([len(m["text"]) for m in msgs], [100, 100])

    def test_a_marketplace_may_allow_longer_messages(self):
        t, _ = self.start_thread(self.fx.b1, MP2_ORDER, text="c" * 6000)
        self.send(self.s9, t["id"], "d" * 8000)
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "e" * 8001}, self.s9)
        self.assertError(r, 422, "text_too_long")
        self.assertIn("8000", r.json["error"]["message"])
        # past what any marketplace may allow, the answer does not depend on the marketplace
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "f" * 20001}, self.s9)
        self.assertError(r, 422, "text_too_long")

    def test_files_over_the_marketplaces_size_are_refused(self):
        up = lambda data, tok: self.srv.request("POST", "/v1/attachments?name=n.txt", raw=data, token=tok)
        r = up(b"a" * 4001, self.fx.agent)
        self.assertError(r, 413, "payload_too_large")
        self.assertIn("4000", r.json["error"]["message"])
        self.assertEqual(up(b"a" * 4000, self.fx.agent).status, 201)
        # the other marketplace keeps the default 10 MB
        self.assertEqual(up(b"c" * 4001, self.s9).status, 201)
        # a buyer's upload is measured against the marketplace of their latest order (here
        # the second one), and again against the thread's when it is attached
        r = up(b"b" * 4001, self.fx.b1)
        self.assertEqual(r.status, 201, r)
        t, _ = self.start_thread(self.fx.b1, self.fx.orders["B1/S1"][1], text="A photo of the box")
        r = self.srv.post("/v1/threads/%s/messages" % t["id"],
                          {"text": "here it is", "attachments": [r.json["attachment"]["id"]]}, self.fx.b1)
        self.assertError(r, 413, "payload_too_large")
        self.assertIn("4000", r.json["error"]["message"])


if __name__ == "__main__":
    main()
