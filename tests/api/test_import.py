# test_import.py - `parley import` (docs/import.md) and `parley demo`, checked through the API.
import json
import os
import re
import unittest

from parley_harness import (BACKEND, SPEC_EXAMPLE, Server, Store, agent_token, buyer_token, import_lines, main,
                            operator_token, run_cli)

ORDER = "112-4839201-5561023"


class SpecExample(unittest.TestCase):
    """The example of docs/import.md imports as it stands and reads back as it was."""

    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        try:
            cls.proc = import_lines(cls.store, SPEC_EXAMPLE)
            cls.agent = agent_token(cls.store, "S1", "Agent")
            cls.buyer = buyer_token(cls.store, "B1")
            cls.operator = operator_token(cls.store)
            cls.srv = Server(cls.store).start()
        except BaseException:
            cls.store.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.store.cleanup()

    def get(self, path, tok):
        r = self.srv.get(path, tok)
        self.assertEqual(r.status, 200, r)
        return r.json

    def threads(self):
        # history from October: older than the inbox's default 60 days
        return self.get("/v1/threads?limit=100&all=true", self.agent)["threads"]

    def test_exit_status(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertIn("8 lines imported, 0 failed", self.proc.stderr)

    def test_order_thread(self):
        t = next(t for t in self.threads() if t["order_id"] == ORDER)
        self.assertEqual(t["topic"], "product_question")
        self.assertEqual(t["seller_id"], "S1")
        self.assertEqual(t["created_at"], "2026-10-05T09:00:00Z")
        self.assertEqual(t["last_message_at"], "2026-10-05T11:00:00Z")
        self.assertEqual(t["state"], "answered")
        body = self.get("/v1/threads/" + t["id"], self.agent)
        msgs = body["messages"]
        self.assertEqual([(m["from"], m["at"], m["text"]) for m in msgs],
                         [("buyer", "2026-10-05T09:00:00Z", "Does it come with a charger?"),
                          ("seller", "2026-10-05T11:00:00Z", "Yes, ...")])
        self.assertEqual([m["status"] for m in msgs], ["delivered", "delivered"])  # the default
        self.assertEqual(msgs[1]["kind"], "message")
        self.assertTrue(msgs[0]["no_response_needed"])  # the flag line
        self.assertEqual(msgs[0].get("import_id"), "M1")
        o = body["order"]
        self.assertEqual(o["status"], "delivered")
        self.assertEqual(o["purchased_at"], "2026-10-01T10:00:00Z")
        self.assertEqual(o["shipped_at"], "2026-10-02T08:00:00Z")
        self.assertEqual(o["delivered_at"], "2026-10-04T15:30:00Z")
        self.assertEqual(o["items"], [{"asin": "B0C1234567", "title": "Cordless drill", "quantity": 1,
                                       "price": "89.99", "currency": "USD"}])
        # the buyer sees the same history
        b = self.get("/v1/threads/" + t["id"], self.buyer)
        self.assertEqual([m["text"] for m in b["messages"]], ["Does it come with a charger?", "Yes, ..."])
        # the flag is an event with its own time
        ex = self.get("/v1/threads/%s/export" % t["id"], self.operator)
        flags = [(e["value"], e["at"]) for e in ex["events"] if e["type"] == "flag"]
        self.assertEqual(flags, [("true", "2026-10-05T10:00:00Z")])

    def test_product_thread(self):
        t = next(t for t in self.threads() if t["asin"] == "B0C1234567" and not t["order_id"])
        self.assertEqual(t["topic"], "product_specifications")
        self.assertEqual(t["state"], "response_needed")
        self.assertEqual(t["last_message_at"], "2026-10-06T09:00:00Z")
        body = self.get("/v1/threads/" + t["id"], self.agent)
        self.assertIsNone(body["order"])
        self.assertEqual([(m["from"], m["text"]) for m in body["messages"]], [("buyer", "...")])
        # the buyer writes on in the imported thread
        r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "Any news?"}, self.buyer)
        self.assertEqual(r.status, 201, r)
        # the buyer's alias is the same in both threads (one buyer, one seller)
        aliases = {t["buyer_alias"] for t in self.threads()}
        self.assertEqual(len(aliases), 1)
        self.assertRegex(aliases.pop(), r"^[a-z0-9]{16,}@relay\.example\.com$")

    def test_response_needed_count(self):
        body = self.get("/v1/threads?filter=response_needed", self.agent)
        self.assertEqual([t["asin"] for t in body["threads"]], ["B0C1234567"])
        self.assertGreaterEqual(body["response_needed_count"], 1)

    @unittest.skipUnless(BACKEND == "sqlite", "raw files only for the embedded store")
    def test_no_address_in_files(self):
        for path in self.store.files():
            with open(path, "rb") as f:
                data = f.read()
            self.assertNotIn(b"jane@mail.test", data, path)
            self.assertNotIn(b"support@acme.test", data, path)


class ImportLines(unittest.TestCase):
    """Line-by-line behaviour: bad lines, flags and unflags, statuses, references. Each test
    imports into the same store, on an order of its own."""

    _n = 0

    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        try:
            p = import_lines(cls.store, SPEC_EXAMPLE[:3])
            assert p.returncode == 0, p.stderr
            cls.agent = agent_token(cls.store, "S1", "Agent")
            cls.buyer = buyer_token(cls.store, "B1")
            cls.operator = operator_token(cls.store)
            cls.srv = Server(cls.store).start()
        except BaseException:
            cls.store.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            cls.store.cleanup()

    def setUp(self):
        ImportLines._n += 1
        self.order = "118-%07d-0000001" % ImportLines._n
        o = dict(SPEC_EXAMPLE[3], id=self.order)
        p = import_lines(self.store, [o])
        self.assertEqual(p.returncode, 0, p.stderr)

    def thread(self, **q):
        from urllib.parse import urlencode
        q.setdefault("order_id", self.order)
        q = {k: v for k, v in q.items() if v is not None}
        r = self.srv.get("/v1/threads?" + urlencode(dict(q, limit=100)), self.agent)
        self.assertEqual(r.status, 200, r)
        return r.json["threads"]

    def msg(self, mid, text="hello", frm="buyer", at="2026-10-05T09:00:00Z", **kw):
        d = {"type": "message", "id": "%s-%s" % (self.order, mid), "order": self.order, "from": frm, "at": at,
             "text": text}
        d.update(kw)
        return d

    def test_bad_lines_reported_others_imported(self):
        lines = [
            self.msg("A1", "first good", topic="damaged_or_defective"),            # line 1
            '{"type":"message", "id": "A2", broken',                               # line 2: not JSON
            self.msg("A3", "x" * 5001),                                             # line 3: too long
            {"type": "message", "id": "A4", "asin": "B0NEWASIN1", "seller": "S1", "buyer": "B1",
             "from": "buyer", "at": "2026-10-06T09:00:00Z", "text": "  "},        # line 4: empty text
            self.msg("A5", "second good", at="2026-10-05T10:00:00Z"),              # line 5
            {"type": "message", "id": "A6", "order": "199-0000000-0000000", "from": "buyer",
             "at": "2026-10-05T09:00:00Z", "text": "unknown order"},               # line 6
            self.msg("A7", "bad time", at="yesterday"),                            # line 7
            self.msg("A8", "bad from", frm="robot"),                               # line 8
            {"type": "spaceship", "id": "X"},                                      # line 9
            self.msg("A10", "bad topic", topic="product_specifications"),          # line 10
            self.msg("A11", "bad status", frm="seller", status="lost"),            # line 11
            self.msg("A1", "duplicate id"),                                         # line 12: id of line 1
            {"type": "order", "id": "12-34", "marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B1",
             "status": "delivered"},                                               # line 13
            {"type": "buyer", "id": "B9", "name": "No Mail"},                      # line 14: no email
            {"type": "message", "id": "A15", "order": self.order, "from": "buyer", "at": "2026-10-05T09:00:00Z",
             "text": 5},                                                           # line 15: wrong type
            '[1, 2, 3]',                                                           # line 16
            {"type": "flag", "message": "NOPE", "at": "2026-10-05T09:00:00Z", "no_response_needed": True},  # 17
            self.msg("A18", "third good", frm="seller", at="2026-10-05T11:00:00Z", extra_field={"x": 1}),  # 18
        ]
        p = import_lines(self.store, lines)
        self.assertEqual(p.returncode, 1, p.stderr)
        bad = sorted(int(n) for n in re.findall(r"^line (\d+):", p.stderr, re.M))
        self.assertEqual(bad, [2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], p.stderr)
        self.assertIn("3 lines imported, 15 failed", p.stderr)
        ts = self.thread()
        self.assertEqual(len(ts), 1, ts)
        self.assertEqual(ts[0]["topic"], "damaged_or_defective")
        r = self.srv.get("/v1/threads/" + ts[0]["id"], self.agent)
        self.assertEqual([m["text"] for m in r.json["messages"]], ["first good", "second good", "third good"])
        self.assertEqual(self.thread(order_id=None, asin="B0NEWASIN1"), [])  # nothing of line 4
        r = self.srv.get("/v1/orders/12-34", self.operator)
        self.assertEqual(r.status, 404)
        # unknown fields are ignored; the seller message keeps its time
        m = self.srv.get("/v1/threads/" + ts[0]["id"], self.agent).json["messages"][-1]
        self.assertEqual((m["from"], m["at"]), ("seller", "2026-10-05T11:00:00Z"))

    def test_flag_and_unflag(self):
        lines = [self.msg("F1", "thanks!", topic="other"),
                 {"type": "flag", "message": self.order + "-F1", "at": "2026-10-05T09:10:00Z", "no_response_needed": True},
                 {"type": "flag", "message": self.order + "-F1", "at": "2026-10-05T09:20:00Z", "no_response_needed": False}]
        p = import_lines(self.store, lines)
        self.assertEqual(p.returncode, 0, p.stderr)
        t = self.thread()[0]
        self.assertEqual(t["state"], "response_needed")
        r = self.srv.get("/v1/threads/" + t["id"], self.agent)
        self.assertFalse(r.json["messages"][0]["no_response_needed"])
        # a second import flags it again
        p = import_lines(self.store, [{"type": "flag", "message": self.order + "-F1", "at": "2026-10-05T09:30:00Z",
                                       "no_response_needed": True}])
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.srv.get("/v1/threads/" + t["id"], self.agent)
        self.assertTrue(r.json["messages"][0]["no_response_needed"])
        self.assertEqual(r.json["thread"]["state"], "no_response_needed")
        ex = self.srv.get("/v1/threads/%s/export" % t["id"], self.operator).json
        flags = [(e["value"], e["at"]) for e in ex["events"] if e["type"] == "flag"]
        self.assertEqual(flags, [("true", "2026-10-05T09:10:00Z"), ("false", "2026-10-05T09:20:00Z"),
                                 ("true", "2026-10-05T09:30:00Z")])
        # a flag line without the value is refused
        p = import_lines(self.store, [{"type": "flag", "message": self.order + "-F1", "at": "2026-10-05T09:40:00Z"}])
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"(?m)^line 1:")

    def test_status_and_auto_reply(self):
        lines = [self.msg("S1m", "question", topic="other"),
                 self.msg("S2m", "we will answer soon", frm="seller", at="2026-10-05T09:01:00Z", auto_reply=True),
                 self.msg("S3m", "held one", frm="seller", at="2026-10-05T09:02:00Z", status="held_for_review"),
                 self.msg("S4m", "rejected one", frm="seller", at="2026-10-05T09:03:00Z", status="rejected"),
                 self.msg("S5m", "failed one", frm="seller", at="2026-10-05T09:04:00Z", status="failed"),
                 self.msg("S6m", "not delivered", frm="seller", at="2026-10-05T09:05:00Z", status="not_delivered"),
                 self.msg("S7m", "buyer auto?", auto_reply=True)]
        p = import_lines(self.store, lines)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"(?m)^line 7:")
        t = self.thread()[0]
        self.assertEqual(t["state"], "response_needed")  # auto-replies and undelivered do not answer
        msgs = self.srv.get("/v1/threads/" + t["id"], self.agent).json["messages"]
        self.assertEqual([(m["kind"], m["status"]) for m in msgs],
                         [("message", "delivered"), ("auto_reply", "delivered"), ("message", "held_for_review"),
                          ("message", "rejected"), ("message", "failed"), ("message", "not_delivered")])
        # imported messages are not re-scanned
        for m in msgs[1:]:
            self.assertNotEqual(m.get("policy", {}).get("action"), "reject")
        # the buyer sees only delivered seller messages, and no policy
        mine = self.srv.get("/v1/threads/" + t["id"], self.buyer).json["messages"]
        self.assertEqual([m["text"] for m in mine], ["question", "we will answer soon"])
        for m in mine:
            self.assertNotIn("policy", m)
            self.assertNotIn("status", m)

    def test_references_and_stdin(self):
        # a message before its order is refused; the order and the message after it import
        late = "113-1111111-2222222"
        lines = [{"type": "message", "id": "R1", "order": late, "from": "buyer", "at": "2026-10-05T09:00:00Z",
                  "text": "too early"},
                 {"type": "order", "id": late, "marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B1",
                  "status": "shipped"},
                 {"type": "message", "id": "R2", "order": late, "from": "buyer", "at": "2026-10-05T09:00:00Z",
                  "text": "in time"}]
        data = "\n".join(json.dumps(x) for x in lines) + "\n\n"  # a blank line is allowed
        p = run_cli(["import", "-"], self.store, stdin=data)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(re.findall(r"(?m)^line (\d+):", p.stderr), ["1"])
        t = self.thread(order_id=late)
        self.assertEqual(len(t), 1)
        msgs = self.srv.get("/v1/threads/" + t[0]["id"], self.agent).json["messages"]
        self.assertEqual([m["text"] for m in msgs], ["in time"])

    def test_usage(self):
        p = run_cli(["import"], self.store)
        self.assertEqual(p.returncode, 2)
        p = run_cli(["import", os.path.join(self.store.dir, "missing.jsonl")], self.store)
        self.assertNotEqual(p.returncode, 0)
        p = run_cli(["import", "--help"], self.store)
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: parley import", p.stdout)


class Demo(unittest.TestCase):

    def setUp(self):
        self.store = Store()

    def tearDown(self):
        self.store.cleanup()

    def demo(self):
        tokens = os.path.join(self.store.dir, "tokens.json")
        return run_cli(["demo", "--tokens", tokens], self.store), tokens

    def test_demo_loads_once(self):
        p, tokens = self.demo()
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(tokens) as f:
            toks = json.load(f)
        self.assertTrue(toks["operator"])
        again, _ = self.demo()
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("already holds data", again.stderr)
        srv = Server(self.store).start()
        try:
            r = srv.get("/v1/threads?filter=response_needed", toks["agents"]["Maya Lopez"]["token"])
            self.assertEqual(r.status, 200, r)
            self.assertGreaterEqual(r.json["response_needed_count"], 1)
        finally:
            srv.stop()

    def test_demo_refuses_imported_database(self):
        p = import_lines(self.store, SPEC_EXAMPLE)
        self.assertEqual(p.returncode, 0, p.stderr)
        p, _ = self.demo()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already holds data", p.stderr)

    def test_demo_refuses_any_data(self):
        """Data without the demo's ids is data too: demo must not mix into it."""
        p = import_lines(self.store, [
            {"type": "marketplace", "id": "AOTHER", "name": "Other", "domains": ["other.test"], "locale": "en-GB"},
            {"type": "seller", "id": "S77", "marketplace": "AOTHER", "name": "Seventy Seven"}])
        self.assertEqual(p.returncode, 0, p.stderr)
        p, _ = self.demo()
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("already holds data", p.stderr)


if __name__ == "__main__":
    main()
