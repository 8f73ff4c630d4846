# parley_harness.py - starts a real `parley serve` on a fresh database and talks to it over HTTP.
"""Shared helpers of the black-box API tests.

Environment:
  PARLEY_BIN      the parley executable (required)
  PARLEY_BACKEND  store backend: "sqlite" (default); "pg" creates a database per store on the
                  server of PARLEY_TEST_PG_URL
"""
import atexit
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("PARLEY_BIN", "parley")
BACKEND = os.environ.get("PARLEY_BACKEND", "sqlite")
HOST = "127.0.0.1"
_RUNNING = []  # servers to stop if the test process ends without tearing them down


_SHARED = {}  # fixture arguments -> (Store, Fixture), one per test process


_SHARED_SERVERS = {}  # (fixture arguments, server arguments) -> Server on a shared store


@atexit.register
def _stop_all():
    for s in list(_SHARED_SERVERS.values()):
        s.stop()
    for s in list(_RUNNING):
        s.kill()
    for store, _ in _SHARED.values():
        store.cleanup()

# The import example of docs/import.md, one object a line, exactly as specified.
SPEC_EXAMPLE = [
    {"type": "marketplace", "id": "ATVPDKIKX0DER", "name": "Example US", "domains": ["example.com"],
     "locale": "en-US"},
    {"type": "seller", "id": "S1", "marketplace": "ATVPDKIKX0DER", "name": "Acme Tools",
     "email": "support@acme.test"},
    {"type": "buyer", "id": "B1", "name": "Jane Doe", "email": "jane@mail.test", "locale": "en-US",
     "opt_out": False},
    {"type": "order", "id": "112-4839201-5561023", "marketplace": "ATVPDKIKX0DER", "seller": "S1",
     "buyer": "B1", "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z",
     "shipped_at": "2026-10-02T08:00:00Z", "delivered_at": "2026-10-04T15:30:00Z",
     "items": [{"asin": "B0C1234567", "title": "Cordless drill", "quantity": 1, "price": "89.99",
                "currency": "USD"}]},
    {"type": "message", "id": "M1", "order": "112-4839201-5561023", "from": "buyer",
     "at": "2026-10-05T09:00:00Z", "topic": "product_question", "text": "Does it come with a charger?"},
    {"type": "message", "id": "M2", "order": "112-4839201-5561023", "from": "seller",
     "at": "2026-10-05T11:00:00Z", "text": "Yes, ...", "auto_reply": False},
    {"type": "message", "id": "M3", "asin": "B0C1234567", "seller": "S1", "buyer": "B1", "from": "buyer",
     "at": "2026-10-06T09:00:00Z", "topic": "product_specifications", "text": "..."},
    {"type": "flag", "message": "M1", "at": "2026-10-05T10:00:00Z", "no_response_needed": True},
]


class Response:
    """An HTTP answer: status, headers (lower-case names), parsed JSON (or None) and raw body."""

    def __init__(self, status, headers, body, header_list=()):
        self.status = status
        self.headers = headers
        self.header_list = list(header_list)  # (name, value) pairs, repeated names kept
        self.body = body
        self.json = None
        if "json" in headers.get("content-type", ""):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except ValueError:
                self.json = None

    def __iter__(self):  # allows `status, headers, body = resp`
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Store:
    """A fresh database (and key file) in a private temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="parley-api-")
        self.key_file = os.path.join(self.dir, "parley.key")
        self.url = db_url(self.dir)

    def files(self):
        """The files holding the store's data (SQLite: db, -wal, -shm)."""
        if BACKEND != "sqlite":
            return []
        return [p for p in (self.url, self.url + "-wal", self.url + "-shm") if os.path.exists(p)]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def db_url(directory):
    """The --db argument of a fresh store for the selected backend: the one place that knows.

    pg: a new database on the server of PARLEY_TEST_PG_URL (scripts/pg-test.sh), named
    after the directory, so that every store starts empty."""
    if BACKEND == "sqlite":
        return os.path.join(directory, "parley.db")
    if BACKEND in ("pg", "postgres"):
        base = os.environ.get("PARLEY_TEST_PG_URL") or os.environ.get("PARLEY_PG_URL")
        if not base:
            raise unittest.SkipTest("PARLEY_BACKEND=pg needs PARLEY_TEST_PG_URL (scripts/pg-test.sh)")
        name = "parley_" + re.sub(r"[^a-z0-9]", "_", os.path.basename(directory).lower())
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", base, "-c",
                            'CREATE DATABASE "%s"' % name], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("cannot create database %s: %s" % (name, p.stderr))
        head, _, query = base.partition("?")
        return head.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    raise RuntimeError("unknown PARLEY_BACKEND %r" % BACKEND)


def http_get(port, path, timeout=30):
    """One GET on a new connection to 127.0.0.1:port (a server the test started itself):
    (status, body bytes)."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def run_cli(args, store, stdin=None, timeout=300):
    """Runs `parley ARGS --db URL --key-file KEY`; returns the CompletedProcess (text mode)."""
    cmd = [BIN] + list(args) + ["--db", store.url, "--key-file", store.key_file]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)


def import_lines(store, lines):
    """Writes objects (or raw strings) as JSON lines to a file and runs `parley import`."""
    path = os.path.join(store.dir, "import-%d.jsonl" % time.monotonic_ns())
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))
            f.write("\n")
    return run_cli(["import", path], store)


def admin(store, *args):
    """Runs `parley admin ARGS`; returns its standard output, stripped; fails loudly."""
    p = run_cli(["admin"] + list(args), store)
    if p.returncode != 0:
        raise RuntimeError("parley admin %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout.strip()


def agent_token(store, seller, name, role="agent"):
    agent_id = admin(store, "agent", "add", "--seller", seller, "--name", name, "--role", role)
    return admin(store, "token", "create", "--agent", agent_id)


def buyer_token(store, buyer):
    return admin(store, "token", "create", "--buyer", buyer)


def operator_token(store, name="ops"):
    return admin(store, "token", "create", "--operator", name)


class Server:
    """A `parley serve` process on a port the kernel picks, on 127.0.0.1."""

    def __init__(self, store, extra_args=()):
        self.store = store
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log = os.path.join(store.dir, "serve-%d.log" % time.monotonic_ns())

    def start(self, timeout=180):
        cmd = [BIN, "serve", "--db", self.store.url, "--key-file", self.store.key_file,
               "--listen", HOST + ":0", "--threads", "4"] + self.extra_args
        self.port = None
        self.log = os.path.join(self.store.dir, "serve-%d.log" % time.monotonic_ns())
        self._out = open(self.log, "w+")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT)
        _RUNNING.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("parley serve exited with %d:\n%s" % (self.proc.returncode, self.output()))
            if self.port is None:
                m = re.search(r"listening on http://[0-9.]+:(\d+)", self.output())
                if m:
                    self.port = int(m.group(1))
            if self.port is not None:
                try:
                    if self.request("GET", "/healthz", timeout=2).status == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.05)  # polling /healthz (and the port line) only
        self.stop()
        raise RuntimeError("parley serve did not become healthy:\n" + self.output())

    def output(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL when it does not stop within 10 s. Returns the exit status."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait(timeout=10)
        elif self.proc:
            rc = self.proc.returncode
        self._closed()
        return rc

    def kill(self):
        """SIGKILL: no chance to flush anything."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._closed()

    def _closed(self):
        if self in _RUNNING:
            _RUNNING.remove(self)
        if getattr(self, "_out", None):
            self._out.close()
            self._out = None

    def request(self, method, path, body=None, token=None, raw=None, headers=None, timeout=30):
        """One request on a new connection. body: JSON-encoded; raw: bytes sent as they are."""
        h = {"Connection": "close"}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=data, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (413) before it has read the whole body
            r = conn.getresponse()
            payload = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, payload,
                            [(k.lower(), v) for k, v in r.getheaders()])
        finally:
            conn.close()

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.request("POST", path, body=body, token=token, **kw)

    def put(self, path, body=None, token=None, **kw):
        return self.request("PUT", path, body=body, token=token, **kw)


# ---- a standard fixture ----------------------------------------------------------------

MP = "ATVPDKIKX0DER"
MP_DOMAIN = "example.com"


def order_id(n):
    """A valid order id, distinct for each n."""
    return "112-%07d-%07d" % (4000000 + n, 5000000 + n)


def order_line(oid, seller, buyer, status="delivered", items=None, mp=MP):
    return {"type": "order", "id": oid, "marketplace": mp, "seller": seller, "buyer": buyer,
            "status": status, "purchased_at": "2026-10-01T10:00:00Z",
            "shipped_at": "2026-10-02T08:00:00Z", "delivered_at": "2026-10-04T15:30:00Z",
            "items": items if items is not None else
            [{"asin": "B0AAAA%04d" % (int(oid[-4:]) % 10000), "title": "Thing", "quantity": 1,
              "price": "9.99", "currency": "USD"}]}


# The API suites start conversations, send messages and upload files far faster than any
# one buyer or seller may (docs/rules.md, "Limits"); the standard marketplace lifts the
# limits of every party, and tests/security/test_limits.py sets small ones to test them.
UNLIMITED_PARTIES = {"buyer_messages_per_minute": 0, "buyer_messages_per_day": 0,
                     "buyer_threads_per_minute": 0, "buyer_threads_per_day": 0,
                     "buyer_uploads_per_hour": 0, "buyer_upload_bytes_per_day": 0,
                     "seller_uploads_per_hour": 0, "seller_upload_bytes_per_day": 0}


class Fixture:
    """Two sellers (S1 with owner, agent and read-only agents; S2), two buyers, some orders.

    Real addresses used here must never reach the database files in plain text."""

    EMAILS = {"S1": "support@acme-tools.test", "S2": "help@other-shop.test",
              "B1": "jane.doe.private@mail.test", "B2": "carlos.secret@mail.test"}

    def __init__(self, store, orders_b1_s1=4, orders_b2_s1=2, orders_b1_s2=2, extra_lines=(), settings=None):
        lines = [
            {"type": "marketplace", "id": MP, "name": "Example US", "domains": [MP_DOMAIN],
             "locale": "en-US", "settings": dict(UNLIMITED_PARTIES, **(settings or {}))},
            {"type": "seller", "id": "S1", "marketplace": MP, "name": "Acme Tools", "email": self.EMAILS["S1"]},
            {"type": "seller", "id": "S2", "marketplace": MP, "name": "Other Shop", "email": self.EMAILS["S2"]},
            {"type": "buyer", "id": "B1", "name": "Jane Doe", "email": self.EMAILS["B1"], "locale": "en-US"},
            {"type": "buyer", "id": "B2", "name": "Carlos Ruiz", "email": self.EMAILS["B2"], "locale": "es-US"},
        ]
        self.orders = {"B1/S1": [], "B2/S1": [], "B1/S2": []}
        n = 0
        for key, count in (("B1/S1", orders_b1_s1), ("B2/S1", orders_b2_s1), ("B1/S2", orders_b1_s2)):
            buyer, seller = key.split("/")
            for _ in range(count):
                n += 1
                oid = order_id(n)
                self.orders[key].append(oid)
                lines.append(order_line(oid, seller, buyer))
        lines.extend(extra_lines)
        p = import_lines(store, lines)
        if p.returncode != 0:
            raise RuntimeError("fixture import failed: " + p.stderr)
        # each CLI run starts the service; run them side by side
        jobs = {"owner": (agent_token, store, "S1", "Olga Owner", "owner"),
                "agent": (agent_token, store, "S1", "Sam Agent", "agent"),
                "read_only": (agent_token, store, "S1", "Rita Reader", "read_only"),
                "s2": (agent_token, store, "S2", "Otto Other", "agent"),
                "b1": (buyer_token, store, "B1"), "b2": (buyer_token, store, "B2"),
                "operator": (operator_token, store)}
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = {k: pool.submit(*v) for k, v in jobs.items()}
            for k, f in futures.items():
                setattr(self, k, f.result())


def shared_fixture(**kw):
    """The standard fixture in a store shared by the test classes of one process (setting
    up parties and tokens costs a CLI run each). Tests keep apart by using their own orders."""
    key = json.dumps(kw, sort_keys=True)
    if key not in _SHARED:
        store = Store()
        try:
            _SHARED[key] = (store, Fixture(store, **kw))
        except BaseException:
            store.cleanup()
            raise
    return _SHARED[key]


class ServerCase(unittest.TestCase):
    """A test class with the standard fixture and its own running server. The store is shared
    with the other classes of the process unless `own_store` is set (or extra lines are given)."""

    server_args = ()
    fixture_kw = {}
    own_store = False

    @classmethod
    def setUpClass(cls):
        cls._own = cls.own_store or bool(cls.fixture_kw.get("extra_lines"))
        if cls._own:
            cls.store = Store()
            try:
                cls.fx = Fixture(cls.store, **cls.fixture_kw)
            except BaseException:
                cls.store.cleanup()
                raise
        else:
            cls.store, cls.fx = shared_fixture(**cls.fixture_kw)
            # the classes of a process share one server too (each start compiles the policy)
            key = (json.dumps(cls.fixture_kw, sort_keys=True), tuple(cls.server_args))
            srv = _SHARED_SERVERS.get(key)
            if srv is None or srv.proc.poll() is not None:
                srv = _SHARED_SERVERS[key] = Server(cls.store, cls.server_args).start()
            cls.srv = srv
            return
        try:
            cls.srv = Server(cls.store, cls.server_args).start()
        except BaseException:
            cls.store.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if not cls._own:
            return  # the shared server stops when the process ends
        try:
            cls.srv.stop()
        finally:
            cls.store.cleanup()

    # ---- helpers -----------------------------------------------------------------------

    def assertError(self, resp, status, code):
        """The answer is `status` with the error body {"error":{"code":code,"message":...}}."""
        self.assertEqual(resp.status, status, resp)
        self.assertIsInstance(resp.json, dict, resp)
        self.assertIn("error", resp.json, resp)
        err = resp.json["error"]
        self.assertEqual(err.get("code"), code, resp)
        self.assertIsInstance(err.get("message"), str, resp)
        self.assertTrue(err["message"], resp)
        self.assertIn("application/json", resp.headers.get("content-type", ""))

    _next_order = 0

    def new_order(self, buyer="B1", seller="S1", status="delivered", asin=None):
        """A fresh order, recorded by the operator over the API; returns its id."""
        ServerCase._next_order += 1
        oid = "114-%07d-%07d" % (ServerCase._next_order, 7000000 + ServerCase._next_order)
        body = order_line(oid, seller, buyer, status)
        del body["type"], body["id"]
        if asin:
            body["items"][0]["asin"] = asin
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertEqual(r.status, 201, r)
        return oid

    def start_thread(self, token, oid, topic="other", text="Hello, a question about my order."):
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": topic, "text": text}, token)
        self.assertEqual(r.status, 201, r)
        return r.json["thread"], r.json["message"]

    def send(self, token, tid, text, **extra):
        body = {"text": text}
        body.update(extra)
        r = self.srv.post("/v1/threads/%s/messages" % tid, body, token)
        self.assertEqual(r.status, 201, r)
        return r.json["message"]

    def list_threads(self, token, **params):
        from urllib.parse import urlencode
        r = self.srv.get("/v1/threads" + ("?" + urlencode(params) if params else ""), token)
        self.assertEqual(r.status, 200, r)
        return r.json


# Marketplace settings under which sellers may send as fast as a test does (the default rate
# limit of seller operations is 1 a second, bursts of 5).
FAST = {"rate_per_second": 1000, "rate_burst": 1000}


class FastCase(ServerCase):
    """ServerCase whose marketplace does not rate-limit sellers."""

    fixture_kw = {"settings": FAST}


# Learning from the operator (docs/policy.md): a kind of promotion the shipped training data
# never showed the model (the seller's own podcast; tests/unit/policy_learn_cases.h has the
# same sentences). With the operator's thresholds of LEARN_CONFIG each is held for review;
# five rejections of LEARN_REJECTED and a training make LEARN_SIMILAR found in that
# marketplace.
LEARN_REJECTED = [
    "Episode twelve of our podcast covers how we roast the beans.",
    "This week's podcast episode is about this very kettle.",
    "Our podcast's last episode was about restoring vintage lamps.",
    "In episode nine of our podcast we restore an old radio.",
    "The latest episode of our podcast is on sourdough starters.",
]
LEARN_SIMILAR = "Our podcast has a fresh episode about knife sharpening."
LEARN_CONFIG = {"classifier": {"thresholds": {"promotion": {"finding": 0.8, "review": 0.15}}}}


def poll(cond, timeout=60.0, step=0.05):
    """Waits for cond() to be true (a bounded poll, never a fixed sleep); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def main():
    """unittest.main with the usual summary; exit status 1 on any failure."""
    unittest.main(verbosity=2)
