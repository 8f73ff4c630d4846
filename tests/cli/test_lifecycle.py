#!/usr/bin/env python3
"""test_lifecycle.py - `parley serve` stops gracefully on SIGTERM (requests in flight are
answered and stored, streams get a retry hint, the mail being sent is finished and the rest
stays in the outbox, the stop is bounded) and reloads its configuration on SIGHUP without
dropping a connection (docs/operations.md, "Stopping and reloading")."""
import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import socketserver
import sqlite3
import subprocess
import threading
import time
import unittest

from parley_harness import BIN, FAST, HOST, Fixture, Server, Store, order_line

WAIT = 60  # seconds any one condition may take on a busy machine


def wait_for(cond, what, timeout=WAIT):
    """Polls cond() until it is true; fails naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)  # polling a condition, not waiting for time to pass
    raise AssertionError("timed out waiting for " + what)


def wait_log(srv, pattern, count=1):
    """Waits until the server's output holds `pattern` (a regex) `count` times; the matches."""
    return wait_for(lambda: (lambda m: m if len(m) >= count else None)(re.findall(pattern, srv.output())),
                    "%r in the server's output" % pattern)


def partial_post(port, path, token, body, sent):
    """A POST whose headers and first `sent` bytes of body are on their way; the socket."""
    s = socket.create_connection((HOST, port), timeout=WAIT)
    head = ("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, HOST, token, len(body))).encode()
    s.sendall(head + body[:sent])
    return s


def wait_accepted(srv, n):
    """Waits until the server holds at least n connections besides the one that asks: until
    then a connection may still be in the kernel's queue, which a stop resets."""
    def held():
        m = re.search(r"^parley_http_connections (\d+)$", srv.get("/metrics").body.decode(), re.M)
        return int(m.group(1)) - 1 >= n
    wait_for(held, "%d connections to be taken" % n)


def post_once(port, path, token, body):
    """One POST on a new connection: ("answered", status, json), or ("closed", None, None)
    when the connection was refused or closed before any byte of an answer. A half answer
    raises (http.client.IncompleteRead)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=WAIT)
    try:
        try:
            conn.request("POST", path, body=json.dumps(body).encode(),
                         headers={"Authorization": "Bearer " + token, "Content-Type": "application/json",
                                  "Connection": "close"})
            r = conn.getresponse()
        except (OSError, http.client.BadStatusLine):  # RemoteDisconnected is both
            return "closed", None, None
        return "answered", r.status, json.loads(r.read())
    finally:
        conn.close()


def read_answer(s):
    """The whole HTTP answer on s: (status, headers, parsed body). A half answer raises."""
    r = http.client.HTTPResponse(s)
    r.begin()
    body = r.read()  # IncompleteRead on a cut answer
    return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(body) if body else None


def read_to_end(s):
    """Everything s receives until its peer closes it (a reset counts as closed)."""
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except ConnectionResetError:
        return out


class LifecycleCase(unittest.TestCase):
    """A store with the standard fixture; each test starts the servers it needs."""

    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        try:
            cls.fx = Fixture(cls.store, settings=FAST)
        except BaseException:
            cls.store.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.store.cleanup()

    _orders = 0

    def serve(self, *args):
        srv = Server(self.store, list(args)).start()
        self.addCleanup(srv.stop)
        return srv

    def new_thread(self, srv, text="a question"):
        LifecycleCase._orders += 1
        oid = "115-%07d-%07d" % (LifecycleCase._orders, 8000000 + LifecycleCase._orders)
        body = order_line(oid, "S1", "B1")
        del body["type"], body["id"]
        self.assertEqual(srv.put("/v1/orders/" + oid, body, self.fx.operator).status, 201)
        r = srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": text}, self.fx.b1)
        self.assertEqual(r.status, 201, r)
        return r.json["thread"]["id"], r.json["message"]["id"]

    def send_path(self, tid):
        return "/v1/threads/%s/messages" % tid

    def assertNoAnswerOnNewConnection(self, port):
        """A connection made while the server stops gets no byte of an answer: it is closed
        as soon as it is accepted (or refused, once the listening socket is gone)."""
        try:
            s = socket.create_connection((HOST, port), timeout=WAIT)
        except ConnectionRefusedError:
            return
        with s:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                return  # closed before the request went out
            self.assertEqual(read_to_end(s), b"")


class Stop(LifecycleCase):

    def test_sigterm_answers_what_is_in_flight_and_refuses_the_rest(self):
        # deadlines far beyond the test, so that only the stop ends a connection
        srv = self.serve("--smtp-relay", "off", "--header-timeout", "600", "--body-timeout", "600")
        port = srv.port
        tid, first = self.new_thread(srv, "before the stop")
        acked = {first}
        stream = socket.create_connection((HOST, port), timeout=WAIT)
        stream.sendall(("GET /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                        "Accept: text/event-stream\r\n\r\n" % (HOST, self.fx.agent)).encode())
        seen = b""
        while b": connected" not in seen:
            chunk = stream.recv(4096)
            self.assertTrue(chunk, "the stream closed before it was connected")
            seen += chunk
        idle = socket.create_connection((HOST, port), timeout=WAIT)  # open, nothing sent
        health = socket.create_connection((HOST, port), timeout=WAIT)
        health.sendall(("GET /healthz HTTP/1.1\r\nHost: %s\r\n" % HOST).encode())  # headers unfinished
        # sends whose bodies are still arriving when the signal comes
        slow = []
        for i in range(6):
            body = json.dumps({"text": "slow send %d" % i}).encode()
            slow.append((partial_post(port, self.send_path(tid), self.fx.agent, body, 5), body))
        wait_accepted(srv, 9)  # the stream, idle, health and the six slow sends

        # and clients sending as fast as they can, on new connections, until refused
        def sender(n):
            got = []
            for i in range(400):
                how, status, answer = post_once(port, self.send_path(tid), self.fx.b1, {"text": "fast %d-%d" % (n, i)})
                if how == "closed":
                    return got, how
                self.assertEqual(status, 201, answer)  # a complete answer (a cut one raises)
                got.append(answer["message"]["id"])
            return got, "still answering"

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            senders = [pool.submit(sender, n) for n in range(3)]
            wait_for(lambda: srv.output().count("route=/v1/threads/{id}/messages status=201") >= 6,
                     "the fast senders to be going")
            srv.proc.send_signal(signal.SIGTERM)
            wait_log(srv, r"msg=drain_start signal=SIGTERM")
            # a new connection is closed before anything of it is read
            self.assertNoAnswerOnNewConnection(port)
            results = [f.result(timeout=WAIT) for f in senders]
        for got, how in results:
            self.assertEqual(how, "closed")  # each ended refused, never with half an answer
            acked.update(got)

        # a request already on its way is answered: /healthz says the node is stopping
        health.sendall(b"\r\n")
        status, headers, body = read_answer(health)
        self.assertEqual(status, 503)
        self.assertEqual(body["error"]["code"], "server_stopping")
        self.assertEqual(headers.get("connection", "").lower(), "close")
        # the slow sends finish and are answered in full, each closing its connection
        for s, body in slow:
            s.sendall(body[5:])
            status, headers, answer = read_answer(s)
            self.assertEqual(status, 201, answer)
            self.assertEqual(headers.get("connection", "").lower(), "close")
            acked.add(answer["message"]["id"])
            s.close()
        # the idle connection is closed without a byte of an answer
        self.assertEqual(read_to_end(idle), b"")
        # the event stream ends with a retry hint, then the end of its chunked body
        rest = seen + read_to_end(stream)
        tail = rest[rest.index(b": connected"):]
        self.assertRegex(tail, rb"retry: \d+\n: the server is stopping; reconnect\n\n")
        self.assertTrue(rest.endswith(b"0\r\n\r\n"), rest[-80:])

        srv.proc.wait(timeout=WAIT)
        self.assertEqual(srv.stop(), 0, srv.output())
        self.assertRegex(srv.output(), r"msg=drain_end end=complete .*exit=0")
        self.assertIn("parley: stopped", srv.output())
        self.assertNotRegex(srv.output(), r"status=0 .*end=shutdown")  # nothing was cut

        # every request that was answered 201 is stored
        srv.start()
        r = srv.get("/v1/threads/%s?limit=100" % tid, self.fx.agent)
        self.assertEqual(r.status, 200, r)
        stored = {m["id"] for m in r.json["messages"]}
        self.assertEqual(acked - stored, set())
        for s in (idle, health, stream):
            s.close()

    def test_the_stop_is_bounded(self):
        # a body that trickles, with deadlines far beyond the stop's bound
        srv = self.serve("--smtp-relay", "off", "--shutdown-timeout", "1.5", "--body-timeout", "600",
                         "--header-timeout", "600")
        tid, _ = self.new_thread(srv)
        body = json.dumps({"text": "never finished"}).encode()
        s = partial_post(srv.port, self.send_path(tid), self.fx.agent, body, 3)
        wait_accepted(srv, 1)
        srv.proc.send_signal(signal.SIGTERM)
        # it exits long before the body deadline would end the request
        self.assertEqual(srv.proc.wait(timeout=WAIT), 0, srv.output())
        out = srv.output()
        self.assertRegex(out, r"level=warn msg=drain_end end=timeout .*cut_requests=1 .*exit=0")
        self.assertEqual(read_to_end(s), b"")  # cut, without half an answer
        s.close()

    def test_a_second_signal_exits_at_once(self):
        srv = self.serve("--smtp-relay", "off", "--shutdown-timeout", "600", "--body-timeout", "600")
        tid, _ = self.new_thread(srv)
        body = json.dumps({"text": "held open"}).encode()
        s = partial_post(srv.port, self.send_path(tid), self.fx.agent, body, 3)
        wait_accepted(srv, 1)
        srv.proc.send_signal(signal.SIGTERM)
        wait_log(srv, r"msg=drain_start")
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.proc.wait(timeout=WAIT), 1, srv.output())
        self.assertRegex(srv.output(), r"msg=drain_end end=second_signal .*exit=1")
        s.close()


class Options(unittest.TestCase):

    def test_a_bound_that_is_not_a_number_is_refused(self):
        for bad in ("abc", "-1", "1e9", ""):
            p = subprocess.run([BIN, "serve", "--db", "/nonexistent/p.db", "--shutdown-timeout", bad],
                               capture_output=True, text=True, timeout=WAIT)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--shutdown-timeout takes a number from 0 to 86400", p.stderr)


class SlowRelay(socketserver.ThreadingTCPServer):
    """An SMTP server on 127.0.0.1 that records each message's Message-ID; while `hold` is
    set it answers the end of DATA only once `release` is set (`holding` says it waits)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__((HOST, 0), SlowRelayHandler)
        self.ids = []
        self.lock = threading.Lock()
        self.hold = False
        self.holding = threading.Event()
        self.release = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return "smtp://%s:%d" % (HOST, self.server_address[1])


class SlowRelayHandler(socketserver.StreamRequestHandler):

    def handle(self):
        relay = self.server
        self.wfile.write(b"220 sink ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                m = re.search(rb"(?im)^Message-ID:\s*<([^>]+)>", data)
                if relay.hold:
                    relay.holding.set()
                    relay.release.wait(WAIT * 2)
                with relay.lock:
                    relay.ids.append(m.group(1).decode() if m else "?")
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class Mail(LifecycleCase):

    def lmtp_port(self, srv):
        return int(wait_log(srv, r"taking mail over LMTP/SMTP on [0-9.]+:(\d+)")[0])

    def test_the_mail_in_hand_is_sent_once_and_the_rest_stays_queued(self):
        relay = SlowRelay()
        self.addCleanup(relay.server_close)
        self.addCleanup(relay.shutdown)
        # three mails in the outbox (the seller is told of each buyer message), none sent yet
        queued = self.serve("--smtp-relay", "off")
        tid, _ = self.new_thread(queued, "first")
        for text in ("second", "third"):
            self.assertEqual(queued.post(self.send_path(tid), {"text": text}, self.fx.b1).status, 201)
        self.assertEqual(queued.stop(), 0)

        relay.hold = True
        srv = self.serve("--smtp-relay", relay.url(), "--lmtp", "127.0.0.1:0", "--mail-trust", "envelope")
        lport = self.lmtp_port(srv)
        self.assertTrue(relay.holding.wait(WAIT), "the relay never got the first mail")
        # an LMTP session in the middle of a transaction when the stop comes
        lm = socket.create_connection((HOST, lport), timeout=WAIT)
        f = lm.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        lm.sendall(b"LHLO mta.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        lm.sendall(b"MAIL FROM:<someone@mail.test>\r\n")
        self.assertTrue(f.readline().startswith(b"250"))

        srv.proc.send_signal(signal.SIGTERM)
        wait_log(srv, r"msg=drain_start")
        # the transaction not yet given its DATA is told to come back later (the MTA retries)
        self.assertTrue(f.readline().startswith(b"421 4.3.2"))
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((HOST, lport), timeout=WAIT).close()
        relay.release.set()  # the mail in hand goes through
        self.assertEqual(srv.proc.wait(timeout=WAIT), 0, srv.output())
        self.assertRegex(srv.output(), r"msg=drain_end end=complete .*outbox_released=2 ")
        self.assertEqual(len(relay.ids), 1)
        lm.close()

        # the next start sends the two given back, and not the one already sent
        relay.hold = False
        again = self.serve("--smtp-relay", relay.url())
        wait_for(lambda: len(relay.ids) >= 3, "the queued mail to be sent after the restart")
        self.assertEqual(again.stop(), 0)
        self.assertEqual(len(relay.ids), 3, relay.ids)
        self.assertEqual(len(set(relay.ids)), 3, relay.ids)
        with sqlite3.connect(self.store.url) as db:
            states = [r[0] for r in db.execute("SELECT state FROM outbox")]
        self.assertEqual(states, ["sent"] * 3)


UPS = "Track it: https://www.ups.com/track?n=1Z4E7W610398472615"


class Reload(LifecycleCase):

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def check(self, conn):
        conn.request("POST", "/v1/policy/check", body=json.dumps({"text": UPS}),
                     headers={"Authorization": "Bearer " + self.fx.agent, "Content-Type": "application/json"})
        r = conn.getresponse()
        body = json.loads(r.read())
        self.assertEqual(r.status, 200, body)
        return body["action"]

    def test_sighup_applies_the_new_policy_and_keeps_connections(self):
        self.config = os.path.join(self.store.dir, "policy.json")
        self.write_config(json.dumps({"allow_domains": []}))
        srv = self.serve("--smtp-relay", "off", "--config", self.config, "--header-timeout", "600")
        tid, _ = self.new_thread(srv)
        kept = http.client.HTTPConnection(HOST, srv.port, timeout=WAIT)  # keep-alive
        self.assertEqual(self.check(kept), "reject")
        stream = http.client.HTTPConnection(HOST, srv.port, timeout=WAIT)
        stream.request("GET", "/v1/events", headers={"Authorization": "Bearer " + self.fx.agent})
        events = stream.getresponse()
        while events.readline() != b": connected\n":
            pass

        self.write_config(json.dumps({"allow_domains": ["ups.com"]}))
        srv.proc.send_signal(signal.SIGHUP)
        wait_log(srv, r"parley: configuration reloaded")
        self.assertEqual(self.check(kept), "deliver")  # same connection, new policy
        # the stream goes on: a new message reaches it
        self.assertEqual(srv.post(self.send_path(tid), {"text": "after the reload"}, self.fx.b1).status, 201)
        while not events.readline().startswith(b"event: message"):
            pass

        # a configuration that does not compile is refused whole; the running one stays
        self.write_config(json.dumps({"actions": {"emoji": "explode"}}))
        srv.proc.send_signal(signal.SIGHUP)
        wait_log(srv, r"parley: configuration reload refused, the running one stays: .*(emoji|explode)")
        self.assertEqual(self.check(kept), "deliver")
        self.assertEqual(srv.post(self.send_path(tid), {"text": "after the refusal"}, self.fx.b1).status, 201)
        while not events.readline().startswith(b"event: message"):
            pass
        self.assertEqual(srv.proc.poll(), None)
        self.assertNotIn("end=shutdown", srv.output())
        kept.close()
        stream.close()

    def test_options_file_changes_apply_or_are_named(self):
        conf = os.path.join(self.store.dir, "serve.conf")
        with open(conf, "w") as f:
            f.write("log-level = info\n")
        srv = self.serve("--smtp-relay", "off", "--conf", conf, "--header-timeout", "600")
        kept = http.client.HTTPConnection(HOST, srv.port, timeout=WAIT)
        kept.request("GET", "/healthz")
        r = kept.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        with open(conf, "w") as f:
            # --listen on the command line overrides the file's: unchanged, not named
            f.write("log-level = warn\nlisten = 127.0.0.1:1\nmail-domain = parley.test\n")
        srv.proc.send_signal(signal.SIGHUP)
        wait_log(srv, r"parley: changed, takes effect at the next start: --mail-domain\n")
        before = srv.output().count("msg=request")
        kept.request("GET", "/healthz")
        r = kept.getresponse()
        r.read()
        self.assertEqual(r.status, 200)  # the same connection
        # an options file with an error is refused whole: the level stays warn
        with open(conf, "w") as f:
            f.write("log-level = info\nno-such-option = 1\n")
        srv.proc.send_signal(signal.SIGHUP)
        wait_log(srv, r"parley: configuration reload refused, the running one stays")
        kept.request("GET", "/healthz")
        r = kept.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        self.assertEqual(srv.stop(), 0)
        self.assertEqual(srv.output().count("msg=request"), before)  # info lines no longer written
        kept.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
