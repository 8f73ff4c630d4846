# test_mail_meaning.py - what an incoming mail means, through a private Postfix and swaks.
"""Black-box tests (docs/postfix.md, "Automatic mail", "Bounces", "What the SMTP/LMTP replies
mean"): mail to a return path fails a message only when it is a real delivery status
notification about that message's recipient; auto-replies are never forwarded and never
answer; quoted history in German, French, Spanish and Italian is cut; a link only in an
HTML href is refused; Latin-1 without a charset reads right; one mail to several spellings
of one thread's alias is stored once; a multipart mail without a boundary is refused with
5.6.x. Same environment as test_mail.py (root, postfix, swaks).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mail as tm  # noqa: E402  the private Postfix and parley of the first suite

RELAY = tm.RELAY
SELLER_REAL, BUYER_REAL, GHOST_REAL = tm.SELLER_REAL, tm.BUYER_REAL, tm.GHOST_REAL
ORDERS = ["112-4839201-55610%02d" % i for i in range(30, 40)]  # Jane's orders, one per test
GHOST_ORDER = "112-4839201-5561099"


class Parley(tm.Parley):
    """test_mail's parley with more orders (one thread per test) and an operator token."""

    def __init__(self, smtp_port):
        lines = [
            # The seller's rate limit is not what these tests are about: a 451 for a reply sent
            # while another test used the burst would wait for Postfix's queue run.
            {"type": "marketplace", "id": "ATVPDKIKX0DER", "name": "Example US",
             "domains": ["example.com"], "locale": "en-US",
             "settings": {"rate_per_second": 1000, "rate_burst": 1000}},
            {"type": "seller", "id": "S1", "marketplace": "ATVPDKIKX0DER", "name": "Acme Tools",
             "email": SELLER_REAL},
            {"type": "buyer", "id": "B1", "name": "Jane Doe", "email": BUYER_REAL, "locale": "en-US"},
            {"type": "buyer", "id": "B2", "name": "Gus Ghost", "email": GHOST_REAL, "locale": "en-US"},
        ] + [{"type": "order", "id": o, "marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B1",
              "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z"} for o in ORDERS] + [
            {"type": "order", "id": GHOST_ORDER, "marketplace": "ATVPDKIKX0DER", "seller": "S1",
             "buyer": "B2", "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z"}]
        self._lines = lines
        super().__init__(smtp_port)
        self.tokens["op"] = self.cli("admin", "token", "create", "--operator", "ops")

    def cli(self, *args):
        # The first import is the parent's: give it this suite's lines instead.
        if args[0] == "import" and getattr(self, "_lines", None):
            with open(args[1], "w") as f:
                f.write("".join(json.dumps(l) + "\n" for l in self._lines))
            self._lines = None
        return super().cli(*args)


def swaks_data(port, sender, rcpts, data):
    """Sends a whole message (headers and body, bytes) as DATA."""
    with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        path = f.name
    try:
        cmd = ["swaks", "--server", "127.0.0.1:%d" % port, "--from", sender, "--to", ",".join(rcpts),
               "--data", "@" + path, "--timeout", "30"]
        p = subprocess.run(cmd, capture_output=True, timeout=60)  # bytes: it echoes 8-bit data
        if p.returncode != 0:
            raise AssertionError("swaks failed: " + (p.stdout + p.stderr).decode("utf-8", "replace"))
    finally:
        os.unlink(path)


def eml(headers, body):
    return "".join("%s\r\n" % h for h in headers) + "\r\n" + body.replace("\n", "\r\n")


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("postfix") and shutil.which("swaks"),
                     "needs root, postfix and swaks (scripts/deps.sh test)")
class MeaningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        smtp_port, submit_port = tm.free_port(), tm.free_port()
        cls.parley = Parley(submit_port)
        try:
            cls.postfix = tm.Postfix(smtp_port, submit_port, cls.parley.lmtp_port)
        except Exception:
            cls.parley.stop()
            raise
        cls.smtp = smtp_port
        cls.next_order = iter(ORDERS)

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        cls.parley.stop()

    # ---- helpers ----
    def log(self):
        return self.postfix.log()

    def wait_log(self, pattern, count=1, what=None):
        return tm.wait_for(lambda: len(re.findall(pattern, self.log())) >= count, 60,
                           (what or pattern) + "\n" + self.log())

    def header(self, mail, name):
        m = re.search(r"^%s: (.*)$" % name, mail, re.M | re.I)
        return m.group(1).strip() if m else None

    def start(self, text, buyer="B1", order=None):
        """A buyer's thread: its id, and the forward as the seller received it."""
        order = order or next(self.next_order)
        st, body = self.parley.request("POST", "/v1/threads", buyer, {
            "order_id": order, "topic": "product_question", "text": text})
        self.assertIn(st, (200, 201), body)
        tid = body["thread"]["id"]
        fwd = tm.wait_for(lambda: [m for m in self.postfix.mbox("acme.test/support") if text in m], 60,
                          "the forward of %r\n%s" % (text, self.log()))[0]
        return tid, fwd

    def messages(self, tid, who="agent"):
        st, body = self.parley.get("/v1/threads/" + tid, who)
        self.assertEqual(st, 200, body)
        return body

    def seller_reply_by_api(self, tid, text):
        # The seller's send rate (1 a second, bursts of 5) is shared with the mail replies of
        # the other tests: wait for a token rather than fail.
        def send():
            r = self.parley.request("POST", "/v1/threads/%s/messages" % tid, "agent", {"text": text})
            return None if r[0] == 429 else r
        st, body = tm.wait_for(send, 30, "a send token")
        self.assertIn(st, (200, 201), body)
        return body["message"]["id"] if "message" in body else body["id"]

    def buyer_reply_address(self, tid, text="Thanks for asking, we will check."):
        """The seller answers by API; the reply address parley gave the buyer in that mail
        (the seller's alias with the thread's token for the buyer)."""
        self.seller_reply_by_api(tid, text)
        mail = tm.wait_for(lambda: [m for m in self.postfix.mbox("mail.test/jane") if text in m], 60,
                           "the seller's reply in Jane's mailbox\n" + self.log())[0]
        return self.header(mail, "Reply-To"), mail

    def status_of(self, tid, mid):
        return [m["status"] for m in self.messages(tid)["messages"] if m["id"] == mid][0]

    # ---- return paths ----
    def test_return_path_takes_only_a_real_failure_report(self):
        tid, _ = self.start("Can I pick it up in person?")
        mid = self.seller_reply_by_api(tid, "Yes, our shop opens at nine.")
        mail = tm.wait_for(lambda: [m for m in self.postfix.mbox("mail.test/jane") if "opens at nine" in m], 60,
                           "the reply in Jane's mailbox\n" + self.log())[0]
        rp = re.search(r"<(bounce\+[0-9a-z]+-[0-9a-f]{16}@[^>]+)>", self.header(mail, "Return-Path")).group(1)
        before = len(re.findall(r"not a delivery failure report", self.log()))
        # A buyer's "thanks" sent to the return path, and an RFC 3834 vacation reply.
        tm.swaks(self.smtp, BUYER_REAL, rp, "Thanks a lot!")
        tm.swaks(self.smtp, BUYER_REAL, rp, "I am on vacation until Monday.",
                 headers=["Auto-Submitted: auto-replied", "Subject: Out of office"])
        # A null-sender report that names another recipient, and a report from a person.
        report = eml(["From: MAILER-DAEMON@mx.other.test", "To: " + rp, "Subject: Undelivered",
                      "MIME-Version: 1.0",
                      'Content-Type: multipart/report; report-type=delivery-status; boundary="R"'],
                     "--R\nContent-Type: text/plain\n\nNot delivered.\n--R\n"
                     "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.other.test\n\n"
                     "Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n\n--R--\n")
        swaks_data(self.smtp, "<>", [rp], report % "someone-else@other.test")
        swaks_data(self.smtp, BUYER_REAL, [rp], report % BUYER_REAL)
        self.wait_log(r"not a delivery failure report", before + 4, "four mails dropped at the return path")
        self.assertEqual(self.status_of(tid, mid), "delivered")
        self.assertEqual(self.messages(tid)["thread"]["state"], "answered", "the seller's answer still answers")
        texts = json.dumps(self.messages(tid))
        self.assertNotIn("Thanks a lot", texts)
        self.assertNotIn("vacation", texts)

    def test_real_bounce_fails_the_message_and_is_kept_as_evidence(self):
        tid, _ = self.start("Where is my parcel?", buyer="B2", order=GHOST_ORDER)
        mid = self.seller_reply_by_api(tid, "It left our warehouse yesterday.")
        tm.wait_for(lambda: self.status_of(tid, mid) == "failed", 90,
                    "Postfix's bounce to fail %s\n%s" % (mid, self.log()))
        self.assertIn("delivery report taken: %s failed" % mid, self.log())
        st, exp = self.parley.get("/v1/threads/%s/export" % tid, "op")
        self.assertEqual(st, 200, exp)
        failed = [e for e in exp["audit"] if e["action"] == "message.failed"]
        self.assertEqual(len(failed), 1, exp["audit"])
        report = failed[0]["detail"]["report"]
        self.assertEqual(report["action"], "failed")
        self.assertRegex(report["status"], r"^5\.\d+\.\d+$")
        self.assertTrue(report["diagnostic"])
        # The seller may read the evidence: nothing of the buyer's address is in it.
        self.assertNotIn("ghost", json.dumps(failed).lower())
        self.assertNotIn("mail.test", json.dumps(failed).lower())

    # ---- quoted history ----
    def test_quotes_in_four_languages_are_cut_and_the_quoted_alias_is_no_violation(self):
        tid, fwd = self.start("Is the drill also sold with a case?")
        reply_to = self.header(fwd, "Reply-To")
        balias = re.search(r"<([a-z0-9]{16}@[^>]+)>", self.header(fwd, "From")).group(1)
        quotes = {
            "Ja, der Koffer ist dabei.": "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Jane Doe via Example US <\n%s>:\n\n"
                                        "> Is the drill also sold with a case?\n" % reply_to,
            "Oui, la mallette est incluse.": "-----Message d'origine-----\nDe : Jane Doe <%s>\n"
                                             "Envoyé : lundi 23 novembre 2026 09:00\nÀ : Acme\nObjet : Order\n\n"
                                             "Is the drill also sold with a case?\n" % balias,
            "Sí, el maletín está incluido.": "El lun, 23 nov 2026 a las 9:00, Jane Doe (<%s>) escribió:\n"
                                             "> Is the drill also sold with a case?\n" % reply_to,
            "Sì, la valigetta è inclusa.": "Da: Jane Doe <%s>\nInviato: lunedì 23 novembre 2026 09:00\n"
                                           "A: Acme\nOggetto: Ordine\n\nIs the drill also sold with a case?\n" % balias,
        }
        for reply, history in quotes.items():
            tm.swaks(self.smtp, SELLER_REAL, reply_to, reply + "\n\n" + history,
                     headers=["Content-Type: text/plain; charset=utf-8"])
        msgs = tm.wait_for(lambda: [m for m in self.messages(tid)["messages"] if m["from"] == "seller"
                                    and m["text"] in quotes] if len([m for m in self.messages(tid)["messages"]
                                                                     if m["from"] == "seller"]) >= 4 else None,
                           60, "four replies in the thread\n" + self.log())
        self.assertEqual(sorted(m["text"] for m in msgs), sorted(quotes), "each reply is only its new text")
        for m in msgs:
            self.assertEqual(m["status"], "delivered", m)
        self.assertNotIn("5.7.1", "".join(re.findall(r".*%s.*" % re.escape(reply_to.split("@")[0]), self.log())))

    # ---- automatic mail ----
    def test_seller_out_of_office_does_not_answer_and_buyer_vacation_is_not_forwarded(self):
        tid, fwd = self.start("Does it work with 110 V?")
        reply_to = self.header(fwd, "Reply-To")
        tok, _ = self.buyer_reply_address(tid, "Let me check with the maker.")
        st, body = self.parley.request("POST", "/v1/threads/%s/messages" % tid, "B1", {"text": "And 230 V?"})
        self.assertIn(st, (200, 201), body)
        tm.swaks(self.smtp, SELLER_REAL, reply_to,
                 "I am out of the office until Monday. Urgent: call me at +1 555 0199.",
                 headers=["X-Autoreply: yes", "Subject: Out of office"])
        self.wait_log(r"automatic reply kept as M\w+, not forwarded")
        th = self.messages(tid)
        auto = [m for m in th["messages"] if "out of the office" in m["text"]]
        self.assertEqual(len(auto), 1)
        self.assertEqual(auto[0]["kind"], "auto_reply")
        self.assertEqual(auto[0]["status"], "not_delivered")
        self.assertEqual(th["thread"]["state"], "response_needed", "the clock still runs")
        self.assertNotIn("out of the office", json.dumps(self.messages(tid, "B1")), "the buyer never sees it")
        # A buyer's vacation reply to the seller's alias is not forwarded or stored.
        tm.swaks(self.smtp, BUYER_REAL, tok, "Jane is on vacation and will answer later.",
                 headers=["Auto-Submitted: auto-replied", "Precedence: auto_reply"])
        self.wait_log(r"automatic mail is not forwarded")
        # A person's mail after them is forwarded: had either been, it would be there too.
        tm.swaks(self.smtp, BUYER_REAL, tok, "Also, which plug does it have?")
        tm.wait_for(lambda: [m for m in self.postfix.mbox("acme.test/support") if "which plug" in m], 60,
                    "the buyer's later mail\n" + self.log())
        self.assertFalse([m for m in self.postfix.mbox("acme.test/support") if "on vacation" in m])
        self.assertFalse([m for m in self.postfix.mbox("mail.test/jane") if "out of the office" in m])
        self.assertNotIn("on vacation", json.dumps(self.messages(tid)))

    # ---- HTML, charsets, recipients, structure ----
    def test_link_only_in_an_href_is_refused(self):
        tid, fwd = self.start("Any discount for two drills?")
        reply_to = self.header(fwd, "Reply-To")
        swaks_data(self.smtp, SELLER_REAL, [reply_to], eml(
            ["From: Acme <%s>" % SELLER_REAL, "To: " + reply_to, "Subject: Re: discount", "MIME-Version: 1.0",
             "Content-Type: text/html; charset=utf-8"],
            '<html><body><p>Yes, see <a href="https://cheap-drills.example.net/deal">our offer</a>.</p></body></html>\n'))
        msg = tm.wait_for(lambda: [m for m in self.messages(tid)["messages"] if "our offer" in m["text"]], 60,
                          "the reply in the thread\n" + self.log())[0]
        self.assertEqual(msg["status"], "rejected")
        self.assertIn("cheap-drills.example.net", msg["text"])
        notice = tm.wait_for(lambda: [m for m in self.postfix.mbox("acme.test/support")
                                      if "Not delivered" in m and "cheap-drills" in m], 60, "the notice")[0]
        self.assertIn("link", notice)

    def test_latin1_without_charset_reads_right(self):
        tid, fwd = self.start("Do you ship to Germany?")
        tok, _ = self.buyer_reply_address(tid, "Which city?")
        body = "Grüße aus Köln – the café round the corner sells it for 20 €.\r\n".encode("cp1252")
        swaks_data(self.smtp, BUYER_REAL, [tok],
                   b"From: Jane <" + BUYER_REAL.encode() + b">\r\nTo: " + tok.encode() +
                   b"\r\nSubject: Germany\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
                   b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
        msg = tm.wait_for(lambda: [m for m in self.messages(tid)["messages"] if "Köln" in m["text"]], 60,
                          "the message in the thread\n" + self.log())[0]
        self.assertEqual(msg["text"], "Grüße aus Köln – the café round the corner sells it for 20 €.")

    def test_one_mail_to_several_spellings_of_a_thread_is_stored_once(self):
        tid, fwd = self.start("Is there a warranty?")
        tok, mail = self.buyer_reply_address(tid, "Yes, there is one.")
        seller_alias = tok.split("+")[0]
        # the bare alias answering the seller's mail, the reply address, the latter in capitals
        rcpts = ["%s@%s" % (seller_alias, RELAY), tok, tok.upper()]
        swaks_data(self.smtp, BUYER_REAL, rcpts, eml(
            ["From: Jane <%s>" % BUYER_REAL, "To: " + ", ".join(rcpts), "Subject: warranty",
             "In-Reply-To: " + self.header(mail, "Message-ID")],
            "And how long is the warranty?\n"))
        tm.wait_for(lambda: [m for m in self.messages(tid)["messages"] if "how long" in m["text"]], 60,
                    "the message\n" + self.log())
        # Every recipient got its answer, the same message (Postfix itself folds recipients
        # that differ only in case, so two or three LMTP answers for the one queue file).
        def answers():
            qids = set(re.findall(r"postfix/lmtp\[\d+\]: (\w+): to=<%s" % re.escape(tok), self.log(), re.I))
            return [l for l in self.log().splitlines() if qids and "status=sent" in l and
                    any("%s: to=<" % q in l for q in qids)]
        lines = tm.wait_for(lambda: answers() if len(answers()) >= 2 else None, 60, "the LMTP answers\n" + self.log())
        self.assertEqual(len({re.search(r"delivered as (M\w+)", l).group(1) for l in lines}), 1, lines)
        self.assertEqual(len([m for m in self.messages(tid)["messages"] if "how long" in m["text"]]), 1)
        tm.wait_for(lambda: [m for m in self.postfix.mbox("acme.test/support") if "how long" in m], 60, "the forward")
        self.assertEqual(len([m for m in self.postfix.mbox("acme.test/support") if "how long" in m]), 1)

    def test_multipart_without_boundary_is_refused_with_5_6(self):
        tid, fwd = self.start("Can I pay by invoice?")
        tok, _ = self.buyer_reply_address(tid, "Let me ask accounting.")
        swaks_data(self.smtp, BUYER_REAL, [tok], eml(
            ["From: Jane <%s>" % BUYER_REAL, "To: " + tok, "Subject: invoice", "MIME-Version: 1.0",
             "Content-Type: multipart/mixed"],
            "--x\nContent-Type: text/plain\n\nBroken structure here\n--x--\n"))
        self.wait_log(r"550 5\.6\.\d .*no boundary")
        bounce = tm.wait_for(lambda: [m for m in self.postfix.mbox("mail.test/jane") if "no boundary" in m], 60,
                             "Postfix's bounce to Jane\n" + self.log())[0]
        self.assertRegex(bounce, r"5\.6\.\d")
        self.assertNotIn("Broken structure", json.dumps(self.messages(tid)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
