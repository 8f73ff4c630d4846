# test_durability.py - what parley acknowledged survives SIGKILL of the server; a clean stop exits 0.
import concurrent.futures

from parley_harness import FastCase, main


class Durability(FastCase):

    def test_acknowledged_messages_survive_sigkill(self):
        oid = self.new_order("B1", "S1")
        t, first = self.start_thread(self.fx.b1, oid, "other", "durable question")
        acked = [first["id"]]
        acked.append(self.send(self.fx.agent, t["id"], "durable answer")["id"])

        # a burst of concurrent writes from both sides, all acknowledged before the kill
        def write(i):
            tok = self.fx.b1 if i % 2 else self.fx.agent
            r = self.srv.post("/v1/threads/%s/messages" % t["id"], {"text": "burst %d" % i}, tok)
            return r.status, (r.json or {}).get("message", {}).get("id")

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(write, range(40)))
        for status, mid in results:
            self.assertEqual(status, 201)
            acked.append(mid)
        self.assertEqual(len(set(acked)), len(acked))
        flag = self.srv.post("/v1/messages/%s/no-response-needed" % first["id"], {"value": True}, self.fx.agent)
        self.assertEqual(flag.status, 200)
        arch = self.srv.post("/v1/threads/%s/archive" % t["id"], None, self.fx.agent)
        self.assertEqual(arch.status, 200)
        order = self.srv.put("/v1/orders/" + oid, {"marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B1",
                                                   "status": "canceled"}, self.fx.operator)
        self.assertEqual(order.status, 200)

        self.srv.kill()
        self.srv.start()

        r = self.srv.get("/v1/threads/" + t["id"], self.fx.agent)
        self.assertEqual(r.status, 200, r)
        ids = [m["id"] for m in r.json["messages"]]
        self.assertEqual(sorted(ids), sorted(acked))
        texts = {m["text"] for m in r.json["messages"]}
        self.assertTrue({"durable question", "durable answer"} | {"burst %d" % i for i in range(40)} <= texts)
        self.assertTrue(r.json["messages"][0]["no_response_needed"])
        self.assertTrue(r.json["thread"]["archived"])
        self.assertEqual(r.json["order"]["status"], "canceled")
        # the tokens work after the restart and the audit chain is intact in the export
        ex = self.srv.get("/v1/threads/%s/export" % t["id"], self.fx.operator)
        self.assertEqual(ex.status, 200, ex)
        self.assertEqual(len(ex.json["messages"]), len(acked))

    def test_sigterm_stops_cleanly(self):
        self.srv.stop()
        self.assertEqual(self.srv.proc.returncode, 0, self.srv.output())
        self.assertIn("stopped", self.srv.output())
        self.srv.start()
        self.assertEqual(self.srv.get("/v1/me", self.fx.agent).status, 200)


if __name__ == "__main__":
    main()
