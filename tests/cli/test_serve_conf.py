#!/usr/bin/env python3
"""test_serve_conf.py - `parley serve --conf FILE` takes its options from the file, the command
line overrides them, a bad file stops it with the file and line; and the server tells a
service manager (sd_notify, NOTIFY_SOCKET) when it is ready, that it lives, and that it stops.
No systemd needed: the test is the service manager, with its own datagram socket."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

BIN = os.environ.get("PARLEY_BIN", "parley")


from parley_harness import http_get as get  # noqa: E402


class ServeConf(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="parley-serve-conf-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def web(self, name, marker):
        d = self.path(name)
        os.mkdir(d)
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!doctype html><title>%s</title>\n" % marker)
        return d

    def serve(self, args, env=None):
        p = subprocess.Popen([BIN, "serve"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, **(env or {})))
        self.procs.append(p)
        return p

    def port_of(self, p):
        for line in p.stdout:
            if "listening on" in line:
                return int(line.rsplit(":", 1)[1].split()[0])
        self.fail("parley serve did not start: " + p.stderr.read())

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        return out, err

    def test_options_come_from_the_file_and_the_command_line_overrides(self):
        web_a, web_b = self.web("web-a", "from-the-file"), self.web("web-b", "from-the-command-line")
        conf = self.write("parley.conf", "# parley.conf of the test\n\n"
                          "db = %s\nlisten = 127.0.0.1:0\nsmtp-relay = off\nlog-format = off\n"
                          "web = %s\n" % (self.path("p.db"), web_a))
        p = self.serve(["--conf", conf])
        port = self.port_of(p)
        self.assertEqual(get(port, "/healthz")[0], 200)
        status, body = get(port, "/")
        self.assertEqual(status, 200)
        self.assertIn(b"from-the-file", body)
        self.stop(p)
        self.assertTrue(os.path.exists(self.path("p.db")), "the file's db was not used")
        # The same file, with --web on the command line before --conf: the command line wins.
        p = self.serve(["--web", web_b, "--conf", conf])
        port = self.port_of(p)
        self.assertIn(b"from-the-command-line", get(port, "/")[1])
        self.stop(p)

    def assert_refused(self, text, *expected):
        conf = self.write("bad.conf", text)
        p = self.serve(["--conf", conf, "--db", self.path("p.db")])
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 2, err)
        for e in expected:
            self.assertIn(e.replace("FILE", conf), err)
        self.assertNotIn("listening", out)

    def test_a_bad_file_stops_it_with_the_file_and_line(self):
        self.assert_refused("listen = 127.0.0.1:0\nlisten-here = 1\n", "FILE:2: unknown option 'listen-here'")
        self.assert_refused("listen = 127.0.0.1:0\n\nlisten\n", "FILE:3: listen needs a value")
        self.assert_refused("db = " + "x" * 2000 + "\n", "FILE:1: the line is longer than 1024 bytes")
        p = self.serve(["--conf", self.path("missing.conf")])
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read the options file %s" % self.path("missing.conf"), err)

    def notify_socket(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(self.path("notify"))
        s.settimeout(500)  # a first start compiles the policy: minutes under ASan
        self.addCleanup(s.close)
        return s

    def test_tells_the_service_manager_ready_watchdog_and_stopping(self):
        s = self.notify_socket()
        p = self.serve(["--db", self.path("p.db"), "--listen", "127.0.0.1:0", "--smtp-relay", "off",
                        "--log-format", "off"],
                       env={"NOTIFY_SOCKET": self.path("notify"), "WATCHDOG_USEC": "200000"})
        first = s.recv(4096).decode()
        self.assertIn("READY=1", first.split("\n"))
        # READY=1 comes once the listener is up: it answers now.
        port = self.port_of(p)
        self.assertEqual(get(port, "/healthz")[0], 200)
        # The watchdog is fed while the server lives (at half of 0.2 s, so soon and often).
        self.assertEqual(s.recv(4096), b"WATCHDOG=1")
        self.assertEqual(s.recv(4096), b"WATCHDOG=1")
        p.send_signal(signal.SIGTERM)
        while True:
            m = s.recv(4096)
            if m != b"WATCHDOG=1":
                break
        self.assertEqual(m, b"STOPPING=1")
        p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0)

    def test_no_watchdog_unless_asked_for(self):
        s = self.notify_socket()
        p = self.serve(["--db", self.path("p.db"), "--listen", "127.0.0.1:0", "--smtp-relay", "off",
                        "--log-format", "off"], env={"NOTIFY_SOCKET": self.path("notify")})
        self.assertIn("READY=1", s.recv(4096).decode().split("\n"))
        port = self.port_of(p)
        self.assertEqual(get(port, "/healthz")[0], 200)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(s.recv(4096), b"STOPPING=1")  # and nothing in between
        p.communicate(timeout=60)


if __name__ == "__main__":
    unittest.main(verbosity=2)
