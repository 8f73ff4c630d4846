#!/usr/bin/env python3
"""Webhooks (docs/webhooks.md) against a real HTTPS receiver on loopback: who may subscribe
what, signed deliveries a receiver verifies, the buyer's contact details masked for a
seller, retries until an answer is 2xx with every attempt logged, redelivery and the test
event, refusal of internal targets, and a restart that loses no pending delivery."""
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time

from parley_harness import ServerCase, Server, main, HOST


class Receiver:
    """An HTTPS server on 127.0.0.1 that records what it is sent and answers the statuses
    it is told to (then 200)."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "hook-cert.pem")
        key = os.path.join(directory, "hook-key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", self.cert],
                       check=True, capture_output=True, timeout=120)
        self.cv = threading.Condition()
        self.got = []
        self.answers = {}  # path -> statuses to answer, in turn
        self.big = set()   # paths answered with 70 KiB
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.cv:
                    todo = rec.answers.get(self.path)
                    status = todo.pop(0) if todo else 200
                    rec.got.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body, "status": status})
                    rec.cv.notify_all()
                payload = b"x" * (70 * 1024) if self.path in rec.big else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:
                    pass  # the worker hung up on a long answer

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return "https://%s:%d%s" % (HOST, self.port, path)

    def wait(self, pred, timeout=60):
        """The first request for which pred holds (waits for it)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for r in self.got:
                    if pred(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no such webhook request; got %r" % [(r["path"], r["body"][:80]) for r in self.got])
                self.cv.wait(left)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(secret, req, tolerance=300):
    """What a receiver does (docs/webhooks.md): the signature over "<t>.<body>" with the
    secret, and a timestamp near now."""
    parts = dict(p.split("=", 1) for p in req["headers"]["parley-signature"].split(",") if p.startswith("t="))
    t = int(parts["t"])
    sigs = [p[3:] for p in req["headers"]["parley-signature"].split(",") if p.startswith("v1=")]
    want = hmac.new(secret.encode(), ("%d." % t).encode() + req["body"], hashlib.sha256).hexdigest()
    return abs(time.time() - t) < tolerance and any(hmac.compare_digest(want, s) for s in sigs)


class Webhooks(ServerCase):
    own_store = True

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="parley-hooks-")
        cls.rx = Receiver(cls.tmp)
        cls.server_args = ["--webhook-allow", "%s:%d" % (HOST, cls.rx.port), "--webhook-ca", cls.rx.cert,
                           "--webhook-retry", "1"]
        cls.fixture_kw = {"settings": {"rate_per_second": 1000, "rate_burst": 1000}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.rx.stop()

    def hook(self, events, path, token=None):
        r = self.srv.post("/v1/webhooks", {"url": self.rx.url(path), "events": events}, token or self.fx.owner)
        self.assertEqual(r.status, 201, r)
        w = r.json["webhook"]
        self.assertRegex(w["secret"], r"^whsec_[0-9a-f]{64}$")
        return w

    def deliveries(self, wid, token=None):
        r = self.srv.get("/v1/webhooks/%s/deliveries" % wid, token or self.fx.owner)
        self.assertEqual(r.status, 200, r)
        return r.json["deliveries"]

    def wait_log(self, wid, pred, token=None, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            ds = self.deliveries(wid, token)
            if pred(ds):
                return ds
            if time.monotonic() > deadline:
                raise AssertionError("delivery log never matched: %r" % ds)
            time.sleep(0.05)

    def test_who_may_and_what(self):
        body = {"url": self.rx.url("/x"), "events": ["message.received"]}
        self.assertError(self.srv.post("/v1/webhooks", body, self.fx.b1), 403, "forbidden")
        self.assertError(self.srv.post("/v1/webhooks", body, self.fx.agent), 403, "forbidden")
        self.assertError(self.srv.post("/v1/webhooks", body, self.fx.read_only), 403, "forbidden")
        for url in ("http://hooks.example.com/x", "ftp://hooks.example.com/", "https://user:pw@hooks.example.com/",
                    "https://10.0.0.5/x", "https://169.254.169.254/latest/meta-data", "https://[::1]/x",
                    "https://localhost/x", "https://%s:1/x" % HOST, "not a url"):
            self.assertError(self.srv.post("/v1/webhooks", {"url": url, "events": ["message.received"]},
                                           self.fx.owner), 400, "invalid_input")
        self.assertError(self.srv.post("/v1/webhooks", {"url": "https://hooks.example.com/" + "a" * 2100,
                                                        "events": ["message.received"]}, self.fx.owner), 400, "invalid_input")
        self.assertError(self.srv.post("/v1/webhooks", {"url": self.rx.url(), "events": ["message.nope"]},
                                       self.fx.owner), 400, "invalid_input")
        self.assertError(self.srv.post("/v1/webhooks", {"url": self.rx.url(), "events": []}, self.fx.owner), 400, "invalid_input")
        self.assertError(self.srv.post("/v1/webhooks", {"url": self.rx.url()}, self.fx.owner), 400, "missing_field")
        # the secret is shown once; another owner, the operator and an agent see nothing of it
        w = self.hook(["message.received"], "/who")
        got = self.srv.get("/v1/webhooks/" + w["id"], self.fx.owner)
        self.assertEqual(got.status, 200, got)
        self.assertNotIn("secret", got.json["webhook"])
        self.assertNotIn("secret", json.dumps(self.srv.get("/v1/webhooks", self.fx.owner).json))
        self.assertError(self.srv.get("/v1/webhooks/" + w["id"], self.fx.operator), 404, "not_found")
        self.assertError(self.srv.get("/v1/webhooks/" + w["id"], self.fx.s2), 403, "forbidden")
        self.assertNotIn(w["id"], json.dumps(self.srv.get("/v1/webhooks", self.fx.operator).json))
        self.assertError(self.srv.request("DELETE", "/v1/webhooks/" + w["id"], token=self.fx.operator), 404, "not_found")
        r = self.srv.request("DELETE", "/v1/webhooks/" + w["id"], token=self.fx.owner)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.srv.get("/v1/webhooks/" + w["id"], self.fx.owner), 404, "not_found")

    def test_signed_and_masked(self):
        w = self.hook(["message.received", "message.delivered"], "/signed")
        t, _ = self.start_thread(self.fx.b1, self.new_order(), text="Hello! Call me at +1 415 555 0199 please.")
        req = self.rx.wait(lambda r: r["path"] == "/signed" and json.loads(r["body"])["type"] == "message.received")
        self.assertTrue(verify(w["secret"], req), req["headers"])
        self.assertFalse(verify("whsec_" + "0" * 64, req))
        self.assertEqual(req["headers"]["content-type"], "application/json")
        ev = json.loads(req["body"])
        self.assertRegex(ev["id"], r"^evt_[0-9a-f]{24}$")
        self.assertEqual(req["headers"]["parley-event-id"], ev["id"])
        d = ev["data"]
        self.assertEqual(d["thread_id"], t["id"])
        self.assertEqual(d["from"], "buyer")
        self.assertNotIn("555", d["text"])  # the seller's webhook reads what the seller reads
        self.assertNotIn("jane.doe", req["body"].decode())
        self.assertIn("@", d["buyer_alias"])
        # a tampered body does not verify
        bad = dict(req, body=req["body"].replace(b"buyer", b"BUYER"))
        self.assertFalse(verify(w["secret"], bad))
        # the seller's reply
        self.send(self.fx.agent, t["id"], "Thanks, it ships tomorrow.")
        req = self.rx.wait(lambda r: r["path"] == "/signed" and json.loads(r["body"])["type"] == "message.delivered")
        self.assertTrue(verify(w["secret"], req))
        self.assertEqual(json.loads(req["body"])["data"]["text"], "Thanks, it ships tomorrow.")
        ds = self.wait_log(w["id"], lambda ds: len(ds) == 2 and all(x["state"] == "delivered" for x in ds))
        self.assertEqual(ds[0]["last_attempt"]["status"], 200)
        self.assertEqual(ds[0]["last_attempt"]["answer"], "ok")
        # another seller's events do not reach it
        self.start_thread(self.fx.b1, self.new_order(seller="S2"), text="Meant for the second seller only.")
        self.start_thread(self.fx.b1, self.new_order(), text="Marker after the other shop.")
        self.rx.wait(lambda r: r["path"] == "/signed" and b"Marker after" in r["body"])
        self.assertFalse(any(r["path"] == "/signed" and b"second seller" in r["body"] for r in self.rx.got))

    def test_retries_until_2xx(self):
        w = self.hook(["message.received"], "/retry")
        with self.rx.cv:
            self.rx.answers["/retry"] = [500, 503]
        self.start_thread(self.fx.b1, self.new_order(), text="Retry me please.")
        ds = self.wait_log(w["id"], lambda ds: ds and ds[0]["state"] == "delivered")
        self.assertEqual(ds[0]["attempts"], 3)
        self.assertEqual(ds[0]["last_attempt"]["status"], 200)
        tries = [r for r in self.rx.got if r["path"] == "/retry"]
        self.assertEqual([r["status"] for r in tries], [500, 503, 200])
        ids = {json.loads(r["body"])["id"] for r in tries}
        self.assertEqual(len(ids), 1)  # the same event each time
        self.assertTrue(all(verify(w["secret"], r) for r in tries))

    def test_long_answer_is_cut_off(self):
        # an answer over 64 KiB is not read to its end: the attempt failed, and it is retried
        w = self.hook(["message.received"], "/big")
        self.rx.big.add("/big")
        self.start_thread(self.fx.b1, self.new_order(), text="A long answer, please.")
        ds = self.wait_log(w["id"], lambda ds: ds and ds[0]["attempts"] >= 1)
        self.assertEqual(ds[0]["state"], "pending")
        self.assertIn("longer than 64 KiB", ds[0]["last_attempt"]["error"])
        self.assertEqual(ds[0]["last_attempt"]["status"], 0)
        self.rx.big.discard("/big")
        ds = self.wait_log(w["id"], lambda ds: ds and ds[0]["state"] == "delivered")
        self.assertEqual(ds[0]["last_attempt"]["status"], 200)
        # the log's page size has its limit
        self.assertError(self.srv.get("/v1/webhooks/%s/deliveries?limit=201" % w["id"], self.fx.owner),
                         400, "invalid_page")

    def test_test_event_and_redelivery(self):
        w = self.hook(["message.received"], "/test-ev")
        r = self.srv.post("/v1/webhooks/%s/test" % w["id"], None, self.fx.owner)
        self.assertEqual(r.status, 202, r)
        req = self.rx.wait(lambda x: x["path"] == "/test-ev" and json.loads(x["body"])["type"] == "webhook.test")
        first = json.loads(req["body"])["id"]
        ds = self.wait_log(w["id"], lambda ds: ds and ds[0]["state"] == "delivered")
        r = self.srv.post("/v1/webhooks/%s/deliveries/%s/redeliver" % (w["id"], ds[0]["id"]), None, self.fx.owner)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["delivery"]["event_id"], first)
        self.rx.wait(lambda x: x["path"] == "/test-ev" and len([y for y in self.rx.got if y["path"] == "/test-ev"]) >= 2)
        again = [json.loads(x["body"])["id"] for x in self.rx.got if x["path"] == "/test-ev"]
        self.assertEqual(again, [first, first])
        self.assertError(self.srv.post("/v1/webhooks/%s/deliveries/WD999999/redeliver" % w["id"], None, self.fx.owner),
                         404, "not_found")

    def test_secret_rotation_signs_with_both(self):
        w = self.hook(["message.received"], "/rotate")
        r = self.srv.put("/v1/webhooks/" + w["id"], {"rotate_secret": True}, self.fx.owner)
        self.assertEqual(r.status, 200, r)
        new = r.json["webhook"]["secret"]
        self.assertNotEqual(new, w["secret"])
        self.start_thread(self.fx.b1, self.new_order(), text="After the rotation.")
        req = self.rx.wait(lambda x: x["path"] == "/rotate")
        self.assertTrue(verify(new, req))
        self.assertTrue(verify(w["secret"], req))  # the old one, for a day
        self.assertEqual(req["headers"]["parley-signature"].count("v1="), 2)

    def test_internal_name_refused_when_connecting(self):
        # a name (not a literal) the operator did not allow, which resolves to an internal
        # address: this machine's own name (loopback or a private address); the worker
        # refuses before it connects, so nothing leaves
        import ipaddress
        name = socket.gethostname().lower()
        try:
            addrs = {ipaddress.ip_address(a[4][0].split("%")[0]) for a in socket.getaddrinfo(name, self.rx.port)}
        except OSError:
            addrs = set()
        if not addrs or not all(a.is_private or a.is_loopback or a.is_link_local for a in addrs) or "." not in name and name == "localhost":
            self.skipTest("this machine's name does not resolve to internal addresses only")
        r = self.srv.post("/v1/webhooks", {"url": "https://%s:%d/inner" % (name, self.rx.port),
                                           "events": ["message.received"]}, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        wid = r.json["webhook"]["id"]
        self.start_thread(self.fx.b1, self.new_order(), text="Should not reach loopback.")
        ds = self.wait_log(wid, lambda ds: ds and ds[0]["attempts"] >= 1)
        self.assertIn("refused", ds[0]["last_attempt"]["error"])
        self.assertEqual(ds[0]["last_attempt"]["status"], 0)
        self.assertFalse(any(x["path"] == "/inner" for x in self.rx.got))
        self.srv.request("DELETE", "/v1/webhooks/" + wid, token=self.fx.owner)

    def test_restart_loses_nothing(self):
        w = self.hook(["message.received"], "/restart")
        with self.rx.cv:
            self.rx.answers["/restart"] = [503] * 1000  # the receiver is down
        self.start_thread(self.fx.b1, self.new_order(), text="Across a restart.")
        self.wait_log(w["id"], lambda ds: ds and ds[0]["attempts"] >= 1 and ds[0]["state"] == "pending")
        self.srv.stop()
        with self.rx.cv:
            self.rx.answers["/restart"] = []  # it is back
        self.srv.start()
        ds = self.wait_log(w["id"], lambda ds: ds and ds[0]["state"] == "delivered")
        self.assertGreaterEqual(ds[0]["attempts"], 2)
        self.assertEqual(ds[0]["last_attempt"]["status"], 200)


if __name__ == "__main__":
    main()
