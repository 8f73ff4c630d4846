# test_connections.py - holding connections must not take the service down: per-address and
# global limits with headroom, slow-loris deadlines, live-event stream caps, JSON 431.
"""Every wait here is for a condition (an answer, a close) with a bound; nothing sleeps a fixed
time and nothing asserts how long a step took. Attackers bind to 127.0.0.2.. so that the
per-address limit applies to them and not to the harness on 127.0.0.1."""
import json
import select
import socket
import time
import unittest

from parley_harness import HOST, ServerCase, main

BOUND = 30  # seconds any awaited condition may take on a loaded machine


def connect(port, source="127.0.0.1"):
    return socket.create_connection((HOST, port), timeout=BOUND, source_address=(source, 0))


def closed_by_server(sock, bound=BOUND):
    """Waits until the server ends the connection (EOF or reset); False if it stays open."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            try:
                if sock.recv(65536) == b"":
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
    return False


def read_answer(sock):
    """Reads one HTTP answer with a Content-Length body: (status, headers, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer: %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n]


def healthz_on(sock):
    """One /healthz on an open keep-alive connection; the status (the connection stays open)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: parley\r\n\r\n")
    return read_answer(sock)[0]


def accepted(port, source):
    """A connection from `source`, if the server serves it (it answers /healthz and stays open),
    else None (the server closed it at once)."""
    s = connect(port, source)
    try:
        if healthz_on(s) == 200:
            return s
    except (ConnectionError, OSError):
        pass
    s.close()
    return None


class BehindProxy(ServerCase):
    """--trust-proxy: every client comes from the proxy's address, which the per-address limit
    must not turn into one client's budget for everyone."""

    own_store = True
    server_args = ("--trust-proxy", "--max-connections", "64", "--max-connections-per-ip", "4",
                   "--header-timeout", "120")

    def test_the_proxy_address_holds_more_than_the_per_address_limit(self):
        held = []
        try:
            for i in range(12):
                s = accepted(self.srv.port, "127.0.0.2")
                self.assertIsNotNone(s, "connection %d through the proxy refused" % (i + 1))
                held.append(s)
        finally:
            for s in held:
                s.close()


class ConnectionLimits(ServerCase):
    """Small limits: 8 connections an address, 24 in all (the last 8 kept for addresses that
    hold fewer than 4). Deadlines long, so that the idle connections here stay."""

    own_store = True
    server_args = ("--max-connections", "24", "--max-connections-per-ip", "8",
                   "--header-timeout", "120")

    def setUp(self):
        self.held = []

    def tearDown(self):
        for s in self.held:
            s.close()
        # the places come back: wait until every slot of this test is released
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            m = self.srv.get("/metrics").body.decode()
            if "parley_http_connections 1\n" in m:
                return
            time.sleep(0.05)
        self.fail("connections were not released: " + m)

    def fill(self, source, n):
        for _ in range(n):
            s = accepted(self.srv.port, source)
            self.assertIsNotNone(s, "connection %d from %s refused" % (len(self.held) + 1, source))
            self.held.append(s)

    def test_past_the_per_address_limit_refused_others_served(self):
        self.fill("127.0.0.2", 8)
        extra = connect(self.srv.port, "127.0.0.2")
        self.held.append(extra)
        self.assertTrue(closed_by_server(extra), "the 9th connection of one address stays open")
        # another address is served, the harness on 127.0.0.1 too
        other = accepted(self.srv.port, "127.0.0.3")
        self.assertIsNotNone(other)
        self.held.append(other)
        self.assertEqual(self.srv.get("/healthz").status, 200)
        m = self.srv.get("/metrics").body.decode()
        self.assertRegex(m, r'parley_http_connections_refused_total\{reason="ip"\} [1-9]')
        # when the address lets go of one, it may open one again
        self.held.pop(0).close()
        deadline = time.monotonic() + BOUND
        again = None
        while again is None and time.monotonic() < deadline:
            again = accepted(self.srv.port, "127.0.0.2")
            if again is None:
                time.sleep(0.05)  # polling until the close is seen
        self.assertIsNotNone(again, "the released place was not given back")
        self.held.append(again)

    def test_reserve_keeps_room_for_a_light_client(self):
        # 16 of 24 taken by two addresses: the last 8 are for addresses holding fewer than 4
        self.fill("127.0.0.2", 8)
        self.fill("127.0.0.3", 8)
        heavy = connect(self.srv.port, "127.0.0.3")
        self.held.append(heavy)
        self.assertTrue(closed_by_server(heavy))
        self.fill("127.0.0.4", 4)  # a new address gets in, up to 4
        fifth = connect(self.srv.port, "127.0.0.4")
        self.held.append(fifth)
        self.assertTrue(closed_by_server(fifth), "a client past 3 connections used the reserve")
        # the operator's health check still answers
        self.assertEqual(self.srv.get("/healthz").status, 200)
        m = self.srv.get("/metrics").body.decode()
        self.assertRegex(m, r'parley_http_connections_refused_total\{reason="global"\} [1-9]')


class SlowLoris(ServerCase):
    """Deadlines made short: a request's headers within 2 s of its start, a body within 2 s
    (plus 1 s per 64 KiB); trickling, the requests below would take minutes."""

    own_store = True
    server_args = ("--header-timeout", "2", "--body-timeout", "2")

    def trickle(self, sock, data):
        """Sends data one byte at a time, each after the server had 0.2 s to close the
        connection; True when the server closed it before the last byte."""
        for i in range(len(data)):
            try:
                sock.send(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return True
            r, _, _ = select.select([sock], [], [], 0.2)
            if r:
                try:
                    if sock.recv(65536) == b"":
                        return True
                except ConnectionResetError:
                    return True
        return False

    def test_headers_one_byte_at_a_time_are_cut_off(self):
        s = connect(self.srv.port, "127.0.0.2")
        # 0.2 s a byte: the headers would take 2 minutes; the deadline is 2 s
        request = b"GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Slow: " + b"a" * 600 + b"\r\n\r\n"
        try:
            self.assertTrue(self.trickle(s, request), "a trickling client held its connection")
        finally:
            s.close()
        m = self.srv.get("/metrics").body.decode()
        self.assertRegex(m, r'parley_http_connections_cut_total\{reason="headers"\} [1-9]')
        self.assertEqual(self.srv.get("/healthz").status, 200)

    def test_body_one_byte_at_a_time_is_cut_off(self):
        s = connect(self.srv.port, "127.0.0.2")
        s.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer " +
                  self.fx.b1.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 600\r\n\r\n")
        try:
            self.assertTrue(self.trickle(s, b"{" + b" " * 598 + b"}"), "a trickled body held its connection")
        finally:
            s.close()
        m = self.srv.get("/metrics").body.decode()
        self.assertRegex(m, r'parley_http_connections_cut_total\{reason="body"\} [1-9]')

    def test_idle_connection_is_closed_after_the_header_deadline(self):
        s = connect(self.srv.port, "127.0.0.2")
        try:
            self.assertTrue(closed_by_server(s), "an idle connection stays open")
        finally:
            s.close()

    def test_a_prompt_client_is_served(self):
        s = connect(self.srv.port, "127.0.0.2")
        try:
            self.assertEqual(healthz_on(s), 200)
            self.assertEqual(healthz_on(s), 200)  # keep-alive: the next request is timed anew
        finally:
            s.close()


class StreamCap(ServerCase):
    """At most 3 live-event streams a principal."""

    own_store = True
    server_args = ("--max-streams", "3",)

    def open_stream(self, token):
        """(socket, status, body): the socket is open on 200 (first chunk read), closed else."""
        s = connect(self.srv.port)
        s.sendall(("GET /v1/events HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer %s\r\n"
                   "Accept: text/event-stream\r\n\r\n" % token).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        status = int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/") else 0
        if status == 200:
            while b"connected" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return s, status, buf
        s.close()
        return None, status, buf

    def test_cap_then_released_when_the_client_leaves(self):
        streams = []
        try:
            for _ in range(3):
                s, status, buf = self.open_stream(self.fx.b1)
                self.assertEqual(status, 200, buf)
                streams.append(s)
            r = self.srv.get("/v1/events", self.fx.b1)
            self.assertError(r, 429, "too_many_streams")
            # another principal is not affected
            other, status, _ = self.open_stream(self.fx.b2)
            self.assertEqual(status, 200)
            other.close()
        finally:
            for s in streams:
                s.close()
        # The client left: its places come back at once (the keeper sees the hang-up), not at
        # the next ping 15 s later. Bounded below that, so that a regression fails here.
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            s, status, _ = self.open_stream(self.fx.b1)
            if status == 200:
                s.close()
                break
            self.assertEqual(status, 429)
            time.sleep(0.05)
        self.assertEqual(status, 200, "streams were not released when the client left")

    def test_open_stream_count_in_metrics(self):
        s, status, _ = self.open_stream(self.fx.b2)
        self.assertEqual(status, 200)
        try:
            m = self.srv.get("/metrics").body.decode()
            self.assertRegex(m, r"parley_http_event_streams [1-9]")
        finally:
            s.close()


class ErrorBodies(ServerCase):
    """4xx answers that libmicrohttpd would write itself are JSON."""

    def raw(self, data):
        s = connect(self.srv.port)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answers and closes before reading everything
            return read_answer(s)
        finally:
            s.close()

    def check_431(self, header_bytes):
        status, headers, body = self.raw(b"GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Big: " +
                                         b"a" * header_bytes + b"\r\n\r\n")
        self.assertEqual(status, 431, body)
        self.assertIn("application/json", headers.get("content-type", ""))
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], "headers_too_large")
        self.assertIn("32768", err["message"])

    def test_431_headers_over_the_limit(self):
        self.check_431(40 * 1024)

    def test_431_headers_over_the_connection_memory(self):
        # larger than libmicrohttpd's per-connection memory: it would answer in HTML itself
        self.check_431(600 * 1024)

    def test_headers_under_the_limit_pass(self):
        status, _, _ = self.raw(b"GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertEqual(status, 200)

    def test_413_is_json(self):
        r = self.srv.post("/v1/threads", raw=b"{" + b" " * (1024 * 1024 + 10) + b"}", token=self.fx.b1)
        self.assertError(r, 413, "payload_too_large")


if __name__ == "__main__":
    main()
