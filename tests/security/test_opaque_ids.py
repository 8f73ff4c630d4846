#!/usr/bin/env python3
"""Ids reveal no volume: a seller who opens threads a day apart cannot tell from their ids how
many threads, messages or events the whole marketplace had in between (docs/api.md, "Ids")."""
import re
import sys
import threading
import http.client

import parley_harness as ph

REF = re.compile(r"^[A-Z]+[0-9a-z]{12}$")


class OpaqueIds(ph.FastCase):
    own_store = True

    def test_consecutive_threads_and_messages_are_not_numbered(self):
        ids, mids = [], []
        for _ in range(12):  # 12 random ids come sorted by chance once in 12! (479 million) runs
            t, m = self.start_thread(self.fx.b1, self.new_order("B1", "S1"))
            self.assertRegex(t["id"], REF)
            self.assertRegex(m["id"], REF)
            self.assertEqual(m["thread_id"], t["id"])
            ids.append(t["id"])
            mids.append(m["id"])
        # nothing numeric to subtract: no shared prefix beyond the type letter, not in order
        self.assertNotEqual(sorted(ids), ids)
        self.assertEqual(len({i[:5] for i in ids}), len(ids))
        self.assertEqual(len(set(mids)), len(mids))
        for i in ids + mids:
            self.assertIsNone(re.fullmatch(r"[A-Z]+\d+", i))

    def test_store_numbers_are_not_addresses(self):
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"))
        self.assertEqual(self.srv.get("/v1/threads/" + t["id"], self.fx.b1).status, 200)
        # the row numbers behind the refs, as the old ids wrote them, name nothing
        for n in range(1, 40):
            r = self.srv.get("/v1/threads/T%d" % n, self.fx.b1)
            self.assertError(r, 404, "not_found")
        # nor does a ref with one character changed, nor another type's prefix
        other = t["id"][:-1] + ("0" if t["id"][-1] != "0" else "1")
        self.assertEqual(self.srv.get("/v1/threads/" + other, self.fx.b1).status, 404)
        self.assertEqual(self.srv.get("/v1/threads/M" + t["id"][1:], self.fx.b1).status, 404)

    def test_error_messages_name_public_ids_only(self):
        oid = self.new_order("B1", "S1")
        t, _ = self.start_thread(self.fx.b1, oid)
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "again"}, self.fx.b1)
        self.assertEqual(r.status, 409, r)
        msg = r.json["error"]["message"]
        self.assertIn(t["id"], msg)
        self.assertIsNone(re.search(r"\bT\d+\b", msg), msg)

    def test_refs_survive_a_restart(self):
        t, m = self.start_thread(self.fx.b1, self.new_order("B1", "S1"))
        self.srv.stop()
        self.srv = type(self).srv = ph.Server(self.store).start()
        r = self.srv.get("/v1/threads/" + t["id"], self.fx.b1)
        self.assertEqual(r.status, 200, r)
        self.assertIn(m["id"], [x["id"] for x in r.json["messages"]])

    def test_event_ids_are_opaque_and_resume(self):
        t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"))
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        conn.request("GET", "/v1/events", headers={"Authorization": "Bearer " + self.fx.b1,
                                                   "Accept": "text/event-stream"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        got = []

        def read():
            for line in resp:
                line = line.decode().rstrip("\n")
                if line.startswith("id: "):
                    got.append(line[4:])
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # the buyer's own message makes an event on the buyer's stream
        self.send(self.fx.b1, t["id"], "One more detail about the order.")
        reader.join(30)
        conn.close()
        self.assertEqual(len(got), 1, "no event arrived")
        self.assertRegex(got[0], r"^E[0-9a-z]{12}$")
        # a reconnection with that id is taken (and a numeric one is not an error either)
        for last in (got[0], "12"):
            c2 = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
            c2.request("GET", "/v1/events", headers={"Authorization": "Bearer " + self.fx.b1,
                                                     "Last-Event-ID": last})
            self.assertEqual(c2.getresponse().status, 200)
            c2.close()


if __name__ == "__main__":
    sys.exit(ph.main())
