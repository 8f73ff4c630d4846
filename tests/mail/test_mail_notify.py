# test_mail_notify.py - parley's notices to a seller's team, through a private Postfix.
"""Black-box tests of the e-mail notices to agents: deadline alerts, digests and a notice per
buyer message (GET/PUT /v1/me/notifications, POST /v1/me/notifications/digest), delivered by
parley's delivery worker through the private Postfix of test_mail.py into each agent's mbox.

Shows: an agent's notice goes to the first address it registered, from a no-reply address of
the marketplace's domain, marked Auto-Submitted: auto-generated; a deadline alert says a reply
is due and names the order, once per message, to the assigned agent or else to every agent
who follows all threads and did not turn notices off; a digest lists the threads waiting for
an answer by the agent's scope; a notice per buyer message names the order; no notice holds a
buyer's real address or contact details.

The deadline alerts come from the server's periodic tick (about every 15 s): the waiting buyer
messages are imported (they keep their timestamps) into the running server's store once the
agents are set up, so that each alert mark (20 hours after the buyer wrote) falls a few seconds
later, and the test waits for the mail, never for time. Same environment as test_mail.py
(root, postfix, swaks).
"""
import datetime
import email
import email.policy
import json
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mail as tm  # noqa: E402  the private Postfix and parley of the first suite

BUYER_REAL = tm.BUYER_REAL
# Two buyers whose waiting messages are imported; their real addresses must never reach a notice.
PAT_REAL, PAT_PHONE = "pat.quinn.real@mail.test", "+1 555 0177"
LEO_REAL = "leo.moss.real@mail.test"
ORDER_A = "112-7000001-0000001"  # Pat's, unassigned: alerts every agent who follows all threads
ORDER_B = "112-7000002-0000002"  # Leo's, assigned to Pia: alerts Pia alone
# The agents' registered addresses, delivered to mbox files of the private Postfix.
TEAM = {"nora": "nora@acme.test", "olaf": "olaf@acme.test", "pia": "pia@acme.test"}
WAIT = 150  # seconds: an alert mark up to a minute ahead, a 15 s tick, the delivery worker


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(raw):
    return email.message_from_string(raw, policy=email.policy.default)


def readable(raw):
    """The mail as its reader sees it: every header decoded, every text part decoded, and the
    raw form too (a leak must show in neither)."""
    m = parse(raw)
    out = [raw]
    out += ["%s: %s" % (k, v) for k, v in m.items()]
    for part in m.walk():
        if part.get_content_maintype() == "text":
            try:
                out.append(part.get_content())
            except (LookupError, ValueError):
                out.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    return "\n".join(out)


def addr(value):
    m = re.search(r"<([^>]+)>", value or "")
    return (m.group(1) if m else (value or "")).strip().lower()


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("postfix") and shutil.which("swaks"),
                     "needs root, postfix and swaks (scripts/deps.sh test)")
class MailNotifyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        smtp_port, submit_port = tm.free_port(), tm.free_port()
        cls.parley = p = tm.Parley(submit_port)
        # The agents' mailboxes beside the seller's and the buyer's (the later map wins).
        boxes = "".join("%s acme.test/%s\n" % (a, n) for n, a in TEAM.items())
        try:
            cls.postfix = tm.Postfix(smtp_port, submit_port, p.lmtp_port,
                                     "\nvirtual_mailbox_maps = texthash:@DIR@/vmailbox, texthash:@DIR@/team_vmailbox\n",
                                     {"team_vmailbox": boxes})
        except Exception:
            p.stop()
            raise
        try:
            cls.set_up_team()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def set_up_team(cls):
        p = cls.parley
        cls.ids = {}
        for name in TEAM:
            cls.ids[name] = int(p.cli("admin", "agent", "add", "--seller", "S1", "--name", name.title()))
            p.tokens[name] = p.cli("admin", "token", "create", "--agent", str(cls.ids[name]))
            st, body = p.request("POST", "/v1/agents/%d/addresses" % cls.ids[name], name, {"email": TEAM[name]})
            assert st == 201, (st, body)
        # Nora keeps the defaults; Olaf wants no notices; Pia only hears of her own threads.
        st, body = p.request("PUT", "/v1/me/notifications", "olaf",
                             {"mode": "none", "scope": "all", "email": True, "browser": True})
        assert st == 200, (st, body)
        st, body = p.request("PUT", "/v1/me/notifications", "pia",
                             {"mode": "deadlines", "scope": "assigned", "email": True, "browser": True})
        assert st == 200, (st, body)
        # The waiting buyer messages: each one's alert mark (20 h after it was written) falls
        # 20 s (A) and 60 s (B) from now, so that every alert comes from a tick after this
        # set-up, and B's from a tick after the restart of test_3 (ticks are 15 s apart).
        now = int(time.time())
        cls.mark_a, cls.mark_b = now + 20, now + 60
        lines = [
            {"type": "buyer", "id": "B3", "name": "Pat Quinn", "email": PAT_REAL, "locale": "en-US"},
            {"type": "buyer", "id": "B4", "name": "Leo Moss", "email": LEO_REAL, "locale": "en-US"},
            {"type": "order", "id": ORDER_A, "marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B3",
             "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z"},
            {"type": "order", "id": ORDER_B, "marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B4",
             "status": "delivered", "purchased_at": "2026-10-01T10:00:00Z"},
            {"type": "message", "id": "NA1", "order": ORDER_A, "from": "buyer", "at": iso(cls.mark_a - 20 * 3600),
             "topic": "shipping_delivery", "text": "My parcel has not arrived. Call me on %s or write to %s."
             % (PAT_PHONE, PAT_REAL)},
            {"type": "message", "id": "NB1", "order": ORDER_B, "from": "buyer", "at": iso(cls.mark_b - 20 * 3600),
             "topic": "other", "text": "The drill stops after a minute, what should I do?"},
        ]
        imp = os.path.join(p.dir, "waiting.jsonl")
        with open(imp, "w") as f:
            f.write("".join(json.dumps(l) + "\n" for l in lines))
        p.cli("import", imp)
        st, body = p.get("/v1/threads", "nora")
        assert st == 200, (st, body)
        cls.threads = {t["order_id"]: t["id"] for t in body["threads"]}
        st, body = p.request("POST", "/v1/threads/%s/assign" % cls.threads[ORDER_B], "nora",
                             {"agent_id": cls.ids["pia"]})
        assert st == 200, (st, body)

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        cls.parley.stop()

    # -- helpers -----------------------------------------------------------------------

    def box(self, name):
        return self.postfix.mbox("acme.test/" + name)

    def naming(self, name, order):
        return [m for m in self.box(name) if order in readable(m)]

    def wait_mail(self, name, order, what):
        return tm.wait_for(lambda: self.naming(name, order), WAIT,
                           "%s in %s's mailbox\n%s\n%s" % (what, name, self.postfix.log(), self.parley.output()))[0]

    def assert_notice(self, raw, name):
        """What every notice to an agent holds: its address, a no-reply sender of the
        marketplace's domain, the automatic marker, and no buyer's real address."""
        m = parse(raw)
        # Postfix writes the envelope recipient: the agent's first registered address.
        self.assertEqual(addr(str(m["X-Original-To"])), TEAM[name])
        # The header names the agent's address or an alias of the relay domain, nothing else.
        for a in str(m["To"]).split(","):
            self.assertRegex(addr(a), r"^(%s|[^@]+@%s)$" % (re.escape(TEAM[name]), re.escape(tm.RELAY)), m["To"])
        sender = addr(str(m["From"]))
        self.assertRegex(sender, r"^no-?reply@([a-z0-9-]+\.)*example\.com$", m["From"])
        self.assertEqual(str(m["Auto-Submitted"]).strip().lower(), "auto-generated")
        # The envelope sender, as Postfix recorded it: the null return path or the marketplace's.
        self.assertRegex(str(m["Return-Path"]), r"^<(|[^@>]+@([a-z0-9-]+\.)*example\.com)>$")
        text = readable(raw)
        for real in (PAT_REAL, LEO_REAL, BUYER_REAL, tm.GHOST_REAL):
            self.assertNotIn(real, text)
        self.assertNotIn("555 0177", text, "a buyer's phone number")
        self.assertNotIn("5550177", text.replace(" ", ""), "a buyer's phone number")
        return m, text

    # -- tests ---------------------------------------------------------------------------

    def test_1_choices_default_and_are_kept(self):
        def choices(name):
            st, body = self.parley.get("/v1/me/notifications", name)
            self.assertEqual(st, 200, body)
            return body["notifications"]
        n = choices("nora")
        self.assertEqual((n["mode"], n["scope"], n["email"]), ("deadlines", "all", True), n)
        self.assertEqual(choices("olaf")["mode"], "none")
        self.assertEqual((choices("pia")["mode"], choices("pia")["scope"]), ("deadlines", "assigned"))

    def test_2_deadline_alert_reaches_the_agent(self):
        raw = self.wait_mail("nora", ORDER_A, "the deadline alert for %s" % ORDER_A)
        m, text = self.assert_notice(raw, "nora")
        self.assertIn("due", str(m["Subject"]).lower(), m["Subject"])
        self.assertIn(ORDER_A, text)

    def test_3_one_alert_per_message_even_across_a_restart(self):
        # A server looks back a minute at its first tick, so one restarted now, soon after A's
        # alert, sees A's mark again: the alert must not go out twice. B's mark falls after
        # the restart: once B's alert is in, that first tick has run.
        self.wait_mail("nora", ORDER_A, "the deadline alert for %s" % ORDER_A)
        self.parley.restart()
        self.assertLess(time.time(), self.mark_b - 5, "the restart should come before B's alert mark")
        raw = self.wait_mail("pia", ORDER_B, "the deadline alert for %s" % ORDER_B)
        m, text = self.assert_notice(raw, "pia")
        self.assertIn("due", str(m["Subject"]).lower(), m["Subject"])
        self.assertEqual(len(self.naming("nora", ORDER_A)), 1, "one alert per message")
        self.assertEqual(self.naming("nora", ORDER_B), [], "an assigned thread alerts its agent alone")
        self.assertEqual(self.naming("pia", ORDER_A), [], "Pia hears only of her own threads")
        self.assertEqual(len(self.naming("pia", ORDER_B)), 1, "one alert per message")
        self.assertEqual(self.box("olaf"), [], "Olaf turned notices off")

    def test_4_digest_lists_the_waiting_threads_by_scope(self):
        for name, want, not_listed in (("nora", [ORDER_A, ORDER_B], []), ("pia", [ORDER_B], [ORDER_A])):
            before = len(self.box(name))
            st, body = self.parley.request("POST", "/v1/me/notifications/digest", name, {})
            self.assertEqual(st, 202, body)
            self.assertEqual((body.get("queued"), body.get("threads")), (True, len(want)), body)
            new = tm.wait_for(lambda: self.box(name)[before:], WAIT,
                              "%s's digest\n%s\n%s" % (name, self.postfix.log(), self.parley.output()))
            self.assertEqual(len(new), 1, new)
            m, text = self.assert_notice(new[0], name)
            for order in want:
                self.assertIn(order, text)
            for order in not_listed:
                self.assertNotIn(order, text)

    def test_5_each_buyer_message_is_told(self):
        st, body = self.parley.request("PUT", "/v1/me/notifications", "olaf",
                                       {"mode": "each", "scope": "all", "email": True, "browser": True})
        self.assertEqual(st, 200, body)
        st, body = self.parley.request("POST", "/v1/threads", "B1", {
            "order_id": tm.ORDER, "topic": "damaged_or_defective",
            "text": "The box arrived crushed. Call me at +1 555 0142 or write to jane.home@mail.test."})
        self.assertIn(st, (200, 201), body)
        raw = self.wait_mail("olaf", tm.ORDER, "the notice of Jane's message")
        m, text = self.assert_notice(raw, "olaf")
        # The notice quotes the message as the seller's inbox shows it: contacts masked.
        self.assertIn("The box arrived crushed.", text)
        for contact in ("555 0142", "5550142", "jane.home@mail.test", "jane.home"):
            self.assertNotIn(contact, text)
        self.assertIn("[phone number removed]", text)
        self.assertIn("[e-mail address removed]", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
