# test_inbox_window.py - the seller's inbox over the real server (docs/rules.md "The inbox"):
# the last 60 days by default (the marketplace's inbox_days), threads waiting for an answer
# never hidden, a search, a date range or all=true reaching everything, and a search by the
# buyer's name that is the team's alone.
import datetime
import unittest

from parley_harness import ServerCase, main, order_line


def ago(days):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


OLD, RECENT, WAITING = "117-0000001-0000001", "117-0000001-0000002", "117-0000001-0000003"


class InboxWindow(ServerCase):
    own_store = True
    fixture_kw = {"extra_lines": [
        order_line(OLD, "S1", "B1"), order_line(RECENT, "S1", "B2"), order_line(WAITING, "S1", "B1"),
        # answered 90 days ago
        {"type": "message", "id": "iw-1", "order": OLD, "from": "buyer", "at": ago(91), "topic": "other",
         "text": "Does the drill come with a case?"},
        {"type": "message", "id": "iw-2", "order": OLD, "from": "seller", "at": ago(90), "text": "Yes, it does."},
        # answered 10 days ago
        {"type": "message", "id": "iw-3", "order": RECENT, "from": "buyer", "at": ago(11), "topic": "other",
         "text": "When will it ship?"},
        {"type": "message", "id": "iw-4", "order": RECENT, "from": "seller", "at": ago(10), "text": "Tomorrow."},
        # waiting for an answer for 70 days
        {"type": "message", "id": "iw-5", "order": WAITING, "from": "buyer", "at": ago(70), "topic": "other",
         "text": "Is anybody there?"}]}

    def orders(self, token, **params):
        r = self.list_threads(token, limit=100, **params)
        return {t["order_id"] for t in r["threads"]}, r

    def test_default_window_and_what_reaches_everything(self):
        seen, r = self.orders(self.fx.agent)
        self.assertIn(RECENT, seen)
        self.assertIn(WAITING, seen)  # waiting for an answer: never hidden
        self.assertNotIn(OLD, seen)
        self.assertTrue(r["window"]["default"], r)
        self.assertTrue(r["window"]["since"].endswith("Z"))
        for params in ({"all": "true"}, {"q": "case"}, {"order_id": OLD}, {"since": ago(100)[:10]}):
            seen, r = self.orders(self.fx.agent, **params)
            self.assertIn(OLD, seen, params)
            self.assertNotIn("window", r, params)
        # the ones waiting for an answer whatever their age
        seen, _ = self.orders(self.fx.agent, filter="response_needed")
        self.assertIn(WAITING, seen)
        # a date range: the last message in [since, until]
        seen, _ = self.orders(self.fx.agent, since=ago(95)[:10], until=ago(80)[:10])
        self.assertEqual(seen & {OLD, RECENT, WAITING}, {OLD})
        # a buyer's own list keeps everything they wrote
        seen, r = self.orders(self.fx.b1)
        self.assertIn(OLD, seen)
        self.assertNotIn("window", r)

    def test_search_by_buyer_name(self):
        seen, _ = self.orders(self.fx.agent, buyer="carlos", all="true")
        self.assertEqual(seen & {OLD, RECENT, WAITING}, {RECENT})
        seen, _ = self.orders(self.fx.agent, buyer="JANE")
        self.assertEqual(seen & {OLD, RECENT, WAITING}, {OLD, WAITING})  # a search reaches everything
        self.assertError(self.srv.get("/v1/threads?buyer=jane", self.fx.b1), 400, "team_only_filter")
        self.assertError(self.srv.get("/v1/threads?buyer=" + "x" * 101, self.fx.agent), 400, "invalid_input")

    def test_bad_values(self):
        for q in ("since=yesterday", "until=2026-13-45", "all=maybe", "since=2026-10-05&until=2026-10-01"):
            self.assertError(self.srv.get("/v1/threads?" + q, self.fx.agent), 400, "invalid_input")


if __name__ == "__main__":
    main()
