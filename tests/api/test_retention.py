# test_retention.py - the record's retention over the real server (docs/rules.md "Retention"):
# the operator's legal holds (who may set them, their limits), and the clean-up worker
# purging the threads past their marketplace's retention_days, except the held ones, with
# every audit chain still verifying afterwards.
import datetime
import tempfile

from parley_harness import (MP, MP_DOMAIN, UNLIMITED_PARTIES, ServerCase, import_lines, main, order_line,
                            poll, run_cli)


def ago(days):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


OLD, HELD, RECENT = "118-0000001-0000001", "118-0000001-0000002", "118-0000001-0000003"


def conversation(oid, days, n):
    return [{"type": "message", "id": "rt-%s-%d" % (oid, i), "order": oid, "from": "buyer" if i % 2 == 0 else "seller",
             "at": ago(days - i * 0.01), "topic": "other", "text": "Retention %s message %d" % (oid, i)}
            for i in range(n)]


class Retention(ServerCase):
    own_store = True
    fixture_kw = {"extra_lines": [order_line(OLD, "S1", "B1"), order_line(HELD, "S1", "B1"),
                                  order_line(RECENT, "S1", "B2")]
                  + conversation(OLD, 400, 3) + conversation(HELD, 400, 2) + conversation(RECENT, 30, 2)}

    @classmethod
    def setUpClass(cls):
        # a clean-up pass every two seconds (a quarter of the unattached uploads' age)
        cls.server_args = ("--files", tempfile.mkdtemp(prefix="parley-retention-files-"),
                           "--unattached-max-age", "8")
        super().setUpClass()

    def thread_of(self, oid):
        r = self.srv.get("/v1/threads?all=true&order_id=" + oid, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        return r.json["threads"][0]["id"] if r.json["threads"] else None

    def test_holds_and_purge(self):
        old, held, recent = self.thread_of(OLD), self.thread_of(HELD), self.thread_of(RECENT)
        self.assertTrue(old and held and recent)
        path = "/v1/threads/%s/legal-hold" % held
        # only the operator holds, with a reason of at most 500 characters
        self.assertError(self.srv.put(path, {"reason": "dispute"}, self.fx.owner), 403, "forbidden")
        self.assertError(self.srv.put(path, {"reason": "dispute"}, self.fx.b1), 403, "forbidden")
        self.assertError(self.srv.put(path, {}, self.fx.operator), 400, "missing_field")
        self.assertError(self.srv.put(path, {"reason": "   "}, self.fx.operator), 400, "empty_text")
        self.assertError(self.srv.put(path, {"reason": "x" * 501}, self.fx.operator), 422, "text_too_long")
        self.assertError(self.srv.put("/v1/threads/T000000000000/legal-hold", {"reason": "x"}, self.fx.operator),
                         404, "not_found")
        self.assertIsNone(self.srv.get(path, self.fx.operator).json["legal_hold"])
        r = self.srv.put(path, {"reason": "A-to-z claim 4711 under review"}, self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["legal_hold"]["thread_id"], held)
        self.assertEqual(r.json["legal_hold"]["reason"], "A-to-z claim 4711 under review")
        self.assertEqual(self.srv.get(path, self.fx.operator).json["legal_hold"]["seller_id"], "S1")
        holds = self.srv.get("/v1/legal-holds", self.fx.operator).json
        self.assertEqual([h["thread_id"] for h in holds["legal_holds"]], [held])
        self.assertIsNone(holds["next"])
        self.assertError(self.srv.get("/v1/legal-holds?limit=201", self.fx.operator), 400, "invalid_page")
        self.assertError(self.srv.get("/v1/legal-holds", self.fx.owner), 403, "forbidden")

        # the marketplace now keeps a year: the old thread goes, the held and the recent stay
        p = import_lines(self.store, [{"type": "marketplace", "id": MP, "name": "Example US", "domains": [MP_DOMAIN],
                                       "locale": "en-US",
                                       "settings": dict(UNLIMITED_PARTIES, retention_days=365)}])
        self.assertEqual(p.returncode, 0, p.stderr)
        gone = poll(lambda: self.srv.get("/v1/threads/" + old, self.fx.operator).status == 404)
        self.assertTrue(gone, "the thread past the retention was not purged")
        self.assertIsNone(self.thread_of(OLD))
        self.assertEqual(self.srv.get("/v1/threads/" + held, self.fx.operator).status, 200)
        self.assertEqual(self.srv.get("/v1/threads/" + recent, self.fx.owner).status, 200)
        # nothing of it is found any more, by the seller's search either
        found = self.srv.get("/v1/threads?all=true&q=Retention", self.fx.owner).json["threads"]
        self.assertEqual(sorted(t["id"] for t in found), sorted([held, recent]))

        # released, the held thread goes at the next pass
        r = self.srv.request("DELETE", path, token=self.fx.operator)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["released"])
        self.assertError(self.srv.request("DELETE", path, token=self.fx.operator), 404, "not_found")
        gone = poll(lambda: self.srv.get("/v1/threads/" + held, self.fx.operator).status == 404)
        self.assertTrue(gone, "the released thread was not purged")
        self.assertEqual(self.srv.get("/v1/threads/" + recent, self.fx.owner).status, 200)

        # every audit chain still verifies: the purges are entries, and no entry was taken
        v = run_cli(["audit", "verify"], self.store)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


if __name__ == "__main__":
    main()
