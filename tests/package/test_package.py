#!/usr/bin/env python3
"""test_package.py - the Debian package: `dpkg-buildpackage -b` builds it from debian/ (from a copy
of the source in the build tree: nocheck, parallel=2, ccache), dpkg unpacks it into a clean root
and registers /etc/parley/parley.conf as a conffile, the postinst enables the unit but starts it
only when systemd runs, and the program installed in that root serves. Skipped, visibly, when
dpkg-buildpackage or debhelper is missing (scripts/deps.sh test installs them)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from test_install import InstalledTree

SOURCE = os.environ["PARLEY_SOURCE_DIR"]
BUILD = os.environ["PARLEY_BUILD_DIR"]
# The same path every time, so that ccache finds what the previous build compiled.
WORK = os.path.join(BUILD, "deb")


def source_files():
    """The repository's files as they are in the work tree (changes not yet committed too)."""
    out = subprocess.run(["git", "-C", SOURCE, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    skip = ("tests/browser/", "tests/sdk/", "bench/RESULTS")
    return [f for f in out.decode().split("\0") if f and not f.startswith(skip)
            and os.path.isfile(os.path.join(SOURCE, f))]


@unittest.skipUnless(shutil.which("dpkg-buildpackage") and os.path.exists("/usr/share/perl5/Debian/Debhelper"),
                     "dpkg-buildpackage and debhelper are not installed (scripts/deps.sh test)")
class DebianPackage(InstalledTree):
    @classmethod
    def setUpClass(cls):
        src = os.path.join(WORK, "parley")
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(src)
        for f in source_files():
            os.makedirs(os.path.dirname(os.path.join(src, f)), exist_ok=True)
            shutil.copy2(os.path.join(SOURCE, f), os.path.join(src, f))
        t = time.monotonic()
        r = subprocess.run(["dpkg-buildpackage", "-b", "-uc", "-us"], cwd=src, capture_output=True, text=True,
                           env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2 noddebs"), timeout=840)
        print("dpkg-buildpackage took %.0f s" % (time.monotonic() - t), flush=True)
        if r.returncode:
            raise AssertionError("dpkg-buildpackage failed:\n" + r.stdout[-4000:] + r.stderr[-4000:])
        debs = [f for f in os.listdir(WORK) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(WORK, debs[0])

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="parley-package-")
        self.root = os.path.join(self.tmp, "root")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dpkg_root(self):
        """An empty root with an empty dpkg database."""
        admin = os.path.join(self.root, "var/lib/dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        for f in ("status", "available"):
            open(os.path.join(admin, f), "w").close()
        return admin

    def test_unpacks_into_a_clean_root_and_serves(self):
        admin = self.dpkg_root()
        # --unpack runs no maintainer script (the package has no preinst), so none runs
        # chrooted into a root that has no shell; dependencies are this machine's.
        r = subprocess.run(["dpkg", "--root=" + self.root, "--force-depends", "--unpack", self.deb],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        q = subprocess.run(["dpkg-query", "--admindir=" + admin, "-W", "-f=${Status}|${Conffiles}", "parley"],
                           capture_output=True, text=True, check=True).stdout
        self.assertTrue(q.startswith("install ok unpacked|"), q)
        self.assertIn("/etc/parley/parley.conf", q)
        # A new conffile waits as .dpkg-new until --configure (which would run the postinst,
        # chrooted) puts it in place; do that step by hand.
        conf = os.path.join(self.root, "etc/parley/parley.conf")
        os.rename(conf + ".dpkg-new", conf)
        unit = "lib/systemd/system/parley.service"
        self.check_layout(self.root, unit)
        man = os.path.join(self.tmp, "parley.1")
        with open(man, "w") as f:
            subprocess.run(["gzip", "-dc", os.path.join(self.root, "usr/share/man/man1/parley.1.gz")], stdout=f,
                           check=True)
        self.check_man_page(man)
        self.check_serves(self.root, self.tmp)
        self.check_unit_verifies(self.root, unit, self.tmp)

    def test_package_metadata(self):
        info = subprocess.run(["dpkg-deb", "--field", self.deb, "Depends"], capture_output=True, text=True,
                              check=True).stdout
        for lib in ("libsystemd0", "libseccomp2", "libmicrohttpd12", "tesseract-ocr-eng"):
            self.assertIn(lib, info)  # from shlibs, and the OCR data the reader needs

    def test_postinst_starts_the_service_only_under_systemd(self):
        ctl = os.path.join(self.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", self.deb, ctl], check=True)
        self.assertFalse(os.path.exists(os.path.join(ctl, "preinst")))  # see --unpack above
        # The postinst runs with stand-ins for the helpers it calls, which only write down
        # how they were called: this machine's systemd state is not touched.
        stubs = os.path.join(self.tmp, "stubs")
        os.mkdir(stubs)
        log = os.path.join(self.tmp, "calls")
        for name in ("deb-systemd-helper", "deb-systemd-invoke", "systemctl"):
            with open(os.path.join(stubs, name), "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> %s\nexit 0\n' % (name, log))
            os.chmod(os.path.join(stubs, name), 0o755)
        env = dict(os.environ, PATH=stubs + ":/usr/bin:/bin")
        r = subprocess.run(["sh", os.path.join(ctl, "postinst"), "configure", ""], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(log) as f:
            calls = f.read()
        self.assertIn("deb-systemd-helper enable parley.service", calls)
        if os.path.isdir("/run/systemd/system"):
            self.assertIn("deb-systemd-invoke start parley.service", calls)
        else:
            self.assertNotIn("deb-systemd-invoke", calls)
            self.assertNotIn("systemctl", calls)
            print("systemd is not running here: the postinst enabled the unit and did not start it", flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
