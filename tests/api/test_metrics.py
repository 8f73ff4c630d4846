# test_metrics.py - what an operator alerts on, read from /metrics over real HTTP (docs/operations.md,
# "Metrics and alerts"), and the dashboard and alert rules of docs/ checked against a real scrape.
import json
import os
import re
import smtplib
import socket
import threading
import time
import unittest
from collections import Counter

from parley_harness import BIN, HOST, MP, FastCase, main

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")

# ---- the exposition format ----------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')


def parse(text):
    """Prometheus text format 0.0.4 -> (types {family: type}, samples [(name, labels dict, value)]).
    Fails on anything it does not understand, so a malformed line fails the test."""
    types, helps, samples = {}, set(), []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, "two TYPE lines for " + name
            types[name] = kind
            continue
        assert not line.startswith("#"), line
        m = _SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, body, value = m.groups()
        labels, pos = {}, 0
        while body and pos < len(body):
            lm = _LABEL.match(body, pos)
            assert lm, "bad labels in %r" % line
            assert lm.group(1) not in labels, line
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        samples.append((name, labels, float(value)))
    assert helps == set(types), "HELP and TYPE differ: %s" % (helps ^ set(types))
    return types, samples


def family(name, types):
    """The family a sample belongs to (a histogram's _bucket, _sum and _count are its own)."""
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return name


class Scrape:
    def __init__(self, text):
        self.text = text
        self.types, self.samples = parse(text)
        for name, _, _ in self.samples:
            assert family(name, self.types) in self.types, "no TYPE for " + name

    def get(self, name, **labels):
        """The value of the one sample of name with exactly these labels (0 when absent: a
        series shows once it has a value, as the per-route ones do)."""
        want = {k: str(v) for k, v in labels.items()}
        found = [v for n, l, v in self.samples if n == name and l == want]
        assert len(found) <= 1, (name, labels)
        return found[0] if found else 0

    def series(self, name):
        return [(l, v) for n, l, v in self.samples if n == name]

    def histograms(self, fam):
        """{labels without le (as a sorted tuple): ([(le, cumulative)], sum, count)}."""
        out = {}
        for n, l, v in self.samples:
            if family(n, self.types) != fam or n == fam:
                continue
            key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
            b, s, c = out.get(key, ([], None, None))
            if n.endswith("_bucket"):
                b.append((float("inf") if l["le"] == "+Inf" else float(l["le"]), v))
            elif n.endswith("_sum"):
                s = v
            else:
                c = v
            out[key] = (b, s, c)
        return out


def check_histograms(test, scrape):
    """Every histogram of the scrape: buckets ascending and cumulative, +Inf = _count."""
    for fam, kind in scrape.types.items():
        if kind != "histogram":
            continue
        for key, (buckets, total, count) in scrape.histograms(fam).items():
            test.assertIsNotNone(total, (fam, key))
            test.assertIsNotNone(count, (fam, key))
            les = [le for le, _ in buckets]
            test.assertEqual(les, sorted(les), (fam, key))
            test.assertEqual(les[-1], float("inf"), (fam, key))
            cums = [c for _, c in buckets]
            test.assertEqual(cums, sorted(cums), "buckets not monotonic: %s %s" % (fam, key))
            test.assertEqual(cums[-1], count, "+Inf is not _count: %s %s" % (fam, key))
            test.assertGreaterEqual(total, 0)


# ---- a relay that takes nothing ---------------------------------------------------------

class FakeRelay:
    """An SMTP server on 127.0.0.1 that refuses mail to the seller for good (550) and asks
    to try mail to anyone else later (451)."""

    def __init__(self, refuse_for_good):
        self.refuse = refuse_for_good.lower()
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.rcpts = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, c):
        with c, c.makefile("rb") as f:
            def say(s):
                c.sendall(s.encode() + b"\r\n")
            say("220 fake.relay ESMTP")
            for raw in f:
                line = raw.decode("utf-8", "replace").strip()
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    say("250 fake.relay")
                elif verb == "MAIL":
                    say("250 2.1.0 ok")
                elif verb == "RCPT":
                    self.rcpts.append(line)
                    say("550 5.1.1 no such user" if self.refuse in line.lower() else "451 4.3.0 try later")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")

    def stop(self):
        self.stopping = True
        self.sock.close()


def wait_for(pred, what, timeout=60):
    """Polls pred until it returns a true value (the figures are refreshed once a second)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


class Metrics(FastCase):
    own_store = True  # exact counts: this server and store see only this class's requests

    @classmethod
    def setUpClass(cls):
        from parley_harness import Fixture
        cls.relay = FakeRelay(Fixture.EMAILS["S1"])
        cls.server_args = ("--smtp-relay", "smtp://%s:%d" % (HOST, cls.relay.port), "--lmtp", HOST + ":0",
                           "--mail-trust", "envelope")
        try:
            super().setUpClass()
        except BaseException:
            cls.relay.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.relay.stop()

    def scrape(self):
        r = self.srv.get("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "text/plain; version=0.0.4")
        return Scrape(r.body.decode())

    def open_stream(self, token):
        s = socket.create_connection((HOST, self.srv.port), timeout=30)
        s.sendall(("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
        got = b""
        while b": connected" not in got:
            chunk = s.recv(4096)
            self.assertTrue(chunk, got)
            got += chunk
        self.assertIn(b" 200 ", got.split(b"\r\n")[0])
        return s

    def test_what_changes_with_traffic(self):
        fx = self.fx
        m0 = self.scrape()
        self.assertEqual(m0.get("parley_events_streams"), 0)
        # two routes: a buyer starts a thread (its message is mailed to the seller, whose
        # address the relay refuses for good); an agent lists threads
        oid = self.new_order("B1", "S1")
        thread, first = self.start_thread(fx.b1, oid, "other", "Is the drill cordless?")
        tid = thread["id"]
        r = self.srv.get("/v1/threads", fx.agent)
        self.assertEqual(r.status, 200, r)
        # the seller: a reply delivered (mailed to the buyer: the relay says later), an
        # upsell held for review, a review request rejected; what the policy finds in them,
        # as its dry-run check says
        upsell = "Yes. You could pair it with the matching battery pack."
        review = "Thanks for your order! Please leave us a review."
        found = Counter()
        for text in (upsell, review):
            r = self.srv.post("/v1/policy/check", {"text": text, "marketplace_id": MP}, fx.agent)
            self.assertEqual(r.status, 200, r)
            found.update(f["category"] for f in r.json["findings"])
        self.assertEqual(r.json["action"], "reject")
        reply = self.send(fx.agent, tid, "Yes, it is cordless and ships with two batteries.")
        self.assertEqual(reply["status"], "delivered", reply)
        held = self.send(fx.agent, tid, upsell)
        self.assertEqual(held["status"], "held_for_review", held)
        r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": review}, fx.agent)
        self.assertError(r, 422, "policy_violation")
        # requests no route takes: a path that is not there, a method no route has
        junk = "/v1/no-such-%s/%s" % (tid, fx.EMAILS["B1"])
        self.assertEqual(self.srv.get(junk).status, 404)
        self.assertEqual(self.srv.request("BREW", "/v1/threads/%s" % tid, token=fx.agent).status, 405)
        # a mail over LMTP for an alias that is no one's: refused
        lmtp_port = int(re.search(r"taking mail over LMTP/SMTP on [0-9.]+:(\d+)", self.srv.output()).group(1))
        with smtplib.LMTP(HOST, lmtp_port, timeout=30) as c:
            with self.assertRaises(smtplib.SMTPDataError):
                c.sendmail("someone@mail.test", ["nobody-here@relay.example.com"],
                           "From: someone@mail.test\r\nSubject: hi\r\n\r\nhello\r\n")
        # one live-event stream open
        stream = self.open_stream(fx.b1)
        try:
            # the deliveries happen in the background: wait for both outcomes
            def mailed():
                m = self.scrape()
                f = m.get("parley_outbox_deliveries_total", kind="forward", result="failed")
                rt = m.get("parley_outbox_deliveries_total", kind="forward", result="retried")
                return m if f >= 1 and rt >= 1 and m.get("parley_review_queue_length") == 1 and \
                    m.get("parley_outbox_pending", kind="forward") == 1 else None
            m1 = wait_for(mailed, "the outbox and the review queue figures")
            self.assertEqual(m1.get("parley_events_streams"), 1)
        finally:
            stream.close()

        d = lambda name, **l: m1.get(name, **l) - m0.get(name, **l)
        # answers per route pattern and method, with their status class
        req = lambda route, method, code: d("parley_http_requests_total", route=route, method=method, code=code)
        cnt = lambda route, method: d("parley_http_request_duration_seconds_count", route=route, method=method)
        self.assertEqual(req("/v1/threads", "POST", "2xx"), 1)
        self.assertEqual(cnt("/v1/threads", "POST"), 1)
        self.assertEqual(req("/v1/threads", "GET", "2xx"), 1)
        self.assertEqual(cnt("/v1/threads", "GET"), 1)
        self.assertEqual(req("/v1/threads/{id}/messages", "POST", "2xx"), 2)
        self.assertEqual(req("/v1/threads/{id}/messages", "POST", "4xx"), 1)
        self.assertEqual(cnt("/v1/threads/{id}/messages", "POST"), 3)
        self.assertEqual(req("/v1/policy/check", "POST", "2xx"), 2)
        self.assertEqual(req("other", "any", "4xx"), 2)  # the 404 and the 405
        self.assertEqual(cnt("/v1/events", "GET"), 1)    # a stream counts when it starts
        # the scrapes themselves, each counted when answered
        self.assertGreaterEqual(req("/metrics", "GET", "2xx"), 1)
        check_histograms(self, m1)
        # messages and the policy's verdicts: one of each verdict from the seller (the
        # buyer's message is no verdict), findings as the check found them
        self.assertEqual(d("parley_messages_total", status="held_for_review"), 1)
        self.assertEqual(d("parley_messages_total", status="rejected"), 1)
        self.assertEqual(d("parley_messages_total", status="delivered"), 2)
        for verdict in ("deliver", "review", "reject"):
            self.assertEqual(d("parley_policy_verdicts_total", verdict=verdict), 1, verdict)
        cats = {l["category"] for l, _ in m1.series("parley_policy_findings_total")}
        self.assertTrue(set(found) <= cats, (found, cats))
        for cat in cats:
            self.assertEqual(d("parley_policy_findings_total", category=cat), found.get(cat, 0), cat)
        # the outbox: the buyer's message failed for good, the reply waits for a retry
        self.assertEqual(d("parley_outbox_deliveries_total", kind="forward", result="failed"), 1)
        self.assertEqual(d("parley_outbox_deliveries_total", kind="forward", result="retried"), 1)
        self.assertEqual(d("parley_outbox_deliveries_total", kind="forward", result="delivered"), 0)
        self.assertEqual(m1.get("parley_outbox_pending", kind="refusal"), 0)
        self.assertTrue(0 <= m1.get("parley_outbox_oldest_pending_age_seconds", kind="forward") < 3600)
        self.assertEqual(m1.get("parley_review_queue_length"), 1)
        self.assertTrue(0 <= m1.get("parley_review_queue_oldest_age_seconds") < 3600)
        self.assertEqual(m1.get("parley_ops_figures_up"), 1)
        self.assertEqual(d("parley_mail_transactions_total", result="refused"), 1)
        self.assertEqual(d("parley_mail_transactions_total", result="delivered"), 0)
        # the store's transactions, reads and writes
        self.assertGreater(d("parley_store_transaction_duration_seconds_count", kind="write"), 0)
        self.assertGreater(d("parley_store_transaction_duration_seconds_count", kind="read"), 0)
        # the process
        version = self.srv.get("/healthz").json["version"]
        self.assertEqual(m1.series("parley_build_info"), [({"version": version}, 1.0)])
        started = m1.get("process_start_time_seconds")
        self.assertTrue(time.time() - 86400 < started <= time.time(), started)
        # the stream closed: the gauge comes back down
        wait_for(lambda: self.scrape().get("parley_events_streams") == 0, "the stream to close")

        # No label value is an id, an address or a path of this traffic (only patterns).
        secrets = [tid, first["id"], reply["id"], held["id"], oid, junk, "/v1/threads/" + tid,
                   "BREW", "nobody-here", "someone@mail.test"] + list(fx.EMAILS.values())
        for token in (fx.agent, fx.b1):
            secrets.append(token)
        with open(os.path.join(DOCS, "openapi.json")) as f:
            patterns = set(json.load(f)["paths"]) | {"static", "other"}
        for name, labels, _ in m1.samples:
            for k, v in labels.items():
                for s in secrets:
                    self.assertNotIn(s, v, "%s{%s=%r} shows %r" % (name, k, v, s))
                self.assertNotIn("@", v, (name, k, v))
                if k == "route":  # a pattern of the route table (docs/openapi.json lists this traffic's)
                    self.assertIn(v, patterns, (name, v))
                if k == "method":
                    self.assertIn(v, ("GET", "POST", "PUT", "DELETE", "any"), (name, v))

    def test_dashboard_and_alerts_name_only_real_metrics(self):
        import yaml  # python3-yaml (scripts/deps.sh test)
        with open(os.path.join(DOCS, "grafana", "parley.json")) as f:
            dash = json.load(f)
        with open(os.path.join(DOCS, "prometheus", "parley-alerts.yml")) as f:
            rules = yaml.safe_load(f)
        exprs = []

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k in ("expr", "query") and isinstance(v, str):
                        exprs.append(v)
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(dash)
        n_dash = len(exprs)
        self.assertGreaterEqual(n_dash, 10)
        # the datasource is a template variable
        self.assertIn("${datasource}", json.dumps(dash))
        self.assertIn("datasource", [v.get("name") for v in dash["templating"]["list"]])
        alerts = [r for g in rules["groups"] for r in g["rules"]]
        self.assertGreaterEqual(len(alerts), 7)
        for a in alerts:
            self.assertIn("alert", a)
            self.assertIn("for", a, a["alert"])
            self.assertIn("summary", a.get("annotations", {}), a["alert"])
            self.assertIn("description", a["annotations"], a["alert"])
            exprs.append(str(a["expr"]))
        scrape = self.scrape()
        have = set(scrape.types)
        names = set()
        for e in exprs:
            for n in re.findall(r"\b(parley_[a-z_]+|process_start_time_seconds)\b", e):
                for suffix in ("_bucket", "_sum", "_count"):
                    if n.endswith(suffix) and n[:-len(suffix)] in have:
                        n = n[:-len(suffix)]
                names.add(n)
        self.assertGreaterEqual(len(names), 10, names)
        self.assertEqual(sorted(names - have), [], "named in docs/grafana or docs/prometheus but not served")
        # every alert in docs/operations.md, and every metric the scrape has
        with open(os.path.join(DOCS, "operations.md")) as f:
            ops = f.read()
        section = ops[ops.index("## Metrics and alerts"):]
        for a in alerts:
            self.assertIn(a["alert"], section, a["alert"])
        for n in have:
            self.assertIn(n, section, n)


if __name__ == "__main__":
    main()
