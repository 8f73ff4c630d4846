# test_logs.py - the access log: one line a request on standard error, in logfmt or JSON,
# naming the route's pattern and who called by id, never a token, an address or a text.
import json
import re
import time
import unittest

from parley_harness import Fixture, ServerCase, main

LOGFMT_PAIR = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|[^ "=]+)')


def parse_logfmt(line):
    """The fields of one logfmt line; fails unless the whole line is key=value pairs."""
    fields, pos = {}, 0
    while pos < len(line):
        m = LOGFMT_PAIR.match(line, pos)
        if not m:
            raise AssertionError("not logfmt at %d: %r" % (pos, line))
        v = m.group(2)
        fields[m.group(1)] = json.loads(v) if v.startswith('"') else v
        pos = m.end()
        if pos < len(line):
            if line[pos] != " ":
                raise AssertionError("no space after a pair at %d: %r" % (pos, line))
            pos += 1
    return fields


class AccessLog(ServerCase):
    own_store = True
    server_args = ()
    fmt = "logfmt"

    def log_lines(self):
        """The request lines so far, each parsed."""
        out = []
        for line in self.srv.output().splitlines():
            if self.fmt == "json" and line.startswith("{"):
                out.append(json.loads(line))  # every JSON line parses
            elif self.fmt == "logfmt" and line.startswith("time="):
                out.append(parse_logfmt(line))
        return [f for f in out if f.get("msg") == "request"]

    def lines_of(self, rids):
        """Polls the log until every request id has its line (a line is written when the
        exchange ends, maybe just after the client has read the answer)."""
        deadline = time.monotonic() + 30
        while True:
            by = {}
            for f in self.log_lines():
                by.setdefault(f.get("request_id"), []).append(f)
            if all(r in by for r in rids) or time.monotonic() > deadline:
                return by
            time.sleep(0.05)

    def test_one_line_a_request(self):
        oid = self.new_order("B1", "S1")
        secret_text = "my private question %d" % time.monotonic_ns()
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": secret_text}, self.fx.b1)
        self.assertEqual(r.status, 201, r)
        tid = r.json["thread"]["id"]
        created = r.headers["x-request-id"]
        reply = self.srv.post("/v1/threads/%s/messages" % tid, {"text": "the seller's answer"}, self.fx.agent)
        self.assertEqual(reply.status, 201, reply)
        anon = self.srv.get("/v1/threads/" + tid)
        self.assertEqual(anon.status, 401, anon)
        missing = self.srv.get("/v1/no/such/" + tid, self.fx.b1)
        self.assertEqual(missing.status, 404, missing)
        query = self.srv.get("/v1/threads?q=needle-in-query", self.fx.operator)
        self.assertEqual(query.status, 200, query)

        expect = {
            created: ("POST", "/v1/threads", 201, "buyer"),
            reply.headers["x-request-id"]: ("POST", "/v1/threads/{id}/messages", 201, "agent"),
            anon.headers["x-request-id"]: ("GET", "/v1/threads/{id}", 401, "none"),
            missing.headers["x-request-id"]: ("GET", "-", 404, "none"),  # refused before authentication
            query.headers["x-request-id"]: ("GET", "/v1/threads", 200, "operator"),
        }
        by = self.lines_of(list(expect))
        for rid, (method, route, status, principal) in expect.items():
            self.assertIn(rid, by, "no line for request %s" % rid)
            self.assertEqual(len(by[rid]), 1, by[rid])
            f = by[rid][0]
            self.assertEqual(f["method"], method, f)
            self.assertEqual(f["route"], route, f)
            self.assertEqual(int(f["status"]), status, f)
            self.assertEqual(f["principal"], principal, f)
            self.assertEqual(f["level"], "info", f)
            self.assertRegex(f["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertGreaterEqual(float(f["duration_ms"]), 0)
            self.assertGreater(int(f["bytes"]), 0)
        self.assertEqual(by[created][0]["buyer"], "B1")
        agent_line = by[reply.headers["x-request-id"]][0]
        self.assertEqual(agent_line["seller"], "S1")
        self.assertTrue(str(agent_line["agent"]).isdigit(), agent_line)
        self.assertEqual(by[query.headers["x-request-id"]][0]["operator"], "ops")

        # Nothing in the server's output identifies a party beyond its id or says what was written.
        out = self.srv.output()
        for tok in (self.fx.b1, self.fx.b2, self.fx.agent, self.fx.owner, self.fx.operator):
            self.assertNotIn(tok, out)
        for addr in Fixture.EMAILS.values():
            self.assertNotIn(addr, out)
        self.assertNotIn("@", "\n".join(l for l in out.splitlines() if "request_id" in l))
        for text in (secret_text, "the seller's answer", "needle-in-query"):
            self.assertNotIn(text, out)
        self.assertNotIn(tid, "\n".join(json.dumps(f) for fs in by.values() for f in fs))


class AccessLogJson(AccessLog):
    server_args = ("--log-format", "json")
    fmt = "json"


class AccessLogOff(ServerCase):
    own_store = True
    server_args = ("--log-format", "off")

    def test_nothing_logged(self):
        r = self.srv.get("/v1/me", self.fx.b1)
        self.assertEqual(r.status, 200, r)
        self.srv.get("/v1/nope")
        # a line is written when its exchange ends, maybe after the answer was read: once
        # the server has stopped, every line it would have written is there
        self.srv.stop()
        self.assertIn("listening on", self.srv.output())
        self.assertNotIn(r.headers["x-request-id"], self.srv.output())
        self.assertNotIn("msg=request", self.srv.output())


class AccessLogWarn(ServerCase):
    own_store = True
    server_args = ("--log-level", "warn")

    def test_only_server_errors(self):
        r = self.srv.get("/v1/me", self.fx.b1)
        self.assertEqual(r.status, 200, r)
        health = self.srv.get("/healthz")
        self.assertEqual(health.status, 200)
        self.srv.stop()  # every line it would have written is written (see AccessLogOff)
        self.assertIn("listening on", self.srv.output())
        self.assertNotIn("msg=request", self.srv.output())


if __name__ == "__main__":
    main()
