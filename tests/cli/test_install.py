#!/usr/bin/env python3
"""test_install.py - `cmake --install` (what `make install` runs) puts parley in FHS places under
a DESTDIR, and the installed program serves from there: it finds its web files and its reader
relative to itself, reads the installed /etc/parley/parley.conf, and the installed unit passes
`systemd-analyze verify` (skipped, visibly, where that program is absent). The helpers are
shared with tests/package/test_package.py, which checks the Debian package the same way."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

BIN = os.environ.get("PARLEY_BIN", "parley")
BUILD = os.environ.get("PARLEY_BUILD_DIR", os.path.dirname(BIN))

# What the unit must say, beyond what systemd-analyze checks (docs/operations.md).
UNIT_MUST = ["Type=notify", "WatchdogSec=", "ExecStart=/usr/bin/parley serve --conf /etc/parley/parley.conf",
             "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes", "StateDirectory=parley",
             "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
             "CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
             "SystemCallFilter=@system-service", "RestrictNamespaces=user net mnt", "LimitNOFILE="]


def serve_options():
    """The long options `parley serve --help` documents."""
    out = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"^  --([a-z][a-z-]*)", out, re.M))


from parley_harness import http_get as get  # noqa: E402


class InstalledTree(unittest.TestCase):
    """Checks shared by the make-install tree and the unpacked package. root holds usr/ and
    etc/; unit is the unit's path inside it."""

    def check_layout(self, root, unit):
        for exe in ("usr/bin/parley", "usr/bin/parley-reader"):
            self.assertTrue(os.access(os.path.join(root, exe), os.X_OK), exe)
        for f in ("usr/share/parley/web/index.html", "usr/share/parley/web/app.css",
                  "usr/share/parley/rules/en.rules", "etc/parley/parley.conf", unit):
            self.assertTrue(os.path.isfile(os.path.join(root, f)), f)
        man = [p for p in ("usr/share/man/man1/parley.1", "usr/share/man/man1/parley.1.gz")
               if os.path.isfile(os.path.join(root, p))]
        self.assertTrue(man, "no parley(1)")
        with open(os.path.join(root, unit)) as f:
            text = f.read()
        for line in UNIT_MUST:
            self.assertIn(line, text)
        # The options file speaks of every option of serve, and only of those.
        with open(os.path.join(root, "etc/parley/parley.conf")) as f:
            named = set(re.findall(r"^#?([a-z][a-z-]*)(?: =|$)", f.read(), re.M))
        self.assertEqual(named, serve_options() - {"conf"})

    def check_man_page(self, path):
        with open(path) as f:
            man = f.read()
        for opt in serve_options():
            self.assertIn("--" + opt, man, "parley(1) lacks serve --%s" % opt)
        for cmd in ("serve", "admin", "import", "export", "demo", "check", "metrics", "audit", "backup",
                    "restore"):
            self.assertIn(".SS parley %s\n" % cmd, man)

    def check_serves(self, root, tmp):
        """Runs root's parley with root's options file (the store and port overridden): it
        answers /healthz and serves root's web page, not the source tree's."""
        index = os.path.join(root, "usr/share/parley/web/index.html")
        with open(index, "a") as f:
            f.write("<!-- installed copy -->\n")
        env = {k: v for k, v in os.environ.items() if k != "PARLEY_READER"}
        parley, db = os.path.join(root, "usr/bin/parley"), os.path.join(tmp, "p.db")
        subprocess.run([parley, "admin", "--db", db, "buyer", "add", "--id", "B1", "--name", "Jane Doe",
                        "--email", "jane@mail.test"], check=True, capture_output=True, env=env)
        token = subprocess.run([parley, "admin", "--db", db, "token", "create", "--buyer", "B1"], check=True,
                               capture_output=True, text=True, env=env).stdout.strip()
        p = subprocess.Popen([os.path.join(root, "usr/bin/parley"), "serve",
                              "--conf", os.path.join(root, "etc/parley/parley.conf"),
                              "--db", os.path.join(tmp, "p.db"), "--listen", "127.0.0.1:0",
                              "--smtp-relay", "off"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            port = None
            for line in p.stdout:
                m = re.search(r"listening on http://127.0.0.1:(\d+)", line)
                if m:
                    port = int(m.group(1))
                    break
            if port is None:
                self.fail("the installed parley did not start: " + p.stderr.read())
            self.assertEqual(get(port, "/healthz")[0], 200)
            status, body = get(port, "/")
            self.assertEqual(status, 200)
            self.assertIn(b"<!-- installed copy -->", body)
            # An attachment is read by the parley-reader installed beside this parley.
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/v1/attachments?name=notes.txt", body=b"Assembly notes: tighten by hand.\n",
                      headers={"Authorization": "Bearer " + token})
            r = c.getresponse()
            answer = json.loads(r.read())
            c.close()
            self.assertEqual(r.status, 201, answer)
            self.assertIs(answer["attachment"]["readable"], True)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0)
            self.assertIn("attachments are read by %s:" % os.path.join(root, "usr/bin/parley-reader"), err)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()

    def check_unit_verifies(self, root, unit, tmp):
        sa = shutil.which("systemd-analyze")
        if not sa:
            print("SKIPPED: systemd-analyze verify (systemd-analyze is not installed)", flush=True)
            return
        # verify looks for the programs the unit runs: those of root, not of this machine.
        with open(os.path.join(root, unit)) as f:
            text = f.read().replace("ExecStart=/usr/bin/parley", "ExecStart=" + os.path.join(root, "usr/bin/parley"))
        if not os.access("/bin/kill", os.X_OK):
            text = text.replace("ExecReload=/bin/kill", "ExecReload=/bin/true")
        d = os.path.join(tmp, "unit")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "parley.service"), "w") as f:
            f.write(text)
        r = subprocess.run([sa, "verify", "--man=no", os.path.join(d, "parley.service")], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Unknown or misspelt settings are only warned about: none may be.
        self.assertNotIn("parley.service", r.stdout + r.stderr, r.stdout + r.stderr)


class MakeInstall(InstalledTree):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="parley-install-")
        self.root = os.path.join(self.tmp, "root")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_install_layout_and_the_installed_program_serves(self):
        def install():
            r = subprocess.run(["cmake", "--install", BUILD, "--prefix", "/usr"], capture_output=True, text=True,
                               env=dict(os.environ, DESTDIR=self.root), timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        install()
        unit = "usr/lib/systemd/system/parley.service"
        self.check_layout(self.root, unit)
        # Installing again leaves the operator's options file as it is.
        conf = os.path.join(self.root, "etc/parley/parley.conf")
        with open(conf, "a") as f:
            f.write("# the operator's change\n")
        install()
        with open(conf) as f:
            self.assertIn("# the operator's change", f.read())
        self.check_man_page(os.path.join(self.root, "usr/share/man/man1/parley.1"))
        self.check_serves(self.root, self.tmp)
        self.check_unit_verifies(self.root, unit, self.tmp)


if __name__ == "__main__":
    unittest.main(verbosity=2)
