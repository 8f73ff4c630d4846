# test_mail_attach.py - attachments by e-mail: taken in as uploads, checked by the policy, mailed out.
"""Attachments through the private Postfix of test_mail.py (docs/postfix.md, "Attachments").

A seller's reply with a logo whose picture carries a web address bounces with the finding naming
the file; a buyer's PDF lands in the seller's thread and downloads over the API; a clean file a
seller mails reaches the buyer's mailbox as a MIME part; files of a type the store does not take
refuse a seller's reply (Postfix bounces it with parley's reason) and are left out of a buyer's
message with a note. Fixtures are drawn at test time: PDFs written by hand, the logo rendered
from one with pdftoppm (poppler-utils).
"""
import email
import email.policy
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_mail import (BUYER_REAL, ORDER, RELAY, SELLER_REAL, Parley, Postfix,  # noqa: E402
                       free_port, wait_for)


def pdf(lines, size=(595, 842), font_size=12):
    """A one-page PDF drawing lines of text in Helvetica (base-14, no font embedded)."""
    w, h = size
    ops = ["BT", "/F1 %d Tf" % font_size, "%d TL" % int(font_size * 1.4), "30 %d Td" % (h - 30 - font_size)]
    for l in lines:
        ops.append("(%s) Tj T*" % l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
    ops.append("ET")
    content = "\n".join(ops).encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
             "/Resources << /Font << /F1 5 0 R >> >> >>" % (w, h)).encode(),
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return bytes(out)


def swaks_files(port, sender, rcpt, body, files, subject="Re: your order"):
    """Sends body and files ([(path, mime type)]) as multipart/mixed; returns swaks' transcript."""
    cmd = ["swaks", "--server", "127.0.0.1:%d" % port, "--from", sender, "--to", rcpt,
           "--header", "Subject: " + subject, "--body", body, "--timeout", "60"]
    for path, mime in files:
        cmd += ["--attach-type", mime, "--attach-name", os.path.basename(path), "--attach", "@" + path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("swaks failed: " + p.stdout + p.stderr)
    return p.stdout


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("postfix") and shutil.which("swaks")
                     and shutil.which("pdftoppm"),
                     "needs root, postfix, swaks and pdftoppm (scripts/deps.sh test)")
class MailAttachmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="parley-mail-files-")
        cls.invoice = os.path.join(cls.tmp, "invoice-1042.pdf")
        with open(cls.invoice, "wb") as f:
            f.write(pdf(["Invoice 1042", "Cordless drill, 1 piece: 49.90 EUR", "Thank you for your order."]))
        cls.manual = os.path.join(cls.tmp, "manual.pdf")
        with open(cls.manual, "wb") as f:
            f.write(pdf(["Charger model C-18", "Charge the battery fully before the first use."]))
        logo_pdf = os.path.join(cls.tmp, "logo-src.pdf")
        with open(logo_pdf, "wb") as f:
            f.write(pdf(["ACME TOOLS", "www.acme-tools-shop.com"], size=(320, 110), font_size=18))
        subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", logo_pdf,
                        os.path.join(cls.tmp, "logo")], check=True, timeout=60)
        cls.logo = os.path.join(cls.tmp, "logo.png")
        cls.exe = os.path.join(cls.tmp, "setup.exe")
        with open(cls.exe, "wb") as f:
            f.write(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200))
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
        mail = wait_for(lambda: [m for m in cls.postfix.mbox("acme.test/support") if "charger?" in m], 60,
                        "the buyer's message in the seller's mailbox")[0]
        cls.reply_to = re.search(r"^Reply-To: (.*)$", mail, re.M).group(1).strip()
        cls.seller_alias = re.search(r"^To: <?([a-z0-9]{16})@", mail, re.M).group(1)
        # The buyer writes to the reply address a seller message gave them.
        st, body = cls.parley.request("POST", "/v1/threads/%s/messages" % cls.thread, "agent",
                                      {"text": "Thanks, we are looking into it."})
        assert st in (200, 201), body
        mail = wait_for(lambda: [m for m in cls.postfix.mbox("mail.test/jane") if "looking into it" in m], 60,
                        "the seller's message in the buyer's mailbox")[0]
        cls.buyer_reply_to = re.search(r"^Reply-To: (.*)$", mail, re.M).group(1).strip()

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        cls.parley.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def messages(self):
        st, body = self.parley.get("/v1/threads/" + self.thread, "agent")
        self.assertEqual(st, 200, body)
        return body["messages"]

    def download(self, att_id, who):
        c = http.client.HTTPConnection("127.0.0.1", self.parley.http_port, timeout=30)
        c.request("GET", "/v1/attachments/" + att_id, headers={"Authorization": "Bearer " + self.parley.tokens[who]})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def test_1_seller_logo_with_a_web_address_bounces_naming_the_file(self):
        before = len(self.postfix.mbox("mail.test/jane"))
        swaks_files(self.smtp, SELLER_REAL, self.reply_to, "Yes, it comes with a charger. Best regards, Acme",
                    [(self.logo, "image/png")])
        notice = wait_for(lambda: [m for m in self.postfix.mbox("acme.test/support") if "Not delivered" in m],
                          120, "the refusal notice\n" + self.postfix.log())[0]
        text = email.message_from_string(notice, policy=email.policy.default).get_body(("plain",)).get_content()
        self.assertIn('in the attachment "logo.png"', text)
        self.assertIn("acme-tools-shop", text)
        self.assertIn("link", text)
        m = [m for m in self.messages() if "Best regards, Acme" in m["text"]][0]
        self.assertEqual(m["status"], "rejected")
        self.assertEqual([a["name"] for a in m["attachments"]], ["logo.png"])
        time.sleep(2)
        self.assertEqual(len(self.postfix.mbox("mail.test/jane")), before, "nothing reached the buyer")

    def test_2_buyer_pdf_lands_in_the_thread_and_downloads(self):
        swaks_files(self.smtp, BUYER_REAL, self.buyer_reply_to,
                    "Here is the invoice I got, the total looks wrong.", [(self.invoice, "application/pdf")])
        m = wait_for(lambda: [m for m in self.messages() if "total looks wrong" in m["text"]], 90,
                     "the buyer's mail in the thread\n" + self.postfix.log())[0]
        self.assertEqual(m["from"], "buyer")
        self.assertEqual(len(m["attachments"]), 1, m)
        att = m["attachments"][0]
        self.assertEqual((att["name"], att["kind"]), ("invoice-1042.pdf", "pdf"))
        with open(self.invoice, "rb") as f:
            want = f.read()
        for who in ("agent", "B1"):
            st, data = self.download(att["id"], who)
            self.assertEqual(st, 200, who)
            self.assertEqual(data, want, who)
        # and the seller's mailbox gets it as a part of the forward
        fwd = wait_for(lambda: [x for x in self.postfix.mbox("acme.test/support") if "total looks wrong" in x], 60,
                       "the forward to the seller")[0]
        parts = [p for p in email.message_from_string(fwd, policy=email.policy.default).iter_attachments()]
        self.assertEqual([(p.get_filename(), p.get_content()) for p in parts], [("invoice-1042.pdf", want)])

    def test_3_forward_to_the_buyer_carries_a_clean_attachment(self):
        swaks_files(self.smtp, SELLER_REAL, self.reply_to, "The charger's manual is attached.",
                    [(self.manual, "application/pdf")])
        mail = wait_for(lambda: [m for m in self.postfix.mbox("mail.test/jane") if "manual is attached" in m], 90,
                        "the reply in the buyer's mailbox\n" + self.postfix.log())[0]
        msg = email.message_from_string(mail, policy=email.policy.default)
        parts = list(msg.iter_attachments())
        with open(self.manual, "rb") as f:
            want = f.read()
        self.assertEqual(len(parts), 1)
        self.assertEqual(parts[0].get_content_type(), "application/pdf")
        self.assertEqual(parts[0].get_filename(), "manual.pdf")
        self.assertEqual(parts[0].get_content(), want)
        self.assertNotIn(SELLER_REAL, mail)
        self.assertNotIn("acme.test", mail)
        m = [m for m in self.messages() if "manual is attached" in m["text"]][0]
        self.assertEqual(m["status"], "delivered")

    def test_4_unsupported_files(self):
        # A seller's reply with a file the store does not take: refused as a whole, Postfix bounces it.
        before = len(self.postfix.mbox("mail.test/jane"))
        swaks_files(self.smtp, SELLER_REAL, self.reply_to, "Install our helper tool, please.",
                    [(self.exe, "application/octet-stream")])
        wait_for(lambda: "5.6.1" in self.postfix.log(), 60, "parley's 550 5.6.1\n" + self.postfix.log())
        bounce = wait_for(lambda: [m for m in self.postfix.mbox("acme.test/support")
                                   if "setup.exe" in m and "MAILER-DAEMON" in m], 60,
                          "Postfix's bounce to the seller\n" + self.postfix.log())[0]
        self.assertIn("was not taken", bounce)
        self.assertFalse([m for m in self.messages() if "helper tool" in m["text"]])
        # A buyer's message goes without the file, with a note the seller reads.
        swaks_files(self.smtp, BUYER_REAL, self.buyer_reply_to,
                    "I also tried this program from the box.", [(self.exe, "application/octet-stream")])
        m = wait_for(lambda: [m for m in self.messages() if "program from the box" in m["text"]], 60,
                     "the buyer's mail in the thread\n" + self.postfix.log())[0]
        self.assertEqual(m["attachments"], [])
        self.assertIn('[The attachment "setup.exe" was not delivered:', m["text"])
        time.sleep(1)
        self.assertEqual(len(self.postfix.mbox("mail.test/jane")), before)

    def test_5_a_buyers_file_name_reaches_the_seller_masked(self):
        path = os.path.join(self.tmp, "call-me-415-555-0199.txt")
        with open(path, "wb") as f:
            f.write(b"my receipt\n")
        swaks_files(self.smtp, BUYER_REAL, self.buyer_reply_to, "The receipt is attached, kohlrabi.",
                    [(path, "text/plain")])
        m = wait_for(lambda: [m for m in self.messages() if "kohlrabi" in m["text"]], 60,
                     "the buyer's mail in the thread\n" + self.postfix.log())[0]
        self.assertEqual(len(m["attachments"]), 1, m)
        self.assertEqual(m["attachments"][0]["name"], "call-me-[phone number removed].txt")
        fwd = wait_for(lambda: [x for x in self.postfix.mbox("acme.test/support") if "kohlrabi" in x], 60,
                       "the forward to the seller")[0]
        parts = list(email.message_from_string(fwd, policy=email.policy.default).iter_attachments())
        self.assertEqual([p.get_filename() for p in parts], ["call-me-[phone number removed].txt"])
        self.assertNotIn("0199", fwd)


if __name__ == "__main__":
    unittest.main(verbosity=2)
