# test_crash.py - SIGKILL in the middle of concurrent sends, again and again: every message
# the server acknowledged is stored exactly once, and every audit chain still verifies.
import concurrent.futures
import http.client
import json
import threading

from parley_harness import FastCase, Server, main, run_cli

CYCLES = 6
WRITERS = 8
ACKS_BEFORE_KILL = 24  # per cycle: the kill lands while the writers are still sending


class Crash(FastCase):
    own_store = True

    def test_kill_during_concurrent_sends(self):
        threads = []
        for i in range(4):
            t, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "crash thread %d" % i)
            threads.append(t["id"])
        acked = {}  # text -> message id, for every 201 the server gave
        lock = threading.Lock()
        for cycle in range(CYCLES):
            stop = threading.Event()
            count = [0]

            def writer(w):
                n = 0
                while not stop.is_set():
                    text = "cycle %d writer %d message %d" % (cycle, w, n)
                    n += 1
                    tok = self.fx.b1 if w % 2 else self.fx.agent
                    try:
                        r = self.srv.post("/v1/threads/%s/messages" % threads[w % len(threads)],
                                          {"text": text}, tok, timeout=10)
                    except (OSError, http.client.HTTPException):
                        return  # the server is gone: this one was never acknowledged
                    if r.status == 201:
                        with lock:
                            acked[text] = r.json["message"]["id"]
                            count[0] += 1
                            if count[0] >= ACKS_BEFORE_KILL:
                                stop.set()
                    elif r.status >= 500 or r.status == 0:
                        return

            with concurrent.futures.ThreadPoolExecutor(max_workers=WRITERS) as pool:
                futures = [pool.submit(writer, w) for w in range(WRITERS)]
                stop.wait(120)
                self.srv.kill()  # while the other writers are mid-request
                stop.set()
                for f in futures:
                    f.result(timeout=60)
            self.assertGreaterEqual(count[0], ACKS_BEFORE_KILL, "cycle %d sent too little" % cycle)
            self.srv = type(self).srv = Server(self.store, self.server_args).start()

        # every acknowledged message is there, once, under the id it was acknowledged with
        stored = {}
        for tid in threads:
            r = self.srv.get("/v1/threads/%s/export" % tid, self.fx.operator)  # the whole record
            self.assertEqual(r.status, 200, r)
            for m in r.json["messages"]:
                stored.setdefault(m["text"], []).append(m["id"])
        for text, mid in acked.items():
            self.assertEqual(stored.get(text), [mid], "acknowledged %r stored as %r" % (text, stored.get(text)))
        # and the audit log links, chain by chain
        out = run_cli(["audit", "verify", "--json"], self.store)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertTrue(json.loads(out.stdout.strip().splitlines()[-1])["ok"])


if __name__ == "__main__":
    main()
