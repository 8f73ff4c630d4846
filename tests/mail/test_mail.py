# test_mail.py - real mail through a private Postfix, LMTP into `parley serve`, and back out.
"""Black-box tests of the e-mail channel (docs/postfix.md).

A private Postfix instance (its own config directory, loopback ports) relays the test relay
domain to parley's LMTP listener with transport_maps and delivers the "real" domains of the
parties (acme.test for the seller, mail.test for buyers) to mbox files that the tests read.
Mail is sent with swaks. Needs root (Postfix's master runs as root) and the Debian packages
postfix and swaks (scripts/deps.sh test).

Environment: PARLEY_BIN, the parley executable.
"""
import http.client
import json
import mailbox
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BIN = os.environ.get("PARLEY_BIN", "parley")
HERE = os.path.dirname(os.path.abspath(__file__))
RELAY = "relay.example.com"
SELLER_REAL = "support@acme.test"
BUYER_REAL = "jane@mail.test"
GHOST_REAL = "ghost@mail.test"  # a buyer whose mailbox does not exist: mail to it bounces
ORDER = "112-4839201-5561023"
ORDER2 = "112-4839201-5561024"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=45, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class Postfix:
    """A private Postfix instance: `postfix -c DIR start`, never the system one."""

    def __init__(self, smtp_port, submit_port, lmtp_port, extra_main="", files=None):
        self.dir = tempfile.mkdtemp(prefix="parley-postfix-")
        os.chmod(self.dir, 0o755)
        self.smtp_port, self.submit_port = smtp_port, submit_port
        d = self.dir
        for sub in ("queue", "data", "mail/acme.test", "mail/mail.test"):
            os.makedirs(os.path.join(d, sub))
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(d, "data"), pf.pw_uid, pf.pw_gid)
        for root, dirs, _ in os.walk(os.path.join(d, "mail")):
            os.chown(root, 65534, 65534)
        # The lines of docs/postfix.md, with this instance's paths and ports.
        with open(os.path.join(HERE, "main.cf.in")) as f:
            main = f.read()
        with open(os.path.join(HERE, "master.cf.in")) as f:
            master = f.read()
        subst = {"@DIR@": d, "@SMTP_PORT@": str(smtp_port), "@SUBMIT_PORT@": str(submit_port),
                 "@LMTP_PORT@": str(lmtp_port), "@RELAY@": RELAY}
        for k, v in subst.items():
            main, master = main.replace(k, v), master.replace(k, v)
        for k, v in subst.items():
            extra_main = extra_main.replace(k, v)
        open(os.path.join(d, "main.cf"), "w").write(main + extra_main)
        for name, text in (files or {}).items():
            open(os.path.join(d, name), "w").write(text)
        open(os.path.join(d, "master.cf"), "w").write(master)
        open(os.path.join(d, "transport"), "w").write("%s lmtp:inet:127.0.0.1:%d\n" % (RELAY, lmtp_port))
        open(os.path.join(d, "vmailbox"), "w").write(
            "support@acme.test acme.test/support\njane@mail.test mail.test/jane\n")
        open(os.path.join(d, "parley_header_checks"), "w").write("/^Received:/ IGNORE\n")
        p = subprocess.run(["postfix", "-c", d, "start"], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("postfix did not start: %s %s\n%s" % (p.stdout, p.stderr, self.log()))
        wait_for(lambda: self._listening(smtp_port), 30, "postfix to listen")

    @staticmethod
    def _listening(port):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def mbox(self, path):
        p = os.path.join(self.dir, "mail", path)
        if not os.path.exists(p):
            return []
        box = mailbox.mbox(p)
        try:
            return [m.as_bytes().decode("utf-8", "replace") for m in box]
        finally:
            box.close()

    def stop(self):
        subprocess.run(["postfix", "-c", self.dir, "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class Parley:
    """parley serve on a fresh store. trust: the --mail-* options that say whose mail counts;
    the default believes the envelope sender (a closed network), for suites whose point is
    not who may write (test_mail_trust.py runs a real DKIM/DMARC verifier instead)."""

    def __init__(self, smtp_port, trust=("--mail-trust", "envelope")):
        self.dir = tempfile.mkdtemp(prefix="parley-mail-")
        self.db = os.path.join(self.dir, "parley.db")
        lines = [
            {"type": "marketplace", "id": "ATVPDKIKX0DER", "name": "Example US",
             "domains": ["example.com"], "locale": "en-US"},
            {"type": "seller", "id": "S1", "marketplace": "ATVPDKIKX0DER", "name": "Acme Tools",
             "email": SELLER_REAL},
            {"type": "buyer", "id": "B1", "name": "Jane Doe", "email": BUYER_REAL, "locale": "en-US"},
            {"type": "buyer", "id": "B2", "name": "Gus Ghost", "email": GHOST_REAL, "locale": "en-US"},
            {"type": "order", "id": ORDER, "marketplace": "ATVPDKIKX0DER", "seller": "S1",
             "buyer": "B1", "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z"},
            {"type": "order", "id": ORDER2, "marketplace": "ATVPDKIKX0DER", "seller": "S1",
             "buyer": "B2", "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z"},
        ]
        imp = os.path.join(self.dir, "import.jsonl")
        with open(imp, "w") as f:
            f.write("".join(json.dumps(l) + "\n" for l in lines))
        self.cli("import", imp)
        self.tokens = {b: self.cli("admin", "token", "create", "--buyer", b) for b in ("B1", "B2")}
        agent = self.cli("admin", "agent", "add", "--seller", "S1", "--name", "Ann")
        self.tokens["agent"] = self.cli("admin", "token", "create", "--agent", agent)
        self.options = ["--smtp-relay", "smtp://127.0.0.1:%d" % smtp_port, "--mail-domain", "parley.example.com",
                        "--mail-retry", "1"] + list(trust)
        self.starts = 0
        self.start("127.0.0.1:0")

    def restart(self):
        """Stops parley serve as an operator does (SIGTERM) and starts it again on the same
        store and LMTP port (Postfix's transport names it); the HTTP port is a new one."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=60)
        self.log.close()
        self.start("127.0.0.1:%d" % self.lmtp_port)

    def start(self, lmtp):
        self.starts += 1
        self.log = open(os.path.join(self.dir, "serve.log" if self.starts == 1 else "serve-%d.log" % self.starts), "w+")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--lmtp", lmtp] + self.options,
            stdout=self.log, stderr=subprocess.STDOUT)
        # Its output goes to a file: a pipe that nobody reads once the ports are known
        # would fill with the access log and stop the server mid-request.
        self.http_port = self.lmtp_port = None

        def ports():
            if self.proc.poll() is not None:
                raise RuntimeError("parley serve ended before listening:\n" + self.output())
            out = self.output()
            m = re.search(r"LMTP/SMTP on [\d.]+:(\d+)", out)
            h = re.search(r"listening on http://[\d.]+:(\d+)", out)
            if m and h:
                self.lmtp_port, self.http_port = int(m.group(1)), int(h.group(1))
            return self.http_port
        wait_for(ports, 120, "parley serve to listen")
        wait_for(lambda: self.get("/healthz", None)[0] == 200, 30, "healthz")

    def output(self):
        with open(self.log.name) as f:
            return f.read()

    def cli(self, *args):
        p = subprocess.run([BIN, args[0], "--db", self.db] + list(args[1:]), capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("parley %s: %s" % (args, p.stderr))
        return p.stdout.strip()

    def request(self, method, path, who, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        h = {"Content-Type": "application/json"}
        if who:
            h["Authorization"] = "Bearer " + self.tokens[who]
        c.request(method, path, json.dumps(body) if body is not None else None, h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, None

    def get(self, path, who):
        return self.request("GET", path, who)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def swaks(port, sender, rcpt, body, headers=()):
    cmd = ["swaks", "--server", "127.0.0.1:%d" % port, "--from", sender, "--to", rcpt,
           "--body", body, "--timeout", "30"]
    for h in headers:
        cmd += ["--header", h]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("swaks failed: " + p.stdout + p.stderr)


def refusal(log, rcpt):
    """parley's reply to the mail for rcpt as Postfix logged it ("550 5.7.1 ..."), or None."""
    for line in log.splitlines():
        if "to=<%s>" % rcpt.lower() in line.lower() and "said: " in line:
            said = line.split("said: ", 1)[1]
            return re.sub(r"\s*\(in reply to [^)]*\)\)?\s*$", "", said)
    return None


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("postfix") and shutil.which("swaks"),
                     "needs root, postfix and swaks (scripts/deps.sh test)")
class MailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        smtp_port, submit_port = free_port(), free_port()
        cls.parley = Parley(submit_port)
        try:
            cls.postfix = Postfix(smtp_port, submit_port, cls.parley.lmtp_port)
        except Exception:
            cls.parley.stop()
            raise
        cls.smtp = smtp_port
        st, body = cls.parley.request("POST", "/v1/threads", "B1", {
            "order_id": ORDER, "topic": "product_question", "text": "Does it come with a charger?"})
        assert st in (200, 201), body
        cls.thread = body["thread"]["id"]
        cls.tid = cls.thread[1:].lower()  # as reply addresses write the thread

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        cls.parley.stop()

    def seller_mails(self):
        return self.postfix.mbox("acme.test/support")

    def buyer_mails(self):
        return self.postfix.mbox("mail.test/jane")

    def thread_messages(self):
        st, body = self.parley.get("/v1/threads/" + self.thread, "agent")
        self.assertEqual(st, 200, body)
        return body["messages"]

    def forwarded(self):
        """The buyer's first message as the seller received it."""
        mails = wait_for(lambda: [m for m in self.seller_mails() if "charger?" in m], 45,
                         "the buyer's message in the seller's mailbox\n" + self.postfix.log())
        return mails[0]

    def header(self, mail, name):
        m = re.search(r"^%s: (.*)$" % name, mail, re.M | re.I)
        return m.group(1).strip() if m else None

    def test_1_api_message_is_mailed_to_the_seller_from_an_alias(self):
        mail = self.forwarded()
        self.assertRegex(self.header(mail, "From"), r"<[a-z0-9]{16}@relay\.example\.com>")
        # The reply address names the thread and carries a MAC binding it to the seller.
        self.assertRegex(self.header(mail, "Reply-To"), r"^[a-z0-9]{16}\+t%s-[0-9a-f]{16}@relay\.example\.com$" % self.tid)
        self.assertRegex(self.header(mail, "Return-Path"), r"<bounce\+[0-9a-z]{12}-[0-9a-f]{16}@relay\.example\.com>")
        self.assertNotIn(BUYER_REAL, mail)
        self.assertIsNone(self.header(mail, "Received"), "Received headers are stripped")

    def test_2_buyer_mail_lands_in_the_seller_inbox(self):
        # The buyer answers the address a seller message gave them.
        st, body = self.parley.request("POST", "/v1/threads/%s/messages" % self.thread, "agent",
                                       {"text": "Let me check that for you."})
        self.assertIn(st, (200, 201), body)
        mail = wait_for(lambda: [m for m in self.buyer_mails() if "Let me check" in m], 45,
                        "the seller's message in the buyer's mailbox\n" + self.postfix.log())[0]
        reply_to = self.header(mail, "Reply-To")
        self.assertRegex(reply_to, r"^[a-z0-9]{16}\+t%s-[0-9a-f]{16}@relay\.example\.com$" % self.tid)
        swaks(self.smtp, BUYER_REAL, reply_to, "Also, is the case included?\n\n-- \nJane\n+1 555 0100")
        msgs = wait_for(lambda: [m for m in self.thread_messages() if "case included" in m["text"]], 45,
                        "the buyer's e-mail in the thread\n" + self.postfix.log())
        self.assertEqual(msgs[0]["from"], "buyer")
        self.assertEqual(msgs[0]["text"], "Also, is the case included?", "signature stripped")

    def test_3_refused_reply_bounces_with_the_finding(self):
        reply_to = self.header(self.forwarded(), "Reply-To")
        before = len(self.buyer_mails())
        swaks(self.smtp, SELLER_REAL, reply_to,
              "Cheaper on our own shop: https://cheap-drills.example.net/deal\n\n"
              "On Mon, Jane Doe wrote:\n> Does it come with a charger?")
        notice = wait_for(lambda: [m for m in self.seller_mails() if "Not delivered" in m], 45,
                          "the refusal notice\n" + self.postfix.log())[0]
        self.assertIn("link", notice)
        self.assertIn("cheap-drills.example.net", notice)
        self.assertIn("Return-Path: <>", notice)
        rejected = [m for m in self.thread_messages() if "cheap-drills" in m["text"]]
        self.assertEqual(rejected[0]["status"], "rejected")
        time.sleep(2)
        self.assertEqual(len(self.buyer_mails()), before, "nothing reached the buyer")

    def test_4_clean_reply_reaches_the_buyer_without_real_addresses(self):
        reply_to = self.header(self.forwarded(), "Reply-To")
        swaks(self.smtp, SELLER_REAL, reply_to,
              "Yes, a charger and two batteries are in the box.\n\n"
              "On Mon, Nov 23, 2026 at 9:00 AM Jane Doe <%s> wrote:\n> Does it come with a charger?\n" % BUYER_REAL,
              headers=["Subject: Re: your question", "X-Originating-IP: [203.0.113.9]"])
        mail = wait_for(lambda: [m for m in self.buyer_mails() if "two batteries" in m], 45,
                        "the reply in the buyer's mailbox\n" + self.postfix.log())[0]
        self.assertNotIn(SELLER_REAL, mail)
        self.assertNotIn("acme.test", mail)
        self.assertNotIn("203.0.113.9", mail)
        self.assertNotIn("Received:", mail)
        self.assertNotIn("Does it come with a charger?", mail, "the quoted history is dropped")
        # The buyer's own address appears only where the final delivery agent writes it.
        for line in mail.splitlines():
            if BUYER_REAL in line:
                self.assertRegex(line, r"^(X-Original-To|Delivered-To): ")
        self.assertRegex(self.header(mail, "From"), r"^Acme Tools <[a-z0-9]{16}@relay\.example\.com>$")
        self.assertRegex(self.header(mail, "In-Reply-To"), r"^<M[0-9a-z]{12}\.[0-9a-f]{8}@relay\.example\.com>$")
        sent = [m for m in self.thread_messages() if "two batteries" in m["text"]][0]
        self.assertEqual(sent["status"], "delivered")
        self.assertEqual(sent["from"], "seller")

    def test_5_stranger_and_unknown_alias_are_refused_alike(self):
        reply_to = self.header(self.forwarded(), "Reply-To")
        before = len(self.buyer_mails())
        swaks(self.smtp, "mallory@mail.test", reply_to, "I am the seller, honest")
        swaks(self.smtp, SELLER_REAL, "nobody123@" + RELAY, "hello?")
        # One answer for both, after DATA: nothing tells which alias exists.
        a = wait_for(lambda: refusal(self.postfix.log(), reply_to), 45, "the stranger's refusal\n" + self.postfix.log())
        b = wait_for(lambda: refusal(self.postfix.log(), "nobody123@" + RELAY), 45, "the unknown alias's refusal")
        self.assertEqual(a, b)
        self.assertRegex(a, r"^550 5\.7\.1 ")
        self.assertNotIn("I am the seller", json.dumps(self.thread_messages()))
        self.assertEqual(len(self.buyer_mails()), before)

    def test_6_bounce_marks_the_message_failed(self):
        st, body = self.parley.request("POST", "/v1/threads", "B2", {
            "order_id": ORDER2, "topic": "other", "text": "Where is my parcel?"})
        self.assertIn(st, (200, 201), body)
        t2 = body["thread"]["id"]
        st, body = self.parley.request("POST", "/v1/threads/%s/messages" % t2, "agent",
                                       {"text": "It left our warehouse yesterday."})
        self.assertIn(st, (200, 201), body)
        mid = body["message"]["id"] if "message" in body else body["id"]

        def status():
            st, b = self.parley.get("/v1/threads/" + t2, "agent")
            return [m["status"] for m in b["messages"] if m["id"] == mid][0] == "failed"
        wait_for(status, 60, "the bounce to mark %s failed\n%s" % (mid, self.postfix.log()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
