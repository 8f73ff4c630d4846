#!/usr/bin/env python3
"""test_identities.py - who may still speak for a party once access is taken away.

Against a real `parley serve`: a revoked token is refused at once on the API, by its web
sessions, on SP-API, and its open event streams close; a deactivated agent's tokens and
sessions are refused, it cannot sign in or be assigned, its history stays; tokens expire;
a session cannot extend itself and an expired token mints nothing; the session cookie is
Secure over TLS and behind --trust-proxy with X-Forwarded-Proto: https, and not on plain
http; SP-API access tokens live only on SP-API (client_credentials refused) and /v1 tokens
only on /v1; a rule or an assignment naming another seller's agent is refused; an owner
administers only their own seller's agents and tokens.
"""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
import unittest
from urllib.parse import urlencode

from parley_harness import (BIN, FAST, HOST, MP, Fixture, ServerCase, Store, admin, agent_token, main,
                            run_cli)

FORM = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}


def cookies(resp):
    """name -> (value, attributes) of the Set-Cookie headers of a response."""
    out = {}
    for k, v in resp.header_list:
        if k == "set-cookie":
            first, _, attrs = v.partition(";")
            name, _, value = first.strip().partition("=")
            out[name] = (value, attrs)
    return out


def secure(attrs):
    return "secure" in [a.strip().lower() for a in attrs.split(";")]


class Stream:
    """One open GET /v1/events (bearer token or cookies)."""

    def __init__(self, port, headers, timeout=45):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.conn.request("GET", "/v1/events", headers=dict(headers, Accept="text/event-stream"))
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        for _ in range(20):
            if self.resp.readline().decode().rstrip("\n") == ": connected":
                return
        raise AssertionError("no ': connected' comment")

    def ends(self):
        """True once the server ends the stream, within 40 s (a revocation by another process
        is seen at the server's next 15 s tick); a stream left open sends pings meanwhile."""
        deadline = time.monotonic() + 40
        try:
            while time.monotonic() < deadline:
                line = self.resp.readline()
                if not line:
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except (http.client.IncompleteRead, ConnectionError):
            return True
        return False

    def close(self):
        self.conn.close()


class Identities(ServerCase):
    own_store = True  # tokens and agents are revoked and deactivated here
    fixture_kw = {"settings": FAST}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s2_owner = agent_token(cls.store, "S2", "Sue Owner", "owner")
        cls.cred = json.loads(admin(cls.store, "spapi-credentials", "--seller", "S1"))

    # ---- helpers ------------------------------------------------------------------------

    def new_agent(self, seller="S1", role="agent", name=None):
        """A fresh agent: (agent id, token)."""
        Identities._n = getattr(Identities, "_n", 0) + 1
        name = name or "Temp Agent %d" % Identities._n
        aid = admin(self.store, "agent", "add", "--seller", seller, "--name", name, "--role", role)
        return int(aid), admin(self.store, "token", "create", "--agent", aid)

    def me(self, token):
        r = self.srv.get("/v1/me", token)
        self.assertEqual(r.status, 200, r)
        return r.json

    def sign_in(self, token):
        r = self.srv.post("/v1/session", {"token": token})
        self.assertEqual(r.status, 201, r)
        c = cookies(r)
        return {"Cookie": "parley_session=%s; parley_csrf=%s" % (c["parley_session"][0], c["parley_csrf"][0])}, r, c

    def spapi_token(self):
        body = urlencode({"grant_type": "refresh_token", "refresh_token": self.cred["refresh_token"],
                          "client_id": self.cred["client_id"], "client_secret": self.cred["client_secret"]})
        r = self.srv.request("POST", "/auth/o2/token", raw=body.encode(), headers=FORM)
        self.assertEqual(r.status, 200, r)
        return r.json["access_token"]

    def sp_get(self, token, oid=None):
        oid = oid or self.fx.orders["B1/S1"][0]
        return self.srv.get("/messaging/v1/orders/%s/attributes?marketplaceIds=%s" % (oid, MP),
                            headers={"x-amz-access-token": token})

    def assertSp(self, r, status, code, details=None):
        self.assertEqual(r.status, status, r)
        err = r.json["errors"][0]
        self.assertEqual(err["code"], code, r)
        if details:
            self.assertEqual(err["details"], details, r)

    def token_id_of(self, token):
        return self.me(token)["token"]["id"]

    # ---- revocation ---------------------------------------------------------------------

    def test_revoked_token_refused_at_once_everywhere(self):
        aid, tok = self.new_agent()
        jar, _, _ = self.sign_in(tok)
        tid = self.token_id_of(tok)
        stream = Stream(self.srv.port, {"Authorization": "Bearer " + tok})
        cookie_stream = Stream(self.srv.port, jar)
        try:
            listed = self.srv.get("/v1/admin/tokens", self.fx.operator)
            self.assertEqual(listed.status, 200, listed)
            mine = [t for t in listed.json["tokens"] if t["owner"] == "agent:%d" % aid]
            self.assertEqual({t["scope"] for t in mine}, {"api", "session"})
            self.assertNotIn(tok, json.dumps(listed.json))  # never the secret
            r = self.srv.request("DELETE", "/v1/admin/tokens/%d" % tid, token=self.fx.operator)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["revoked"], 2)  # the token and the session signed in with it
            self.assertError(self.srv.get("/v1/me", tok), 401, "token_revoked")
            self.assertError(self.srv.get("/v1/threads", headers=jar), 401, "token_revoked")
            self.assertError(self.srv.post("/v1/session", {"token": tok}), 401, "token_revoked")
            self.assertTrue(stream.ends(), "the bearer token's event stream stayed open")
            self.assertTrue(cookie_stream.ends(), "the session's event stream stayed open")
        finally:
            stream.close()
            cookie_stream.close()
        # a stream cannot be opened again either
        self.assertError(self.srv.get("/v1/events", tok), 401, "token_revoked")
        # listed as revoked only with all=true
        ids = [t["id"] for t in self.srv.get("/v1/admin/tokens", self.fx.operator).json["tokens"]]
        self.assertNotIn(tid, ids)
        allt = self.srv.get("/v1/admin/tokens?all=true", self.fx.operator).json["tokens"]
        self.assertTrue([t for t in allt if t["id"] == tid and t["revoked_at"]])

    def test_revoked_spapi_token_refused(self):
        sp = self.spapi_token()
        self.assertEqual(self.sp_get(sp).status, 200)
        spid = max(t["id"] for t in self.srv.get("/v1/admin/tokens", self.fx.owner).json["tokens"]
                   if t["scope"] == "spapi")
        # the seller's owner revokes the application's token
        r = self.srv.request("DELETE", "/v1/admin/tokens/%d" % spid, token=self.fx.owner)
        self.assertEqual(r.status, 200, r)
        self.assertSp(self.sp_get(sp), 403, "Unauthorized", "token_revoked")

    def test_revoked_by_cli_while_serving(self):
        """Another process revokes: the next request is refused, and the open stream ends at
        the server's next tick (it follows the store's revocation counter, every 15 s)."""
        aid, tok = self.new_agent()
        tid = self.token_id_of(tok)
        stream = Stream(self.srv.port, {"Authorization": "Bearer " + tok})
        try:
            out = admin(self.store, "token", "revoke", str(tid))
            self.assertIn("revoked token %d" % tid, out)
            self.assertError(self.srv.get("/v1/me", tok), 401, "token_revoked")
            self.assertTrue(stream.ends(), "the stream stayed open after a revocation by another process")
        finally:
            stream.close()

    # ---- deactivation -------------------------------------------------------------------

    def test_deactivated_agent(self):
        aid, tok = self.new_agent()
        jar, _, _ = self.sign_in(tok)
        oid = self.new_order("B1", "S1")
        thread, _ = self.start_thread(self.fx.b1, oid, "other", "Where is my parcel?")
        sent = self.send(tok, thread["id"], "It left the warehouse today.")
        r = self.srv.post("/v1/threads/%s/assign" % thread["id"], {"agent_id": aid}, self.fx.owner)
        self.assertEqual(r.json["assignee_id"], aid, r)
        stream = Stream(self.srv.port, {"Authorization": "Bearer " + tok})
        try:
            # an owner of another seller cannot, and neither can a plain agent
            r = self.srv.post("/v1/admin/agents/%d/deactivate" % aid, None, self.s2_owner)
            self.assertError(r, 404, "not_found")
            r = self.srv.post("/v1/admin/agents/%d/deactivate" % aid, None, self.fx.agent)
            self.assertError(r, 403, "forbidden")
            self.assertEqual(self.srv.get("/v1/me", tok).status, 200)
            r = self.srv.post("/v1/admin/agents/%d/deactivate" % aid, None, self.fx.owner)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["tokens_revoked"], 2)
            self.assertError(self.srv.get("/v1/me", tok), 401, "agent_deactivated")
            self.assertError(self.srv.get("/v1/me", headers=jar), 401, "agent_deactivated")
            self.assertTrue(stream.ends(), "the deactivated agent's event stream stayed open")
        finally:
            stream.close()
        # its threads go back to the team
        th = self.srv.get("/v1/threads/" + thread["id"], self.fx.owner).json["thread"]
        self.assertIsNone(th.get("assignee_id"))
        # it cannot sign in, get a token, or be assigned
        self.assertError(self.srv.post("/v1/session", {"token": tok}), 401, "agent_deactivated")
        p = run_cli(["admin", "token", "create", "--agent", str(aid)], self.store)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("agent_deactivated", p.stderr)
        r = self.srv.post("/v1/threads/%s/assign" % thread["id"], {"agent_id": aid}, self.fx.owner)
        self.assertError(r, 400, "unknown_agent")
        agents = {a["id"]: a for a in self.srv.get("/v1/agents", self.fx.owner).json["agents"]}
        self.assertFalse(agents[aid]["active"])
        for _ in range(8):  # round-robin never picks it
            r = self.srv.post("/v1/threads/%s/assign" % thread["id"], {"round_robin": True}, self.fx.owner)
            self.assertEqual(r.status, 200, r)
            self.assertNotEqual(r.json["assignee_id"], aid)
        # its history stays
        msgs = self.srv.get("/v1/threads/" + thread["id"], self.fx.owner).json["messages"]
        self.assertIn(sent["id"], [m["id"] for m in msgs])

    def test_owner_administers_only_own_seller(self):
        aid, tok = self.new_agent("S1")
        tid = self.token_id_of(tok)
        # S2's owner sees none of S1's tokens and cannot revoke them
        listed = self.srv.get("/v1/admin/tokens", self.s2_owner).json["tokens"]
        self.assertTrue(listed)
        self.assertEqual({t["seller_id"] for t in listed}, {"S2"})
        self.assertError(self.srv.request("DELETE", "/v1/admin/tokens/%d" % tid, token=self.s2_owner),
                         404, "not_found")
        # an owner never sees operator or buyer tokens either
        op_id = self.token_id_of(self.fx.operator)
        self.assertError(self.srv.request("DELETE", "/v1/admin/tokens/%d" % op_id, token=self.fx.owner),
                         404, "not_found")
        for who in (self.fx.agent, self.fx.read_only, self.fx.b1):
            self.assertError(self.srv.get("/v1/admin/tokens", who), 403, "forbidden")
        # an owner cannot lock themselves out
        own = self.me(self.fx.owner)["agent_id"]
        self.assertError(self.srv.post("/v1/admin/agents/%d/deactivate" % own, None, self.fx.owner),
                         400, "invalid_input")
        self.assertEqual(self.srv.get("/v1/me", tok).status, 200)

    # ---- expiry and sessions ------------------------------------------------------------

    def wait_expired(self, **req):
        deadline = time.monotonic() + 40
        while True:  # polls until the token's second has passed
            r = self.srv.request("GET", "/v1/me", **req)
            if r.status == 401 or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    def test_token_expiry(self):
        aid = admin(self.store, "agent", "add", "--seller", "S1", "--name", "Short Lived")
        tok = admin(self.store, "token", "create", "--agent", aid, "--expires-in", "2")
        self.assertError(self.wait_expired(token=tok), 401, "token_expired")

    def test_session_cannot_extend_itself(self):
        aid = admin(self.store, "agent", "add", "--seller", "S1", "--name", "Session Agent")
        # long enough that the requests below come before it ends on a loaded machine
        tok = admin(self.store, "token", "create", "--agent", aid, "--expires-in", "15")
        jar, r, c = self.sign_in(tok)
        # the session ends when its token ends, not 12 hours later
        max_age = int(re.search(r"Max-Age=(\d+)", c["parley_session"][1]).group(1))
        self.assertLessEqual(max_age, 15)
        session = c["parley_session"][0]
        # a session token never mints another session
        self.assertError(self.srv.post("/v1/session", {"token": session}), 403, "session_not_renewable")
        self.assertError(self.srv.post("/v1/session", {"token": session}, headers=jar), 403,
                         "session_not_renewable")
        self.assertError(self.wait_expired(headers=jar), 401, "token_expired")
        # once ended, neither the session nor its token mints anything
        self.assertError(self.srv.post("/v1/session", {"token": session}), 401, "token_expired")
        self.assertError(self.srv.post("/v1/session", {"token": tok}), 401, "token_expired")
        # a long-lived token's session lasts 12 hours at most
        _, _, c = self.sign_in(self.fx.agent)
        max_age = int(re.search(r"Max-Age=(\d+)", c["parley_session"][1]).group(1))
        self.assertLessEqual(max_age, 12 * 3600)
        self.assertGreater(max_age, 12 * 3600 - 120)

    def test_plain_http_cookie_not_secure(self):
        _, _, c = self.sign_in(self.fx.b1)
        self.assertFalse(secure(c["parley_session"][1]), c)
        # without --trust-proxy, X-Forwarded-Proto is not believed
        r = self.srv.post("/v1/session", {"token": self.fx.b1}, headers={"X-Forwarded-Proto": "https"})
        self.assertFalse(secure(cookies(r)["parley_session"][1]))

    # ---- scopes -------------------------------------------------------------------------

    def test_spapi_token_scope(self):
        sp = self.spapi_token()
        self.assertEqual(self.sp_get(sp).status, 200)
        # the SP-API token is refused on /v1, for sign-in and for event streams
        self.assertError(self.srv.get("/v1/me", sp), 401, "wrong_token_scope")
        self.assertError(self.srv.get("/v1/threads", sp), 401, "wrong_token_scope")
        self.assertError(self.srv.post("/v1/session", {"token": sp}), 401, "wrong_token_scope")
        self.assertError(self.srv.get("/v1/events", sp), 401, "wrong_token_scope")
        # a /v1 token (even the same seller's owner's) is refused on SP-API
        self.assertSp(self.sp_get(self.fx.owner), 403, "Unauthorized", "wrong_token_scope")
        self.assertSp(self.sp_get(self.fx.operator), 403, "Unauthorized", "wrong_token_scope")
        # client_credentials grants nothing
        body = urlencode({"grant_type": "client_credentials", "client_id": self.cred["client_id"],
                          "client_secret": self.cred["client_secret"],
                          "scope": "sellingpartnerapi::notifications"})
        r = self.srv.request("POST", "/auth/o2/token", raw=body.encode(), headers=FORM)
        self.assertEqual((r.status, r.json["error"]), (400, "unauthorized_client"), r)
        self.assertNotIn("access_token", r.json)

    # ---- rules and assignments ----------------------------------------------------------

    def test_rule_and_assignment_name_only_own_agents(self):
        other = self.me(self.fx.s2)["agent_id"]
        rule = {"name": "refunds to Otto", "conditions": {"words": ["refund"]},
                "actions": [{"type": "assign", "agent_id": other}]}
        self.assertError(self.srv.post("/v1/rules", rule, self.fx.owner), 400, "unknown_agent")
        self.assertError(self.srv.post("/v1/rules", dict(rule, actions=[{"type": "assign", "agent_id": 999999}]),
                                       self.fx.owner), 400, "unknown_agent")
        rules = self.srv.get("/v1/rules", self.fx.owner).json
        self.assertNotIn("refunds to Otto", json.dumps(rules))
        # a rule naming the seller's own agent is fine; replacing it with another seller's is not
        sam = self.me(self.fx.agent)["agent_id"]
        r = self.srv.post("/v1/rules", dict(rule, actions=[{"type": "assign", "agent_id": sam}]), self.fx.owner)
        self.assertEqual(r.status, 201, r)
        rid = r.json["rule"]["id"]
        self.assertError(self.srv.put("/v1/rules/" + rid, rule, self.fx.owner), 400, "unknown_agent")
        # a direct assignment to another seller's agent
        oid = self.new_order("B1", "S1")
        thread, _ = self.start_thread(self.fx.b1, oid, "other", "Hello")
        r = self.srv.post("/v1/threads/%s/assign" % thread["id"], {"agent_id": other}, self.fx.owner)
        self.assertError(r, 400, "unknown_agent")
        th = self.srv.get("/v1/threads/" + thread["id"], self.fx.owner).json["thread"]
        self.assertIsNone(th.get("assignee_id"))


def start_server(store, extra):
    """`parley serve` on a port the kernel picks; the port read from its first line (http or https)."""
    log = open(os.path.join(store.dir, "serve-%d.log" % time.monotonic_ns()), "w+")
    proc = subprocess.Popen([BIN, "serve", "--db", store.url, "--key-file", store.key_file,
                             "--listen", HOST + ":0", "--threads", "2"] + extra,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError("parley serve exited: " + log.read())
        log.seek(0)
        m = re.search(r"listening on https?://[0-9.]+:(\d+)", log.read())
        if m:
            return proc, log, int(m.group(1))
        time.sleep(0.05)  # polling its first line only
    proc.kill()
    raise RuntimeError("parley serve did not start")


class SecureCookies(unittest.TestCase):
    """The session cookie is Secure over TLS, and behind --trust-proxy when the proxy says https."""

    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        cls.fx = Fixture(cls.store, orders_b1_s1=0, orders_b2_s1=0, orders_b1_s2=0)
        cls.cert = os.path.join(cls.store.dir, "cert.pem")
        cls.key = os.path.join(cls.store.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", cls.key, "-out", cls.cert],
                       check=True, capture_output=True, timeout=120)
        cls.procs = []

    @classmethod
    def tearDownClass(cls):
        for proc, log in cls.procs:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()
        cls.store.cleanup()

    def serve(self, extra):
        proc, log, port = start_server(self.store, extra)
        self.procs.append((proc, log))
        return port

    def sign_in(self, conn, headers=None):
        h = {"Content-Type": "application/json", "Connection": "close"}
        h.update(headers or {})
        deadline = time.monotonic() + 60
        while True:
            try:
                conn.request("POST", "/v1/session", body=json.dumps({"token": self.fx.b1}), headers=h)
                r = conn.getresponse()
                break
            except (ConnectionError, ssl.SSLError, OSError):
                if time.monotonic() > deadline:
                    raise
                conn.close()
                time.sleep(0.1)  # the listener is up before the first line; retry only on refusal
        r.read()
        self.assertEqual(r.status, 201)
        return {v.split("=", 1)[0]: v for k, v in r.getheaders() if k.lower() == "set-cookie"}

    def test_tls(self):
        port = self.serve(["--tls-cert", self.cert, "--tls-key", self.key])
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = self.sign_in(http.client.HTTPSConnection(HOST, port, context=ctx, timeout=30))
        self.assertTrue(secure(c["parley_session"].partition(";")[2]), c)
        self.assertTrue(secure(c["parley_csrf"].partition(";")[2]), c)

    def test_trust_proxy(self):
        port = self.serve(["--trust-proxy"])
        c = self.sign_in(http.client.HTTPConnection(HOST, port, timeout=30), {"X-Forwarded-Proto": "https"})
        self.assertTrue(secure(c["parley_session"].partition(";")[2]), c)
        c = self.sign_in(http.client.HTTPConnection(HOST, port, timeout=30), {"X-Forwarded-Proto": "http"})
        self.assertFalse(secure(c["parley_session"].partition(";")[2]), c)
        c = self.sign_in(http.client.HTTPConnection(HOST, port, timeout=30))
        self.assertFalse(secure(c["parley_session"].partition(";")[2]), c)


if __name__ == "__main__":
    main()
