# test_mail_trust.py - who may speak for a party by mail, with a real DKIM/DMARC verifier in front.
"""Postfix with OpenDKIM and OpenDMARC as milters in front of `parley serve --mail-authserv-id`
(docs/postfix.md, "Who speaks for a party").

The suite runs in its own network and mount namespaces (`unshare --net --mount`, as root): only
`lo` exists, /etc/resolv.conf is bind-mounted to point at 127.0.0.1 and dnsmasq serves the test
domains' DKIM keys and DMARC records. SPF is not checked here: every test mail comes from
127.0.0.1, which libspf2 always lets pass (the parser's SPF handling is unit-tested). Mail is signed with
python3-dkim and sent with swaks; Postfix drops any incoming Authentication-Results that claims
the verifier's authserv-id before the milters add theirs (header_checks).

Shows: signed mail from the buyer's domain is the buyer's; the same mail unsigned, signed by
another domain or with a forged Authentication-Results gets one and the same refusal and stores
nothing; a registered agent address speaks for the seller as that agent, a read-only agent's does
not; a buyer cannot make the seller say anything; a guessed bare alias learns nothing; RCPT answers
are the same for existing and missing aliases.

Needs root, postfix, swaks, opendkim, opendmarc, dnsmasq, python3-dkim (scripts/deps.sh test).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
NEEDS = ("postfix", "swaks", "opendkim", "opendmarc", "dnsmasq", "unshare", "opendkim-genkey", "ip", "mount")
try:
    import dkim  # python3-dkim
except ImportError:
    # Debian's package lives with the system interpreter's modules; a python3 from
    # elsewhere (a virtualenv, pyenv) finds it there.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import dkim
    except ImportError:  # reported by the skip below
        dkim = None
READY = os.geteuid() == 0 and dkim is not None and all(shutil.which(n) for n in NEEDS)

# Everything below runs inside the namespaces: re-run this file there once.
if READY and not os.environ.get("PARLEY_MAIL_NETNS"):
    env = dict(os.environ, PARLEY_MAIL_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "--mount", "--", sys.executable, os.path.abspath(__file__)]
               + sys.argv[1:], env)

sys.path.insert(0, HERE)
from test_mail import (BUYER_REAL, ORDER, RELAY, SELLER_REAL, Parley, Postfix,  # noqa: E402
                       free_port, wait_for)

AUTHSERV = "mx.parley.test"
DOMAINS = ("mail.test", "acme.test", "evil.test")
ANN = "ann@acme.test"    # an agent's registered address
RITA = "rita@acme.test"  # a read-only agent's registered address


class Verifier:
    """dnsmasq on 127.0.0.1:53 with the test domains' records, OpenDKIM and OpenDMARC milters."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="parley-verifier-")
        d = self.dir
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        resolv = os.path.join(d, "resolv.conf")
        open(resolv, "w").write("nameserver 127.0.0.1\n")
        subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
        self.keys, txt = {}, []
        for dom in DOMAINS:
            kd = os.path.join(d, dom)
            os.makedirs(kd)
            subprocess.run(["opendkim-genkey", "-b", "1024", "-d", dom, "-s", "sel", "-D", kd], check=True)
            self.keys[dom] = open(os.path.join(kd, "sel.private"), "rb").read()
            pub = "".join(re.findall(r'"([^"]*)"', open(os.path.join(kd, "sel.txt")).read()))
            txt += ["sel._domainkey.%s,%s" % (dom, pub), "_dmarc.%s,v=DMARC1; p=reject" % dom]
        self.procs = []
        self.start(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--port=53", "--user=root", "--pid-file=" + os.path.join(d, "dnsmasq.pid"),
                    "--local=/test/", "--local=/example.com/", "--local=/in-addr.arpa/"]
                   + ["--txt-record=" + t for t in txt])
        self.dkim_port, self.dmarc_port = free_port(), free_port()
        open(os.path.join(d, "internal"), "w").write("192.0.2.1\n")  # nobody: 127.0.0.1 is verified too
        # OpenDKIM resolves with libunbound, which answers for .test itself unless told not to.
        open(os.path.join(d, "unbound.conf"), "w").write(
            'server:\n  module-config: "iterator"\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\n'
            'forward-zone:\n  name: "."\n  forward-addr: 127.0.0.1\n')
        open(os.path.join(d, "opendkim.conf"), "w").write(
            "Mode v\nSocket inet:%d@127.0.0.1\nAuthservID %s\nBackground no\nSyslog no\n"
            "PidFile %s/opendkim.pid\nInternalHosts %s/internal\nResolverConfiguration %s/unbound.conf\n"
            % (self.dkim_port, AUTHSERV, d, d, d))
        open(os.path.join(d, "opendmarc.conf"), "w").write(
            "Socket inet:%d@127.0.0.1\nAuthservID %s\nTrustedAuthservIDs %s\nBackground false\nSyslog false\n"
            "PidFile %s/opendmarc.pid\nIgnoreHosts %s/internal\nSPFSelfValidate false\nRejectFailures false\n"
            "PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat\n"
            % (self.dmarc_port, AUTHSERV, AUTHSERV, d, d))
        self.start(["opendkim", "-f", "-x", os.path.join(d, "opendkim.conf")])
        self.start(["opendmarc", "-f", "-c", os.path.join(d, "opendmarc.conf")])
        wait_for(lambda: Postfix._listening(self.dkim_port) and Postfix._listening(self.dmarc_port), 30,
                 "the milters to listen")

    def start(self, cmd):
        log = open(os.path.join(self.dir, os.path.basename(cmd[0]) + ".log"), "w")
        self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))

    def postfix_main(self):
        # The verifier's results are the only ones that count: any copy of them the sender
        # wrote is dropped before the milters add theirs (docs/postfix.md).
        return ("\nsmtpd_milters = inet:127.0.0.1:%d, inet:127.0.0.1:%d\nnon_smtpd_milters =\n"
                "milter_default_action = tempfail\nheader_checks = regexp:@DIR@/verifier_header_checks\n"
                % (self.dkim_port, self.dmarc_port))

    def sign(self, raw, domain):
        sig = dkim.sign(raw, b"sel", domain.encode(), self.keys[domain],
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                                         b"in-reply-to", b"references"])
        return sig + raw

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not os.environ.get("PARLEY_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def message(frm, to, text, extra=()):
    lines = ["From: %s" % frm, "To: %s" % to, "Subject: Re: your order", "Date: Sun, 06 Dec 2026 10:00:00 +0000",
             "Message-ID: <%s@%s>" % (os.urandom(8).hex(), frm.split("@")[-1].rstrip(">"))] + list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + text + "\r\n").encode()


def swaks_raw(port, sender, rcpt, raw, extra=()):
    """Sends raw as the whole message; returns swaks' transcript."""
    p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--from", sender, "--to", rcpt,
                        "--data", "-", "--timeout", "30"] + list(extra),
                       input=raw.decode(), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("swaks failed: " + p.stdout + p.stderr)
    return p.stdout


@unittest.skipUnless(READY, "needs root, " + ", ".join(NEEDS) + " and python3-dkim (scripts/deps.sh test)")
class MailTrustTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.verifier = Verifier()
        smtp_port, submit_port = free_port(), free_port()
        try:
            cls.parley = Parley(submit_port, trust=("--mail-authserv-id", AUTHSERV))
        except Exception:
            cls.verifier.stop()
            raise
        try:
            cls.postfix = Postfix(smtp_port, submit_port, cls.parley.lmtp_port, cls.verifier.postfix_main(), {
                "verifier_header_checks": "/^Authentication-Results[[:space:]]*:/ IGNORE\n"})
        except Exception:
            cls.parley.stop()
            cls.verifier.stop()
            raise
        cls.smtp = smtp_port
        p = cls.parley
        # Ann (agent) and Rita (read-only) register their addresses: Ann over the API, Rita by the operator.
        cls.ann_id = int(p.cli("admin", "agent", "add", "--seller", "S1", "--name", "Ann Mail"))
        p.tokens["ann"] = p.cli("admin", "token", "create", "--agent", str(cls.ann_id))
        st, body = p.request("POST", "/v1/agents/%d/addresses" % cls.ann_id, "ann", {"email": ANN})
        assert st == 201, body
        cls.rita_id = int(p.cli("admin", "agent", "add", "--seller", "S1", "--name", "Rita", "--role", "read_only"))
        p.cli("admin", "agent-address", "add", "--agent", str(cls.rita_id), "--email", RITA)
        st, body = p.request("POST", "/v1/threads", "B1", {
            "order_id": ORDER, "topic": "product_question", "text": "Does it come with a charger?"})
        assert st in (200, 201), body
        cls.thread = body["thread"]["id"]
        seller_mail = wait_for(lambda: [m for m in cls.postfix.mbox("acme.test/support") if "charger?" in m], 60,
                               "the buyer's message in the seller's mailbox\n" + cls.postfix.log())[0]
        cls.seller_reply_to = re.search(r"^Reply-To: (.*)$", seller_mail, re.M).group(1).strip()
        cls.buyer_msgid = re.search(r"^Message-ID: (<[^>]+>)", seller_mail, re.M | re.I).group(1)
        cls.seller_alias = re.search(r"^To: <?([a-z0-9]{16}@[^>\s]+)", seller_mail, re.M).group(1)
        st, body = p.request("POST", "/v1/threads/%s/messages" % cls.thread, "agent", {"text": "Let me check."})
        assert st in (200, 201), body
        buyer_mail = wait_for(lambda: [m for m in cls.postfix.mbox("mail.test/jane") if "Let me check" in m], 60,
                              "the seller's message in the buyer's mailbox\n" + cls.postfix.log())[0]
        cls.buyer_reply_to = re.search(r"^Reply-To: (.*)$", buyer_mail, re.M).group(1).strip()
        cls.buyer_alias = re.search(r"^To: <?([a-z0-9]{16}@[^>\s]+)", buyer_mail, re.M).group(1)
        cls.seller_msgid = re.search(r"^Message-ID: (<[^>]+>)", buyer_mail, re.M | re.I).group(1)

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        cls.parley.stop()
        cls.verifier.stop()

    def messages(self):
        st, body = self.parley.get("/v1/threads/" + self.thread, "agent")
        self.assertEqual(st, 200, body)
        return body["messages"]

    def answer(self, transcript):
        """parley's answer to a mail that swaks handed to Postfix, from Postfix's log."""
        qid = re.search(r"queued as ([0-9A-F]+)", transcript).group(1)

        def said():
            for line in self.postfix.log().splitlines():
                if " %s: " % qid in line and "relay=127.0.0.1" in line and "status=" in line:
                    m = re.search(r"said: (.*?) \(in reply to", line)
                    return m.group(1) if m else re.search(r"status=(\w+)", line).group(1)
            return None
        return wait_for(said, 60, "Postfix to hand %s to parley\n%s" % (qid, self.postfix.log()))

    def test_1_signed_buyer_mail_is_the_buyers(self):
        raw = message("Jane Doe <%s>" % BUYER_REAL, self.buyer_reply_to, "Is the case included too?")
        self.assertEqual(self.answer(swaks_raw(self.smtp, BUYER_REAL, self.buyer_reply_to,
                                               self.verifier.sign(raw, "mail.test"))), "sent")
        m = wait_for(lambda: [m for m in self.messages() if "case included" in m["text"]], 60, "the buyer's mail")[0]
        self.assertEqual(m["from"], "buyer")

    def test_2_unsigned_misaligned_and_forged_are_refused_alike(self):
        before = self.messages()
        forged = "Authentication-Results: %s; dkim=pass header.d=mail.test; dmarc=pass header.from=mail.test" % AUTHSERV
        tries = {
            "unsigned": message(BUYER_REAL, self.buyer_reply_to, "Unsigned: refund me now"),
            "other domain": self.verifier.sign(message(BUYER_REAL, self.buyer_reply_to, "Evil-signed: refund me now"),
                                               "evil.test"),
            "forged results": message(BUYER_REAL, self.buyer_reply_to, "Forged: refund me now", [forged]),
        }
        answers = {k: self.answer(swaks_raw(self.smtp, BUYER_REAL, self.buyer_reply_to, raw)) for k, raw in tries.items()}
        self.assertEqual(len(set(answers.values())), 1, answers)
        self.assertRegex(answers["unsigned"], r"^550 5\.7\.1 ")
        self.assertEqual(self.messages(), before, "nothing is stored")

    def test_3_agent_addresses_speak_for_the_seller_by_role(self):
        raw = message("Ann <%s>" % ANN, self.seller_reply_to, "Yes, the case is in the box.")
        self.assertEqual(self.answer(swaks_raw(self.smtp, ANN, self.seller_reply_to,
                                               self.verifier.sign(raw, "acme.test"))), "sent")
        m = wait_for(lambda: [m for m in self.messages() if "case is in the box" in m["text"]], 60, "Ann's reply")[0]
        self.assertEqual((m["from"], m.get("agent_id")), ("seller", self.ann_id))
        before = self.messages()
        raw = message("Rita <%s>" % RITA, self.seller_reply_to, "Read-only agents should not send this.")
        got = self.answer(swaks_raw(self.smtp, RITA, self.seller_reply_to, self.verifier.sign(raw, "acme.test")))
        self.assertRegex(got, r"^550 5\.7\.1 ")
        self.assertEqual(self.messages(), before)
        # The customer-service address still speaks for the seller, as the "E-mail" agent.
        raw = message("Acme <%s>" % SELLER_REAL, self.seller_reply_to, "Anything else we can do?")
        self.assertEqual(self.answer(swaks_raw(self.smtp, SELLER_REAL, self.seller_reply_to,
                                               self.verifier.sign(raw, "acme.test"))), "sent")

    def test_4_buyer_cannot_speak_as_the_seller(self):
        before = self.messages()
        review = "Please leave us a 5-star review and positive feedback!"
        refs = ["In-Reply-To: %s" % self.seller_msgid, "References: %s" % self.seller_msgid]
        answers = [
            # Her own signed mail to her own alias, answering the seller's message.
            self.answer(swaks_raw(self.smtp, BUYER_REAL, self.buyer_alias, self.verifier.sign(
                message(BUYER_REAL, self.buyer_alias, review, refs), "mail.test"))),
            # The seller's address in From: and the envelope, signed by her domain.
            self.answer(swaks_raw(self.smtp, SELLER_REAL, self.buyer_alias, self.verifier.sign(
                message(SELLER_REAL, self.buyer_alias, review, refs), "mail.test"))),
        ]
        self.assertEqual(len(set(answers)), 1, answers)
        self.assertRegex(answers[0], r"^550 5\.7\.1 ")
        self.assertEqual(self.messages(), before, "no seller message, no violation")

    def test_5_a_guessed_bare_alias_learns_nothing(self):
        # The seller, authenticated, mails the buyer's real alias bare, and a made-up one.
        signed = lambda to: self.verifier.sign(message(SELLER_REAL, to, "Who are you?"), "acme.test")  # noqa: E731
        real = self.answer(swaks_raw(self.smtp, SELLER_REAL, self.buyer_alias, signed(self.buyer_alias)))
        made_up = "zz9plural9zalpha@" + RELAY
        fake = self.answer(swaks_raw(self.smtp, SELLER_REAL, made_up, signed(made_up)))
        self.assertEqual(real, fake)
        self.assertRegex(real, r"^550 5\.7\.1 ")
        # A reply address with its MAC changed, or of the other party, is no better.
        tampered = re.sub(r"-[0-9a-f]{16}@", "-0123456789abcdef@", self.seller_reply_to)
        self.assertEqual(self.answer(swaks_raw(self.smtp, SELLER_REAL, tampered, signed(tampered))), real)
        self.assertEqual(self.answer(swaks_raw(self.smtp, SELLER_REAL, self.buyer_reply_to,
                                               signed(self.buyer_reply_to))), real)
        # The same bare alias answering the buyer's message the seller received is the seller's reply.
        raw = message(SELLER_REAL, self.buyer_alias, "We answer your question below.",
                      ["In-Reply-To: %s" % self.buyer_msgid, "References: %s" % self.buyer_msgid])
        self.assertEqual(self.answer(swaks_raw(self.smtp, SELLER_REAL, self.buyer_alias,
                                               self.verifier.sign(raw, "acme.test"))), "sent")
        wait_for(lambda: [m for m in self.messages() if "answer your question below" in m["text"]], 60, "the reply")

    def test_7_a_seller_guessing_buyers_learns_nothing(self):
        # The seller mails its own alias "from" a buyer's address and from a made-up one.
        before = self.messages()
        refs = ["In-Reply-To: %s" % self.seller_msgid]
        answers = set()
        for frm in (BUYER_REAL, "nobody.at.all@mail.test"):
            answers.add(self.answer(swaks_raw(self.smtp, frm, self.seller_alias, message(frm, self.seller_alias, "hi", refs))))
            answers.add(self.answer(swaks_raw(self.smtp, SELLER_REAL, self.seller_alias, self.verifier.sign(
                message(frm, self.seller_alias, "hi", refs), "acme.test"))))
        self.assertEqual(len(answers), 1, answers)
        self.assertRegex(answers.pop(), r"^550 5\.7\.1 ")
        self.assertEqual(self.messages(), before)

    def test_6_rcpt_answers_are_the_same_for_every_alias(self):
        def rcpt(to):
            p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.parley.lmtp_port, "--protocol", "LMTP",
                                "--from", "someone@evil.test", "--to", to, "--quit-after", "RCPT", "--timeout", "30"],
                               capture_output=True, text=True, timeout=60)
            lines = p.stdout.splitlines()
            i = next(k for k, l in enumerate(lines) if "-> RCPT TO:" in l)
            return lines[i + 1].split(None, 1)[1]  # parley's reply to it, without swaks' arrow
        answers = {to: rcpt(to) for to in (self.buyer_alias, self.buyer_reply_to, self.seller_reply_to,
                                           "nobody00nobody00@" + RELAY, "bounce+1-0000000000000000@" + RELAY)}
        self.assertEqual(len(set(answers.values())), 1, answers)
        self.assertIn("250 2.1.5", list(answers.values())[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
