# test_multinode.py - three `parley serve` nodes on one PostgreSQL database behave as one.
"""Buyers and sellers write concurrently through different nodes. Nothing is lost or
duplicated, every node shows the same threads with consistent summaries, the audit log is
one unbroken hash chain, a review is requested once per order and a seller's rate limit
holds across nodes. Only meaningful with PARLEY_BACKEND=pg; skipped on SQLite."""
import concurrent.futures
import hashlib
import http.client
import json
import queue
import socket
import threading
import os
import struct
import subprocess
import time
import unittest

from parley_harness import (BACKEND, MP, Server, Store, agent_token, buyer_token, import_lines,
                            main, order_line, run_cli)

ZERO = "0" * 64
ROUNDS = 5       # buyer message + seller reply per thread
BUYERS = 6


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                       capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def audit_hash(prev, seller, at, actor, action, subject, detail):
    """store__audit_hash: BLAKE2b-256 over length-prefixed fields."""
    h = hashlib.blake2b(digest_size=32)
    for v in (prev, seller or "", str(at), actor, action, subject, detail or "{}"):
        b = v.encode("utf-8")
        h.update(struct.pack("=I", len(b)))
        h.update(b)
    return h.hexdigest()


@unittest.skipUnless(BACKEND in ("pg", "postgres"), "several nodes need PostgreSQL (PARLEY_BACKEND=pg)")
class MultiNode(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        now = time.time()
        fast = {"rate_per_second": 1000, "rate_burst": 1000}
        lines = [
            {"type": "marketplace", "id": MP, "name": "Example US", "domains": ["example.com"],
             "locale": "en-US", "settings": fast},
            {"type": "marketplace", "id": "A1PA6795UKMFR9", "name": "Example DE", "domains": ["example.de"],
             "locale": "de-DE"},
            {"type": "seller", "id": "S1", "marketplace": MP, "name": "Acme", "email": "s1@acme.test"},
            {"type": "seller", "id": "S2", "marketplace": MP, "name": "Other", "email": "s2@other.test"},
            {"type": "seller", "id": "S3", "marketplace": "A1PA6795UKMFR9", "name": "Limited",
             "email": "s3@limited.test"},
        ]
        cls.orders = []
        for i in range(BUYERS):
            b = "B%d" % (i + 1)
            lines.append({"type": "buyer", "id": b, "name": "Buyer %d" % (i + 1),
                          "email": "buyer%d@mail.test" % (i + 1), "locale": "en-US"})
            oid = "112-%07d-%07d" % (7000000 + i, 8000000 + i)
            lines.append(order_line(oid, "S1" if i % 2 == 0 else "S2", b))
            cls.orders.append(oid)
        cls.review_order = "112-7999999-8999999"
        review = order_line(cls.review_order, "S1", "B1")
        review["delivered_at"] = iso(now - 10 * 86400)
        review["shipped_at"] = iso(now - 12 * 86400)
        review["purchased_at"] = iso(now - 14 * 86400)
        lines.append(review)
        cls.limited_order = "112-7888888-8888888"
        lines.append(order_line(cls.limited_order, "S3", "B1", mp="A1PA6795UKMFR9"))
        p = import_lines(cls.store, lines)
        if p.returncode != 0:
            raise RuntimeError("import failed: " + p.stderr)
        cls.agents = {s: agent_token(cls.store, s, "Agent " + s) for s in ("S1", "S2", "S3")}
        cls.buyers = [buyer_token(cls.store, "B%d" % (i + 1)) for i in range(BUYERS)]
        cls.nodes = []
        try:
            for _ in range(3):  # one database, one key file, three nodes
                cls.nodes.append(Server(cls.store).start())
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes:
            if n.proc and n.proc.poll() is not None:  # a node that died shows why
                print("node exited with %s:\n%s" % (n.proc.returncode, n.output()))
            n.stop()
        cls.store.cleanup()

    def node(self, i):
        return self.nodes[i % 3]

    def test_1_concurrent_conversations(self):
        threads = []
        for i, oid in enumerate(self.orders):
            r = self.node(i).post("/v1/threads", {"order_id": oid, "topic": "other", "text": "start %d" % i},
                                  self.buyers[i])
            self.assertEqual(r.status, 201, r)
            threads.append(r.json["thread"]["id"])

        def write(job):
            i, k, seller = job
            tok = self.agents["S1" if i % 2 == 0 else "S2"] if seller else self.buyers[i]
            text = "%s %d.%d" % ("reply" if seller else "question", i, k)
            r = self.node(i + k + (1 if seller else 0)).post(
                "/v1/threads/%s/messages" % threads[i], {"text": text}, tok, timeout=120)
            return r.status, (r.json or {}).get("message", {}).get("id"), text, r

        jobs = [(i, k, seller) for k in range(ROUNDS) for i in range(BUYERS) for seller in (False, True)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(write, jobs))
        for status, _, _, r in results:
            self.assertEqual(status, 201, r)
        ids = [mid for _, mid, _, _ in results]
        self.assertEqual(len(set(ids)), len(ids), "a message id was handed out twice")

        for i, tid in enumerate(threads):
            views = []
            for n in range(3):
                r = self.node(n).get("/v1/threads/" + tid, self.agents["S1" if i % 2 == 0 else "S2"])
                self.assertEqual(r.status, 200, r)
                views.append(r.json)
            msgs = views[0]["messages"]
            for v in views[1:]:  # every node shows the same record
                self.assertEqual([m["id"] for m in v["messages"]], [m["id"] for m in msgs])
                self.assertEqual(v["thread"], views[0]["thread"])
            texts = sorted(m["text"] for m in msgs)
            want = sorted(["start %d" % i] + ["question %d.%d" % (i, k) for k in range(ROUNDS)]
                          + ["reply %d.%d" % (i, k) for k in range(ROUNDS)])
            self.assertEqual(texts, want, "lost or duplicated messages in thread %s" % tid)
            # The summary agrees with the record: buyer messages after the last answer.
            waiting = 0
            for m in msgs:
                if m.get("from", m.get("direction")) == "buyer":
                    waiting += 1
                elif m.get("kind") == "message" and m.get("status") == "delivered":
                    waiting = 0
            t = views[0]["thread"]
            self.assertEqual(t.get("waiting"), waiting, t)
            self.assertEqual(t.get("state") == "response_needed", waiting > 0, t)

        # Every node's inbox lists the same threads.
        lists = [self.node(n).get("/v1/threads?limit=100", self.agents["S1"]).json for n in range(3)]
        self.assertEqual([t["id"] for t in lists[0]["threads"]], [t["id"] for t in lists[1]["threads"]])
        self.assertEqual([t["id"] for t in lists[0]["threads"]], [t["id"] for t in lists[2]["threads"]])
        self.check_audit_chain()

    def test_2_review_requested_once(self):
        def ask(i):
            r = self.node(i).post("/v1/orders/%s/review-request" % self.review_order, None, self.agents["S1"],
                                  timeout=120)
            return r.status, r
        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(ask, range(6)))
        ok = [r for s, r in results if s == 201]
        self.assertEqual(len(ok), 1, results)
        for s, r in results:
            self.assertIn(s, (201, 403, 409), r)  # 403 already_requested
        rows = psql(self.store.url, "SELECT count(*) FROM review_requests WHERE order_id = '%s'" % self.review_order)
        self.assertEqual(rows, [["1"]])
        self.check_audit_chain()

    def test_3_rate_limit_holds_across_nodes(self):
        r = self.node(0).post("/v1/threads", {"order_id": self.limited_order, "topic": "other", "text": "hi"},
                              self.buyers[0])
        self.assertEqual(r.status, 201, r)
        tid = r.json["thread"]["id"]
        start = time.monotonic()

        def send(i):
            r = self.node(i).post("/v1/threads/%s/messages" % tid, {"text": "reply %d" % i}, self.agents["S3"],
                                  timeout=120)
            return r.status

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(send, range(18)))
        elapsed = time.monotonic() - start
        allowed = statuses.count(201)
        self.assertEqual(allowed + statuses.count(429), len(statuses), statuses)
        # Burst 5, one a second: one bucket for the seller whichever node answers.
        self.assertLessEqual(allowed, 5 + int(elapsed) + 1, (statuses, elapsed))
        self.assertGreaterEqual(allowed, 5, statuses)
        self.check_audit_chain()

    def stream(self, node, token, last_event_id=None):
        """Opens GET /v1/events on a node; returns (connection, queue of (event, id, data))."""
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        conn.request("GET", "/v1/events", headers=headers)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        q = queue.Queue()

        def read():
            ev, eid, data = None, None, None
            try:
                for raw in resp:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        ev = line[7:]
                    elif line.startswith("id: "):
                        eid = line[4:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                    elif line == "" and ev:
                        q.put((ev, eid, data))
                        ev, eid, data = None, None, None
            except (OSError, ValueError, AttributeError):  # closed by the test
                pass

        threading.Thread(target=read, daemon=True).start()
        sock = conn.sock

        def close():
            # shut the socket first: the reader holds the response's lock until data comes
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

        self.addCleanup(close)
        return conn, q

    def wait_event(self, q, pred, what):
        """The first event pred accepts; every event before it is returned too."""
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                item = q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(item)
            if pred(item):
                return item, seen
        self.fail("%s: no such event within 30 s (saw %d, the last: %r)" % (what, len(seen), seen[-3:]))

    def thread_of(self, i, seller):
        """The thread of order i (started here when no test started it yet)."""
        r = self.node(0).post("/v1/threads", {"order_id": self.orders[i], "topic": "other", "text": "hello"},
                              self.buyers[i])
        if r.status == 201:
            return r.json["thread"]["id"]
        self.assertEqual(r.status, 409, r)
        ts = self.node(0).get("/v1/threads?filter=all&limit=100", self.agents[seller]).json["threads"]
        return [t["id"] for t in ts if t.get("order_id") == self.orders[i]][0]

    def test_4_events_reach_clients_of_every_node(self):
        buyer = self.buyers[0]  # order 0 is S1's, order 1 S2's
        tid = self.thread_of(0, "S1")
        tid_s2 = self.thread_of(1, "S2")
        _, q1 = self.stream(self.node(1), self.agents["S1"])
        m = self.node(0).post("/v1/threads/%s/messages" % tid, {"text": "heard on node 1?"}, buyer)
        self.assertEqual(m.status, 201, m)
        mid = m.json["message"]["id"]
        (ev, eid, data), _ = self.wait_event(q1, lambda e: e[0] == "message" and e[2]["message_id"] == mid,
                                             "node 1 hears of a message written through node 0")
        self.assertEqual(data["thread_id"], tid)
        # another seller's agent hears nothing of it, on any node
        _, q_other = self.stream(self.node(2), self.agents["S2"])
        # a client that reconnects to a third node resumes after the event it last saw
        _, q2 = self.stream(self.node(2), self.agents["S1"], last_event_id=eid)
        m2 = self.node(0).post("/v1/threads/%s/messages" % tid, {"text": "and this one on node 2?"}, buyer)
        self.assertEqual(m2.status, 201, m2)
        mid2 = m2.json["message"]["id"]
        _, seen = self.wait_event(q2, lambda e: e[0] == "message" and e[2]["message_id"] == mid2,
                                  "node 2 resumes after the id node 1 gave")
        self.assertNotIn("resync", [e[0] for e in seen], "the resumed stream did not need a reload")
        self.assertNotIn(mid, [e[2].get("message_id") for e in seen if e[2]], "nothing seen twice")
        # S2's stream got only what S2 may see: the same message never reaches it
        marker = self.node(1).post("/v1/threads/%s/messages" % tid_s2, {"text": "for S2"}, self.buyers[1])
        self.assertEqual(marker.status, 201, marker)
        _, seen_other = self.wait_event(q_other, lambda e: e[0] == "message", "S2 hears of its own message")
        self.assertNotIn(mid2, [e[2].get("message_id") for e in seen_other if e[2]])
        # an id no node knows makes the stream ask for a reload
        _, q3 = self.stream(self.node(1), self.agents["S1"], last_event_id="E000000000000")
        self.wait_event(q3, lambda e: e[0] == "resync", "an unknown Last-Event-ID asks for a reload")

    def check_audit_chain(self):
        """Every seller's chain (and the platform's) links entry to entry, numbered without gaps
        or repeats whichever node appended, and ends at its head; `parley audit verify` agrees."""
        heads = psql(self.store.url, "SELECT chain, seq, hash FROM audit_heads ORDER BY chain")
        self.assertTrue(heads)
        for chain, seq, hash_ in heads:
            rows = psql(self.store.url, "SELECT id, coalesce(seller_id, ''), at, actor, action, subject, detail,"
                                        " prev_hash, hash, seq FROM audit WHERE chain = '%s' ORDER BY seq"
                                        % chain.replace("'", "''"))
            prev = ZERO
            for i, r in enumerate(rows):
                self.assertEqual(int(r[9]), i + 1, "chain %r: entry %s out of place" % (chain, r[0]))
                self.assertEqual(r[7], prev, "audit entry %s does not follow the one before" % r[0])
                self.assertEqual(r[8], audit_hash(prev, r[1], r[2], r[3], r[4], r[5], r[6]), r[0])
                prev = r[8]
            self.assertEqual([int(seq), hash_], [len(rows), prev], chain)
        out = run_cli(["audit", "verify", "--json"], self.store)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(json.loads(out.stdout)["ok"], out.stdout)


if __name__ == "__main__":
    main()
