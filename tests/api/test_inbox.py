# test_inbox.py - the seller inbox over HTTP: filters, search, newest-first order, cursor pagination.
import datetime
from urllib.parse import quote, urlencode

from parley_harness import FAST, FastCase, main, order_line

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def ago(minutes):
    return (NOW - datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def oid(n):
    return "115-%07d-%07d" % (n, 8000000 + n)


# Imported history of S1: 24 order threads with distinct times (thread n's last message is
# 100-n minutes ago, so thread 23 is the newest), in four shapes by n % 4:
#   0 buyer only                       response_needed, unanswered
#   1 buyer, seller                    answered, sent
#   2 buyer (flagged)                  no_response_needed, unanswered
#   3 buyer, seller, buyer             response_needed, unanswered, sent
N = 24
LINES = []
for n in range(N):
    buyer = "B1" if n % 3 else "B2"
    LINES.append(order_line(oid(n), "S1", buyer, items=[{"asin": "B0INBX%04d" % n, "title": "Item %d" % n,
                                                         "quantity": 1, "price": "5.00", "currency": "USD"}]))
    t0 = 200 - n
    t_last = 100 - n
    mid = "inbox-%d" % n
    LINES.append({"type": "message", "id": mid + "-a", "order": oid(n), "from": "buyer", "topic": "other",
                  "at": ago(t0 if n % 4 in (1, 3) else t_last),
                  "text": "buyer question number %d about widget%d" % (n, n)})
    if n % 4 in (1, 3):
        LINES.append({"type": "message", "id": mid + "-b", "order": oid(n), "from": "seller",
                      "at": ago((t0 + t_last) // 2 if n % 4 == 3 else t_last),
                      "text": "seller answer %d" % n})
    if n % 4 == 3:
        LINES.append({"type": "message", "id": mid + "-c", "order": oid(n), "from": "buyer",
                      "at": ago(t_last), "text": "buyer follow-up %d" % n})
    if n % 4 == 2:
        LINES.append({"type": "flag", "message": mid + "-a", "at": ago(t_last - 1), "no_response_needed": True})
# special texts for full-text search
LINES.append(order_line(oid(90), "S1", "B1"))
LINES.append({"type": "message", "id": "inbox-90", "order": oid(90), "from": "buyer", "topic": "other",
              "at": ago(300), "text": 'My "zebrafinch" arrived AND the box said foo NEAR bar'})
# a product question of B2 to S1
LINES.append({"type": "message", "id": "inbox-91", "asin": "B0QUESTION", "seller": "S1", "buyer": "B2",
              "from": "buyer", "at": ago(301), "topic": "product_specifications", "text": "Is it waterproof?"})
# one thread of S2, which S1 must never see
LINES.append(order_line(oid(92), "S2", "B1"))
LINES.append({"type": "message", "id": "inbox-92", "order": oid(92), "from": "buyer", "topic": "other",
              "at": ago(5), "text": "for the other seller zebrafinch"})

SHAPE = {0: "response_needed", 1: "answered", 2: "no_response_needed", 3: "response_needed"}


class Inbox(FastCase):
    fixture_kw = {"orders_b1_s1": 0, "orders_b2_s1": 0, "orders_b1_s2": 0, "extra_lines": LINES, "settings": FAST}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # order id → thread id, as S1 sees them
        r = cls.srv.get("/v1/threads?limit=100", cls.fx.agent)
        assert r.status == 200, r
        cls.tid = {t["order_id"]: t["id"] for t in r.json["threads"] if t["order_id"]}
        cls.product_tid = next(t["id"] for t in r.json["threads"] if t["asin"] == "B0QUESTION")

    def q(self, token=None, **params):
        return self.list_threads(token or self.fx.agent, **params)

    def ids(self, token=None, **params):
        return [t["id"] for t in self.q(token, limit=100, **params)["threads"]]

    def expected(self, shapes):
        """Thread ids of the numbered threads with the given shapes, newest first."""
        return [self.tid[oid(n)] for n in reversed(range(N)) if n % 4 in shapes]

    # ---- order and filters ---------------------------------------------------------------

    def test_all_newest_first(self):
        got = self.ids(filter="all")
        want = self.expected({0, 1, 2, 3}) + [self.tid[oid(90)], self.product_tid]
        self.assertEqual(got, want)
        self.assertEqual(self.ids(), want)  # `all` is the default
        self.assertNotIn(oid(92), [t["order_id"] for t in self.q(limit=100)["threads"]])

    def test_imported_times_kept(self):
        r = self.q(order_id=oid(7))["threads"][0]
        self.assertEqual(r["last_message_at"], ago(100 - 7))
        self.assertEqual(r["created_at"], ago(200 - 7))

    def test_states(self):
        for t in self.q(limit=100)["threads"]:
            if t["order_id"] and t["order_id"] in [oid(n) for n in range(N)]:
                n = int(t["order_id"][4:11])
                self.assertEqual(t["state"], SHAPE[n % 4], t)
                self.assertFalse(t["archived"])

    def test_response_needed(self):
        body = self.q(filter="response_needed", sort="newest", limit=100)
        want = self.expected({0, 3}) + [self.tid[oid(90)], self.product_tid]
        self.assertEqual([t["id"] for t in body["threads"]], want)
        self.assertEqual(body["response_needed_count"], len(want))
        # by default the least time left comes first
        due = self.q(filter="response_needed", limit=100)["threads"]
        self.assertEqual(sorted(t["id"] for t in due), sorted(want))
        keys = [t["response_due_at"] for t in due]
        self.assertEqual(keys, sorted(keys))
        self.assertLess(keys[0], keys[-1])
        self.assertNotEqual([t["id"] for t in due], want)  # not the newest-first order
        self.assertEqual([t["id"] for t in self.q(filter="response_needed", sort="due", limit=100)["threads"]],
                         [t["id"] for t in due])
        # pages of the due order join up with the cursor
        seen, cursor = [], None
        while True:
            page = self.q(filter="response_needed", limit=3, **({"cursor": cursor} if cursor else {}))
            seen += [t["id"] for t in page["threads"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [t["id"] for t in due])
        # due is for that list only; and a sort is one of two words
        self.assertError(self.srv.get("/v1/threads?filter=all&sort=due", self.fx.agent), 400, "invalid_input")
        self.assertError(self.srv.get("/v1/threads?filter=response_needed&sort=oldest", self.fx.agent), 400,
                         "invalid_input")
        # the count is in every agent answer, whatever the filter
        self.assertEqual(self.q(filter="sent")["response_needed_count"], len(want))
        self.assertEqual(self.q(token=self.fx.read_only)["response_needed_count"], len(want))
        for t in body["threads"]:
            self.assertRegex(t["response_due_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_unanswered(self):
        want = self.expected({0, 2, 3}) + [self.tid[oid(90)], self.product_tid]
        self.assertEqual(self.ids(filter="unanswered"), want)

    def test_sent(self):
        self.assertEqual(self.ids(filter="sent"), self.expected({1, 3}))

    def test_archived(self):
        self.assertEqual(self.ids(filter="archived"), [])

    def test_bad_filter(self):
        r = self.srv.get("/v1/threads?filter=everything", self.fx.agent)
        self.assertError(r, 400, "invalid_input")

    # ---- search ------------------------------------------------------------------------

    def test_search_order_id(self):
        self.assertEqual(self.ids(order_id=oid(5)), [self.tid[oid(5)]])
        self.assertEqual(self.ids(order_id="999-0000000-0000000"), [])
        self.assertEqual(self.ids(order_id=oid(92)), [])  # another seller's order

    def test_search_asin(self):
        self.assertEqual(self.ids(asin="B0INBX0006"), [self.tid[oid(6)]])  # an item of the order
        self.assertEqual(self.ids(asin="B0QUESTION"), [self.product_tid])  # a product question
        self.assertEqual(self.ids(asin="B0NOTHERE1"), [])

    def test_search_alias(self):
        rows = self.q(limit=100)["threads"]
        b2 = next(t for t in rows if t["order_id"] == oid(0))["buyer_alias"]  # n=0 is B2's
        b1 = next(t for t in rows if t["order_id"] == oid(1))["buyer_alias"]
        self.assertNotEqual(b1, b2)
        want_b2 = [t["id"] for t in rows if t["buyer_alias"] == b2]
        self.assertEqual(self.ids(alias=b2), want_b2)
        self.assertIn(self.product_tid, want_b2)
        self.assertEqual(len(want_b2), len([n for n in range(N) if n % 3 == 0]) + 1)
        self.assertEqual(self.ids(alias="nobody0000000000@relay.example.com"), [])

    def test_search_full_text(self):
        self.assertEqual(self.ids(q="widget13"), [self.tid[oid(13)]])
        self.assertEqual(self.ids(q="zebrafinch"), [self.tid[oid(90)]])  # not S2's thread
        self.assertEqual(self.ids(q="seller answer 5"), [self.tid[oid(5)]])
        self.assertEqual(self.ids(q="follow-up 7"), [self.tid[oid(7)]])
        self.assertEqual(self.ids(q="waterproof"), [self.product_tid])
        self.assertEqual(self.ids(q="nonexistentword"), [])
        # combined with a filter
        self.assertEqual(self.ids(q="widget12", filter="sent"), [])  # 12: buyer only
        self.assertEqual(self.ids(q="widget15", filter="sent"), [self.tid[oid(15)]])

    def test_search_fts_syntax_is_text(self):
        for q in ['foo AND "', '"zebrafinch"', 'zebrafinch OR', 'NEAR(foo bar)', '*', '"', 'foo:bar',
                  '-zebrafinch', '(', 'a) OR (b', "it's", '\\', 'ünïcödé', '^zebrafinch', '   ']:
            r = self.srv.get("/v1/threads?q=" + quote(q), self.fx.agent)
            self.assertEqual(r.status, 200, (q, r))
            self.assertIsInstance(r.json["threads"], list)
        # operators are words: AND / NEAR find the thread that contains them as words
        self.assertEqual(self.ids(q='foo AND "'), [self.tid[oid(90)]])
        self.assertEqual(self.ids(q='"zebrafinch"'), [self.tid[oid(90)]])

    def test_buyer_sees_own_threads(self):
        rows = self.q(token=self.fx.b2, limit=100)["threads"]
        want = [self.tid[oid(n)] for n in reversed(range(N)) if n % 3 == 0] + [self.product_tid]
        self.assertEqual([t["id"] for t in rows], want)
        for t in rows:
            self.assertNotIn("buyer_alias", t)
            self.assertEqual(t["seller_name"], "Acme Tools")
        self.assertEqual([t["id"] for t in self.q(token=self.fx.b2, q="zebrafinch")["threads"]], [])

    # ---- pagination --------------------------------------------------------------------

    def walk(self, token, page, **params):
        seen, cursor = [], None
        for _ in range(200):  # bounded
            p = dict(params, limit=page)
            if cursor:
                p["cursor"] = cursor
            r = self.srv.get("/v1/threads?" + urlencode(p), token)
            self.assertEqual(r.status, 200, r)
            self.assertLessEqual(len(r.json["threads"]), page)
            seen.extend(t["id"] for t in r.json["threads"])
            cursor = r.json["next_cursor"]
            if cursor is None:
                return seen
            self.assertIsInstance(cursor, str)
        self.fail("pagination did not end")

    def test_pagination_walks_everything_once(self):
        full = self.ids(filter="all")
        for page in (1, 2, 5, 7, 25, 26, 100):
            got = self.walk(self.fx.agent, page)
            self.assertEqual(got, full, page)
            self.assertEqual(len(set(got)), len(got))
        rn = self.ids(filter="response_needed")
        self.assertEqual(self.walk(self.fx.agent, 3, filter="response_needed"), rn)
        self.assertEqual(self.walk(self.fx.b1, 4), self.ids(token=self.fx.b1))

    def test_default_limit(self):
        body = self.q()
        self.assertEqual(len(body["threads"]), 25)
        self.assertIsNotNone(body["next_cursor"])

    def test_limit_out_of_range(self):
        for lim in ("0", "101", "-1", "abc", "", "1.5", "99999999999999999999"):
            r = self.srv.get("/v1/threads?limit=" + quote(lim), self.fx.agent)
            self.assertError(r, 400, "invalid_input")
        for lim in ("1", "100"):
            self.assertEqual(self.srv.get("/v1/threads?limit=" + lim, self.fx.agent).status, 200)

    def test_bad_cursor(self):
        for cur in ("garbage", "1.2.3", "-5.-5", "0.0"):
            r = self.srv.get("/v1/threads?cursor=" + quote(cur), self.fx.agent)
            self.assertError(r, 400, "invalid_input")


class InboxLive(FastCase):
    """Threads made in the same second over the API still page without gaps or repeats."""

    def test_ties_and_archive(self):
        made = []
        for i in range(7):
            t, _ = self.start_thread(self.fx.b1 if i % 2 else self.fx.b2,
                                     self.new_order("B1" if i % 2 else "B2", "S1"), "other", "tie %d" % i)
            made.append(t["id"])
        full = [t["id"] for t in self.list_threads(self.fx.agent, limit=100)["threads"]]
        self.assertEqual(full[:7], list(reversed(made)))  # newest first
        seen, cursor = [], None
        for _ in range(20):
            p = {"limit": 2}
            if cursor:
                p["cursor"] = cursor
            body = self.list_threads(self.fx.agent, **p)
            seen.extend(t["id"] for t in body["threads"])
            cursor = body["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, full)
        # a reply moves a thread to the top of `all`
        self.send(self.fx.agent, made[0], "answer to the oldest")
        top = self.list_threads(self.fx.agent, limit=1)["threads"][0]
        # equal seconds keep id order; the answered thread is first unless it shares the second
        if top["id"] != made[0]:
            self.assertEqual(top["last_message_at"],
                             next(t for t in self.list_threads(self.fx.agent, limit=100)["threads"]
                                  if t["id"] == made[0])["last_message_at"])
        # archive two, page through the archive
        for tid in made[:2]:
            self.assertEqual(self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.agent).status, 200)
        arch = [t["id"] for t in self.list_threads(self.fx.agent, filter="archived", limit=1)["threads"]]
        self.assertEqual(len(arch), 1)
        self.assertEqual(sorted(t["id"] for t in self.list_threads(self.fx.agent, filter="archived")["threads"]),
                         sorted(made[:2]))
        # sent: only the answered one
        self.assertIn(made[0], [t["id"] for t in self.list_threads(self.fx.agent, filter="archived")["threads"]])
        self.assertNotIn(made[0], [t["id"] for t in self.list_threads(self.fx.agent, filter="sent")["threads"]])


if __name__ == "__main__":
    main()
