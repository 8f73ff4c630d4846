# test_live.py - order listing, web sessions with CSRF protection, and live updates (Server-Sent Events).
import http.client
import json
import unittest
from urllib.parse import quote

from parley_harness import HOST, MP, FastCase, main


class Orders(FastCase):

    def put(self, oid, buyer, seller, purchased=None, status="shipped"):
        body = {"marketplace": MP, "seller": seller, "buyer": buyer, "status": status}
        if purchased:
            body["purchased_at"] = purchased
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertIn(r.status, (200, 201), r)

    def walk(self, token, page):
        seen, cursor = [], None
        for _ in range(500):
            url = "/v1/orders?limit=%d" % page + ("&cursor=" + quote(cursor) if cursor else "")
            r = self.srv.get(url, token)
            self.assertEqual(r.status, 200, r)
            self.assertLessEqual(len(r.json["orders"]), page)
            seen.extend(o["id"] for o in r.json["orders"])
            cursor = r.json["next_cursor"]
            if cursor is None:
                return seen
        self.fail("pagination did not end")

    def test_list_scoped_and_newest_first(self):
        mine = ["119-0000001-%07d" % i for i in range(5)]
        for i, oid in enumerate(mine):
            self.put(oid, "B2", "S2", purchased="2026-09-%02dT10:00:00Z" % (10 + i))
        other = "119-0000002-0000000"
        self.put(other, "B1", "S2", purchased="2026-09-20T10:00:00Z")
        r = self.srv.get("/v1/orders?limit=100", self.fx.b2)
        self.assertEqual(r.status, 200, r)
        ids = [o["id"] for o in r.json["orders"]]
        self.assertNotIn(other, ids)
        pos = [ids.index(o) for o in mine]
        self.assertEqual(pos, sorted(pos, reverse=True))  # the newest purchase first
        for o in r.json["orders"]:
            self.assertIn("items", o)
        # a seller sees its own orders only
        s2 = self.srv.get("/v1/orders?limit=100", self.fx.s2).json["orders"]
        self.assertTrue({o["seller"] for o in s2} == {"S2"}, s2)
        self.assertTrue(set(mine) | {other} <= {o["id"] for o in s2})
        s1 = self.srv.get("/v1/orders?limit=100", self.fx.agent).json["orders"]
        self.assertNotIn(other, [o["id"] for o in s1])
        self.assertEqual({o["seller"] for o in s1}, {"S1"})
        # the operator sees them all
        ops = self.walk(self.fx.operator, 100)
        self.assertTrue(set(mine) | {other} <= set(ops))

    def test_pagination(self):
        for i in range(4):
            self.put("119-0000003-%07d" % i, "B2", "S1", purchased="2026-08-01T10:00:00Z")  # ties
        full = self.walk(self.fx.b2, 100)
        for page in (1, 2, 3):
            got = self.walk(self.fx.b2, page)
            self.assertEqual(got, full, page)
            self.assertEqual(len(set(got)), len(got))

    def test_pagination_without_purchase_dates(self):
        """Orders recorded without a purchase time page like the others."""
        for i in range(3):
            self.put("119-0000004-%07d" % i, "B2", "S2")
        full = self.walk(self.fx.s2, 100)
        self.assertEqual(self.walk(self.fx.s2, 1), full)

    def test_bad_parameters(self):
        for q in ("limit=0", "limit=101", "limit=x", "cursor=garbage", "cursor=0.x"):
            r = self.srv.get("/v1/orders?" + q, self.fx.b1)
            self.assertError(r, 400, "invalid_input")
        self.assertError(self.srv.get("/v1/orders"), 401, "unauthorized")
        self.assertError(self.srv.post("/v1/orders", {}, self.fx.operator), 405, "method_not_allowed")


def cookies(resp):
    """name -> (value, attributes) of the Set-Cookie headers of a response."""
    out = {}
    for k, v in resp.header_list:
        if k == "set-cookie":
            first, _, attrs = v.partition(";")
            name, _, value = first.strip().partition("=")
            out[name] = (value, attrs)
    return out


class Session(FastCase):

    def sign_in(self, token):
        r = self.srv.post("/v1/session", {"token": token})
        self.assertEqual(r.status, 201, r)
        c = cookies(r)
        self.assertIn("parley_session", c)
        self.assertIn("parley_csrf", c)
        self.assertIn("HttpOnly", c["parley_session"][1])
        self.assertIn("SameSite=Strict", c["parley_session"][1])
        self.assertNotIn("HttpOnly", c["parley_csrf"][1])
        self.assertEqual(r.json["csrf_token"], c["parley_csrf"][0])
        return c["parley_session"][0], c["parley_csrf"][0], r.json

    def test_session_with_csrf(self):
        session, csrf, me = self.sign_in(self.fx.b1)
        self.assertEqual(me["kind"], "buyer")
        self.assertEqual(me["buyer_id"], "B1")
        self.assertNotEqual(session, self.fx.b1)  # a session of its own, not the token
        jar = {"Cookie": "parley_session=%s; parley_csrf=%s" % (session, csrf)}
        r = self.srv.get("/v1/me", headers=jar)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["buyer_id"], "B1")
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "via token")
        path = "/v1/threads/%s/messages" % t["id"]
        # a change with the cookie alone is refused (another site could make the browser send it)
        self.assertError(self.srv.post(path, {"text": "no csrf"}, headers=jar), 403, "forbidden")
        self.assertError(self.srv.post(path, {"text": "bad csrf"}, headers=dict(jar, **{"X-CSRF-Token": "x" * 24})),
                         403, "forbidden")
        only_session = {"Cookie": "parley_session=%s" % session, "X-CSRF-Token": csrf}
        self.assertError(self.srv.post(path, {"text": "no csrf cookie"}, headers=only_session), 403, "forbidden")
        r = self.srv.post(path, {"text": "with csrf"}, headers=dict(jar, **{"X-CSRF-Token": csrf}))
        self.assertEqual(r.status, 201, r)
        texts = [m["text"] for m in self.srv.get("/v1/threads/" + t["id"], self.fx.b1).json["messages"]]
        self.assertEqual(texts, ["via token", "with csrf"])
        # a bearer token takes precedence over the cookie
        r = self.srv.get("/v1/me", self.fx.agent, headers=jar)
        self.assertEqual(r.json["kind"], "agent")
        # sign out: the session is revoked and the cookies cleared
        r = self.srv.request("DELETE", "/v1/session", headers=jar)
        self.assertEqual(r.status, 200, r)
        c = cookies(r)
        self.assertEqual(c["parley_session"][0], "")
        self.assertIn("Max-Age=0", c["parley_session"][1])
        self.assertError(self.srv.get("/v1/me", headers=jar), 401, "token_revoked")
        # the original token still works
        self.assertEqual(self.srv.get("/v1/me", self.fx.b1).status, 200)

    def test_sign_in_errors(self):
        self.assertError(self.srv.post("/v1/session", {"token": "nonsense"}), 401, "unauthorized")
        self.assertError(self.srv.post("/v1/session", {}), 401, "unauthorized")
        self.assertError(self.srv.post("/v1/session", {"token": 5}), 400, "wrong_type")
        self.assertError(self.srv.post("/v1/session", None, raw=b"{"), 400, "malformed_json")
        self.assertError(self.srv.get("/v1/session"), 405, "method_not_allowed")
        for tok in (self.fx.agent, self.fx.operator):
            _, _, me = self.sign_in(tok)
            self.assertIn(me["kind"], ("agent", "operator"))


class SseStream:
    """One open GET /v1/events, read line by line with a bounded wait."""

    def __init__(self, srv, token, timeout=60):
        self.conn = http.client.HTTPConnection(HOST, srv.port, timeout=timeout)
        self.conn.request("GET", "/v1/events", headers={"Authorization": "Bearer " + token,
                                                        "Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()

    def next_event(self, want=None, limit=200):
        """The next event (name, data) whose name is `want` (any when None); skips comments."""
        name, data = None, []
        for _ in range(limit):
            line = self.resp.readline().decode("utf-8")
            if not line:
                raise AssertionError("the event stream ended")
            line = line.rstrip("\n")
            if line.startswith(":"):
                continue
            if line == "":
                if name and (want is None or name == want):
                    return name, json.loads("\n".join(data))
                name, data = None, []
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        raise AssertionError("no %s event" % want)

    def wait_connected(self):
        for _ in range(20):
            line = self.resp.readline().decode("utf-8").rstrip("\n")
            if line == ": connected":
                return
        raise AssertionError("no ': connected' comment")

    def close(self):
        self.conn.close()


class Events(FastCase):

    def test_stream(self):
        self.assertError(self.srv.get("/v1/events"), 401, "unauthorized")
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "before the streams")
        other_t, _ = self.start_thread(self.fx.b2, self.new_order("B2", "S2"), "other", "S2 thread")
        seller = SseStream(self.srv, self.fx.agent)
        buyer = SseStream(self.srv, self.fx.b1)
        stranger = SseStream(self.srv, self.fx.s2)
        try:
            self.assertEqual(seller.resp.status, 200)
            self.assertTrue(seller.resp.getheader("Content-Type").startswith("text/event-stream"))
            for s in (seller, buyer, stranger):
                s.wait_connected()
            # the buyer writes: the seller hears of it
            bm = self.send(self.fx.b1, t["id"], "live question")
            _, data = seller.next_event("message")
            self.assertEqual(data, {"thread_id": t["id"], "message_id": bm["id"], "from": "buyer",
                                    "status": "delivered"})
            # the seller answers: the buyer hears of it
            sm = self.send(self.fx.agent, t["id"], "live answer")
            _, data = buyer.next_event("message")
            if data["message_id"] == bm["id"]:  # the buyer's own message may come first
                _, data = buyer.next_event("message")
            self.assertEqual((data["thread_id"], data["message_id"], data["from"]), (t["id"], sm["id"], "seller"))
            # archive: a thread event
            self.assertEqual(self.srv.post("/v1/threads/%s/archive" % t["id"], None, self.fx.agent).status, 200)
            name, data = seller.next_event()
            while name == "message":
                name, data = seller.next_event()
            self.assertEqual((name, data), ("thread", {"thread_id": t["id"]}))
            # another seller hears nothing of S1's thread: its first event is its own
            om = self.send(self.fx.b2, other_t["id"], "for S2")
            _, data = stranger.next_event("message")
            self.assertEqual(data["message_id"], om["id"])
            self.assertEqual(data["thread_id"], other_t["id"])
        finally:
            for s in (seller, buyer, stranger):
                s.close()


if __name__ == "__main__":
    main()
