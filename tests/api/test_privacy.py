# test_privacy.py - real addresses stay out of the store files and the API; aliases are random and stable.
import os
import re
import stat
import unittest

from parley_harness import BACKEND, Fixture, FastCase, admin, main

ALIAS = re.compile(r"^([a-z0-9]{16,})@relay\.example\.com$")
EXTRA = {"B3": "Mixed.Case.Person@Mail.TEST", "S3": "owner.s3.hidden@shop-three.test"}


class Privacy(FastCase):
    _asin = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # parties added by the admin CLI while the server runs
        admin(cls.store, "buyer", "add", "--id", "B3", "--name", "Mixed Case", "--email", EXTRA["B3"])
        admin(cls.store, "seller", "add", "--id", "S3", "--marketplace", "ATVPDKIKX0DER", "--name", "Shop Three",
              "--email", EXTRA["S3"])

    def secrets(self):
        vals = list(Fixture.EMAILS.values()) + list(EXTRA.values())
        out = set()
        for v in vals:
            out.update({v, v.lower(), v.upper()})
            if "." in v.split("@")[0]:  # distinctive local parts alone too
                out.add(v.split("@")[0])
        return out

    def alias_of(self, token, tid):
        r = self.srv.get("/v1/threads/" + tid, token)
        self.assertEqual(r.status, 200, r)
        alias = r.json["thread"]["buyer_alias"]
        self.assertRegex(alias, ALIAS)
        return alias

    def use_the_api(self):
        """Threads, messages and orders through the API, so that every table has rows."""
        seen = []
        t1, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "other", "first order")
        t2, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S1"), "wrong_item", "second order")
        t3, _ = self.start_thread(self.fx.b1, self.new_order("B1", "S2"), "other", "other seller")
        t4, _ = self.start_thread(self.fx.b2, self.new_order("B2", "S1"), "other", "other buyer")
        Privacy._asin += 1
        r = self.srv.post("/v1/threads", {"asin": "B0PRIV%04d" % Privacy._asin, "seller_id": "S1", "topic": "product_specifications",
                                          "text": "pre-purchase"}, self.fx.b1)
        self.assertEqual(r.status, 201, r)
        t5 = r.json["thread"]
        self.send(self.fx.agent, t1["id"], "reply one")
        self.send(self.fx.s2, t3["id"], "reply three")
        return t1, t2, t3, t4, t5

    def test_aliases(self):
        t1, t2, t3, t4, t5 = self.use_the_api()
        a1 = self.alias_of(self.fx.agent, t1["id"])
        a2 = self.alias_of(self.fx.agent, t2["id"])
        a5 = self.alias_of(self.fx.agent, t5["id"])
        self.assertEqual(a1, a2)  # the same buyer and seller: one alias across orders
        self.assertEqual(a1, a5)  # and for product questions
        a3 = self.alias_of(self.fx.s2, t3["id"])
        self.assertNotEqual(a1, a3)  # another seller: another alias
        a4 = self.alias_of(self.fx.agent, t4["id"])
        self.assertNotEqual(a1, a4)  # another buyer
        self.assertEqual(a1, self.alias_of(self.fx.operator, t1["id"]))
        for a in (a1, a3, a4):
            local = ALIAS.match(a).group(1)
            # Names and ids must not show; two-character ids are left out, since 16 random
            # characters contain any given pair about once in a hundred aliases.
            for word in ("jane", "doe", "carlos", "ruiz", "acme"):
                self.assertNotIn(word, local)
        # the same aliases in the inbox rows
        rows = {t["id"]: t for t in self.list_threads(self.fx.agent, limit=100)["threads"]}
        self.assertEqual(rows[t1["id"]]["buyer_alias"], a1)
        self.assertEqual(rows[t4["id"]]["buyer_alias"], a4)

    def test_api_never_shows_addresses(self):
        t1, t2, t3, t4, t5 = self.use_the_api()
        bodies = []
        for tok in (self.fx.agent, self.fx.s2, self.fx.b1, self.fx.b2, self.fx.operator):
            bodies.append(self.srv.get("/v1/me", tok).body)
            bodies.append(self.srv.get("/v1/threads?limit=100", tok).body)
            for t in (t1, t3, t4, t5):
                bodies.append(self.srv.get("/v1/threads/" + t["id"], tok).body)
        for t in (t1, t3, t5):
            bodies.append(self.srv.get("/v1/threads/%s/export" % t["id"], self.fx.operator).body)
        bodies.append(self.srv.get("/metrics").body)
        blob = b"\n".join(bodies).decode("utf-8")
        for s in self.secrets():
            self.assertNotIn(s, blob)

    @unittest.skipUnless(BACKEND == "sqlite", "raw files only for the embedded store")
    def test_store_files_hold_no_address(self):
        self.use_the_api()
        files = self.store.files()
        self.assertTrue(any(f.endswith(".db") for f in files), files)

        def check(where):
            for path in self.store.files():
                with open(path, "rb") as f:
                    data = f.read()
                for s in self.secrets():
                    for enc in (s.encode("utf-8"), s.encode("utf-16-le")):
                        self.assertNotIn(enc, data, "%s in %s (%s)" % (s, os.path.basename(path), where))
                self.assertNotIn(b"mail.test", data.lower(), (path, where))

        # a positive control: the files read are the store (message texts are searchable)
        self.assertTrue(any(b"pre-purchase" in open(p, "rb").read() for p in self.store.files()))
        check("while serving")
        # after a clean stop (WAL checkpointed into the main file) and a restart
        self.srv.stop()
        try:
            check("after stop")
        finally:
            self.srv.start()
        self.assertEqual(self.srv.get("/v1/me", self.fx.b1).status, 200)

    def test_key_file(self):
        path = self.store.key_file
        self.assertTrue(os.path.isfile(path))
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        self.assertGreaterEqual(os.path.getsize(path), 32)
        with open(path, "rb") as f:
            key = f.read()
        if BACKEND == "sqlite":
            with open(self.store.url, "rb") as f:
                self.assertNotIn(key.strip(), f.read())


if __name__ == "__main__":
    main()
